"""`rnnlab plot`: a run's training curves as a PNG."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add `rnnlab plot`."""
    p = subparsers.add_parser(
        "plot",
        help="draw a run's loss, perplexity, learning-rate and gradient-norm curves to PNG",
        description="Read RUN_DIR/metrics.jsonl and draw train/validation loss and perplexity, the "
        "learning rate and the gradient norm into one PNG.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  rnnlab plot runs/lstm                 # writes runs/lstm/curves.png",
    )
    p.add_argument("run", metavar="RUN_DIR", help="run folder written by `rnnlab train`")
    p.add_argument("--out", metavar="PNG", help="where to write the picture (default RUN_DIR/curves.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.train.plots import plot_run  # matplotlib loads here only

    print(plot_run(args.run, args.out))
    return 0
