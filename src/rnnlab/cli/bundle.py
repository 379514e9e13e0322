"""`rnnlab bundle`: cut a finished run down to what generation needs (how the default poet is made)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
example:
  rnnlab bundle runs/tang-lstm --out src/rnnlab/assets/tang-lstm   # rebuild the bundled poet
  rnnlab poem --model src/rnnlab/assets/tang-lstm 春风

The bundle holds model.safetensors (final weights, float16 unless --dtype says otherwise),
config.json (configs, data summary without local paths, final validation numbers), vocab.json
and the run's metrics.jsonl. Any command that takes a run folder reads a bundle too.
"""


def register(subparsers: Any) -> None:
    """Add the `bundle` sub-command."""
    p = subparsers.add_parser(
        "bundle",
        help="write a small, self-contained copy of a trained run (the bundled poet is one)",
        description="Copy a finished run's final weights (in a compact dtype), config, vocabulary and "
        "metrics into a folder that `rnnlab poem --model` and `rnnlab eval` read.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run", type=Path, metavar="RUN_DIR", help="a finished run folder")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")
    p.add_argument(
        "--dtype",
        choices=("float16", "bfloat16", "float32"),
        default="float16",
        help="storage type of the weights (default float16: half the size, same poems)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.pretrained import describe, make_bundle

    out = make_bundle(args.run, args.out, args.dtype)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"wrote {out} ({size / 2**20:.1f} MiB): {describe(out)}")
    return 0
