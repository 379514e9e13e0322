"""`rnnlab poem`: classical Chinese poems from the bundled model or a run of your own."""

from __future__ import annotations

import argparse
from typing import Any

from rnnlab.cli.options import add_engine_arguments, set_threads

EPILOG = """\
examples:
  rnnlab poem 床前明月光                         # continue a first line (form from its length: 五言绝句)
  rnnlab poem --acrostic 深度学习 --seed 7       # 藏头诗: each line starts with the next character
  rnnlab poem 春眠 --form 7x8 --rhyme --num 3    # three 七言律诗 whose even lines rhyme
  rnnlab poem --model runs/my-poems --temperature 0.6 --top-p 0.8
  rnnlab poem 床前明月光 --engine torch          # step the model with torch instead of NumPy

Each poem is printed as its lines, poems separated by a blank line. Without --seed every call
writes new poems; with it the output repeats exactly. Forms: 5x4 五言绝句, 7x4 七言绝句,
5x8 五言律诗, 7x8 七言律诗. Rhyme uses the 18 groups of 中华新韵 (十八韵) from pypinyin finals.
The default engine (auto) steps plain RNN/GRU/LSTM models in NumPy, without loading torch, and
falls back to torch, saying so, for a model it cannot run.
"""


def register(subparsers: Any) -> None:
    """Add the `poem` sub-command."""
    p = subparsers.add_parser(
        "poem",
        help="write classical Chinese poems: continuation, acrostic, forms, rhyme",
        description=(
            "Write poems with a character language model: the bundled Tang model by default, or "
            "--model RUN_DIR (a folder written by `rnnlab train`). Constrained decoding keeps every "
            "poem well-formed: the right number of lines and characters, ，and 。in place."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prefix", nargs="?", default="", metavar="PREFIX", help="the opening to continue")
    p.add_argument("--acrostic", default="", metavar="CHARS", help="藏头诗: line i starts with CHARS[i]")
    p.add_argument(
        "--form",
        metavar="CxL",
        help="characters per line (5 or 7) × lines: 5x4, 7x4, 5x8, 7x8 are the classical forms "
        "(default: from the prefix or acrostic, else 5x4)",
    )
    p.add_argument("--rhyme", action="store_true", help="even lines end in one rhyme group")
    p.add_argument("--num", type=int, default=1, metavar="N", help="poems to write (default 1)")
    sampling = p.add_argument_group("sampling")
    sampling.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        metavar="T",
        help="0 = greedy; higher = bolder (default 0.8)",
    )
    sampling.add_argument(
        "--top-p", type=float, default=0.9, metavar="P", help="nucleus sampling mass; 1 = off (default 0.9)"
    )
    sampling.add_argument(
        "--top-k", type=int, default=0, metavar="K", help="keep the K likeliest characters; 0 = off"
    )
    sampling.add_argument(
        "--repetition-penalty",
        type=float,
        default=1.2,
        metavar="R",
        help="divide the odds of characters already used by R; 1 = off (default 1.2)",
    )
    sampling.add_argument(
        "--prime", default="", metavar="TEXT", help="style text read before the poem, not printed"
    )
    sampling.add_argument("--seed", type=int, help="make the output repeatable")
    backend = p.add_argument_group("model")
    backend.add_argument("--model", metavar="RUN_DIR", help="a run folder (default: the bundled Tang model)")
    add_engine_arguments(backend)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    set_threads(args.threads, "auto")
    from rnnlab.errors import ConfigError
    from rnnlab.generate.poems import PoemRequest
    from rnnlab.poet import Poet

    if args.num < 1:
        raise ConfigError(f"--num must be at least 1, got {args.num}")
    poet = Poet.load(args.model, device=args.device, engine=args.engine)
    if poet.notice:
        print(poet.notice, file=sys.stderr)
    set_threads(args.threads, poet.engine)
    request = PoemRequest(
        prefix=args.prefix,
        acrostic=args.acrostic,
        form=args.form,
        rhyme=args.rhyme,
        prime=args.prime,
        num=args.num,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        seed=args.seed,
    )
    print("\n\n".join(poet.write(request)))
    return 0
