"""`rnnlab couplet`: answer an upper line (上联) with lower lines (下联)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rnnlab.cli.options import add_engine_arguments, set_threads

EPILOG = """\
examples:
  rnnlab couplet 海内存知己                     # one lower line, sampled
  rnnlab couplet 白日依山尽 --num 3 --seed 7     # three, repeatable
  rnnlab couplet 明月松间照 --beam 5 --num 5     # the five best of a beam search
  rnnlab couplet 风声雨声读书声 --level-ending     # the last character level-toned (平)
  rnnlab couplet --file uppers.txt --beam 5      # one lower line per line of the file, batched
  rnnlab couplet 春风又绿江南岸 --attention attn.png   # and where the model looked

Every lower line has the upper line's length and punctuation, by default no character of the upper
line at the same position, and repeated characters exactly where the upper line repeats one
(风声雨声读书声 → 月影寒影过山影). Without --seed every call writes new lines; with it they repeat.
"""


def register(subparsers: Any) -> None:
    """Add the `couplet` sub-command."""
    p = subparsers.add_parser(
        "couplet",
        help="write the lower line (下联) of an antithetical couplet for an upper line (上联)",
        description="Answer an upper line with an encoder–decoder trained on the couplets of regulated "
        "verse: the bundled model by default, or --model RUN_DIR (a folder written by "
        "`rnnlab seq2seq train`).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("upper", nargs="?", default=None, metavar="UPPER", help="the upper line, e.g. 海内存知己")
    p.add_argument("--file", metavar="FILE", help="answer every line of a UTF-8 file, one output line each")
    p.add_argument("--num", type=int, default=1, metavar="N", help="lower lines per upper line (default 1)")
    p.add_argument(
        "--beam", type=int, default=0, metavar="K", help="beam search with K beams; 0 = sample (default)"
    )
    p.add_argument("--seed", type=int, help="make the output repeatable")
    rules = p.add_argument_group("rules")
    rules.add_argument(
        "--allow-repeat",
        action="store_true",
        help="allow a character of the upper line at the same position of the lower one",
    )
    rules.add_argument("--level-ending", action="store_true", help="end the lower line on a level tone (平)")
    rules.add_argument(
        "--no-mirror",
        action="store_true",
        help="do not force repeated characters to mirror the upper line's (重字对重字)",
    )
    sampling = p.add_argument_group("sampling")
    sampling.add_argument(
        "--temperature",
        type=float,
        default=0.7,
        metavar="T",
        help="0 = greedy; higher = bolder (default 0.7)",
    )
    sampling.add_argument(
        "--top-p", type=float, default=0.9, metavar="P", help="nucleus mass; 1 = off (default 0.9)"
    )
    sampling.add_argument("--top-k", type=int, default=0, metavar="K", help="keep the K likeliest; 0 = off")
    output = p.add_argument_group("output")
    output.add_argument(
        "--attention", metavar="PNG", help="draw the attention of the first lower line as a heat map"
    )
    backend = p.add_argument_group("model")
    backend.add_argument(
        "--model", metavar="RUN_DIR", help="a seq2seq run folder (default: the bundled model)"
    )
    add_engine_arguments(backend)
    p.set_defaults(func=run)


def read_uppers(path: str) -> list[str]:
    """The lines of ``path`` (blank ones kept, so the output lines up with the input)."""
    from rnnlab.errors import DataError

    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; pass a UTF-8 text file with one upper line a line") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 (byte {err.start}); save it as UTF-8") from None


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads, args.engine)  # before NumPy loads (BLAS reads its variables then)
    from rnnlab.couplet import CoupletWriter
    from rnnlab.errors import ConfigError, RnnlabError
    from rnnlab.generate.couplets import CoupletRequest, check_upper

    if (args.upper is None) == (args.file is None):
        raise ConfigError(
            "give an upper line (rnnlab couplet 海内存知己) or --file FILE, not both or neither"
        )
    request = CoupletRequest(
        upper="",
        num=args.num,
        beam=args.beam,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        no_repeat=not args.allow_repeat,
        level_ending=args.level_ending,
        mirror=not args.no_mirror,
    )
    writer = CoupletWriter.load(args.model, device=args.device, engine=args.engine)
    set_threads(args.threads, writer.engine)  # torch, when it is the engine
    if writer.notice:
        print(f"note: {writer.notice}", file=sys.stderr)
    uppers = read_uppers(args.file) if args.file else [args.upper]
    filled = [i for i, line in enumerate(uppers) if line.strip()]
    lines = {}
    for i in filled:  # check every line first, so an error names its line and nothing is half printed
        try:
            lines[i] = check_upper(uppers[i], writer.vocab)
        except RnnlabError as err:
            raise type(err)(f"{args.file}:{i + 1}: {err}" if args.file else str(err)) from None
    answers = writer.write_many([lines[i] for i in filled], request) if filled else []
    by_line = dict(zip(filled, answers, strict=True))
    for i in range(len(uppers)):
        print("\n".join(by_line.get(i, [""])))
    if args.attention and filled:
        from rnnlab.heatmap import plot_attention

        upper, lower = lines[filled[0]], by_line[filled[0]][0]
        path, note = plot_attention(writer.attention(upper, lower), list(upper), list(lower), args.attention)
        print(f"attention heat map written to {path}", file=sys.stderr)
        if note:
            print(f"note: {note}", file=sys.stderr)
    return 0
