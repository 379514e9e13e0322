"""The `rnnlab` command: argument parsing only; every command calls the public API.

Each command lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a function taking the parsed namespace and
returning an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Sequence

from rnnlab import __version__
from rnnlab.errors import RnnlabError

# Module names under rnnlab.cli, in the order `rnnlab --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "poem",
    "metre",
    "couplet",
    "serve",
    "train",
    "eval",
    "plot",
    "bundle",
    "data",
    "gradflow",
    "forecast",
    "task",
    "seq2seq",
)


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per module in ``commands`` (default: all)."""
    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="Recurrent neural networks you can read, check and use.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `rnnlab COMMAND --help` for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        importlib.import_module(f"rnnlab.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A command named first needs only its own module: `rnnlab poem …` imports no other command's.
    chosen = argv[0] if argv and argv[0] in COMMAND_MODULES else None
    parser = build_parser((chosen,) if chosen else COMMAND_MODULES)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that relaunch themselves
    try:
        with _rank_zero_prints():
            return int(args.func(args) or 0)
    except RnnlabError as err:
        # Our own errors already say what went wrong and how to fix it; a traceback adds nothing.
        print(f"rnnlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnlab {args.command}: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _rank_zero_prints() -> Iterator[None]:
    """Under torchrun, only rank 0 prints results: N copies of every line help nobody.

    Errors (stderr) still come from every rank.
    """
    if os.environ.get("RANK", "0") == "0":
        yield
        return
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
