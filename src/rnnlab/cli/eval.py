"""`rnnlab eval`: perplexity of trained runs side by side, one table."""

from __future__ import annotations

import argparse
from typing import Any

from rnnlab.errors import ConfigError
from rnnlab.models.ngram import MAX_ORDER, SMOOTHINGS
from rnnlab.train.config import WEIGHTS

EPILOG = """examples:
  rnnlab eval runs/lstm --data poems.txt               # held-out split of the training file
  rnnlab eval runs/lstm runs/gru runs/rnn --data test.txt --split all
  rnnlab eval runs/lstm --ngram 5                      # + n-grams n=1…5, add-k/kn/mkn, same split
  rnnlab eval runs/lstm --ngram 3,5 --smoothing mkn --add-k 1,0.01

N-gram rows are fitted on the first run's training split with its vocabulary and scored on the
same lines and targets (each character, then <eos>); their parameters are the stored n-grams and
their training time is the fitting time.

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
    p.add_argument(
        "--ngram",
        metavar="N|LIST",
        help=f"also fit n-gram baselines: orders 1…N, or a comma list such as 2,3,5 (N ≤ {MAX_ORDER})",
    )
    p.add_argument(
        "--smoothing",
        default="add-k,kn,mkn",
        metavar="LIST",
        help=f"n-gram smoothings, comma-separated from {','.join(SMOOTHINGS)} (default add-k,kn,mkn)",
    )
    p.add_argument(
        "--add-k",
        default="1",
        metavar="K[,K…]",
        help="pseudo-count(s) of the add-k rows, e.g. 1 (Laplace) or 1,0.1,0.01 (default 1)",
    )
    p.set_defaults(func=run)


def parse_orders(text: str) -> list[int]:
    """``"5"`` → 1…5; ``"2,3,5"`` → [2, 3, 5]."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--ngram takes N or a comma list of orders such as 2,3,5, got {text!r}") from None
    if len(values) == 1 and "," not in text:
        values = list(range(1, values[0] + 1))
    if not values:
        raise ConfigError(f"--ngram takes N or a comma list of orders such as 2,3,5, got {text!r}")
    return values


def parse_floats(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{flag} takes a comma list of numbers such as 1,0.1, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from rnnlab.train.baselines import ngram_rows
    from rnnlab.train.lm import evaluate_run, format_table

    rows, labels = [], []
    for run_dir in args.runs:
        row, label = evaluate_run(
            run_dir, args.data, split=args.split, weights=args.weights, device=args.device
        )
        rows.append(row)
        labels.append(label)
    if args.ngram:
        smoothings = [v.strip() for v in args.smoothing.split(",") if v.strip()]
        extra, _ = ngram_rows(
            args.runs[0],
            args.data,
            orders=parse_orders(args.ngram),
            smoothings=smoothings,
            add_k=parse_floats(args.add_k, "--add-k"),
            split=args.split,
        )
        rows += extra
    print(format_table(rows, title=f"evaluated on {labels[0]}"))
    return 0
