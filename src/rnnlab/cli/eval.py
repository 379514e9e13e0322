"""`rnnlab eval`: perplexity of trained runs side by side, one table."""

from __future__ import annotations

import argparse
from typing import Any

from rnnlab.train.lm import WEIGHTS, evaluate_run, format_table

EPILOG = """examples:
  rnnlab eval runs/lstm --data poems.txt               # held-out split of the training file
  rnnlab eval runs/lstm runs/gru runs/rnn --data test.txt --split all

The last line is `perplexity X` for the first run listed (handy in scripts)."""


def register(subparsers: Any) -> None:
    """Add `rnnlab eval`."""
    p = subparsers.add_parser(
        "eval",
        help="held-out perplexity and bits/char of trained runs, in one table",
        description="Evaluate run folders on a text file: perplexity = exp(mean NLL) over every character "
        "and end-of-line token (padding never counts), bits per character, parameters, training time.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders written by `rnnlab train`")
    p.add_argument(
        "--data", metavar="PATH", help="text file to evaluate on (default: each run's training file)"
    )
    p.add_argument(
        "--split",
        choices=("auto", "valid", "all"),
        default="auto",
        help="lines of PATH to use: the run's held-out split, all lines, or auto = held-out when "
        "PATH is the training file, else all (default auto)",
    )
    p.add_argument(
        "--weights",
        choices=WEIGHTS,
        default="final",
        help="final weights, best-validation or latest checkpoint (default final)",
    )
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to run (default auto)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows, labels = [], []
    for run_dir in args.runs:
        row, label = evaluate_run(
            run_dir, args.data, split=args.split, weights=args.weights, device=args.device
        )
        rows.append(row)
        labels.append(label)
    print(format_table(rows, title=f"evaluated on {labels[0]}"))
    return 0
