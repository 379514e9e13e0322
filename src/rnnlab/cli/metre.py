"""`rnnlab metre`: check a 绝句 or 律诗 against the rules of regulated verse (格律)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NOT_REGULATED = 1  # exit status of a well-formed poem that breaks a rule (bad input exits 2)

EPILOG = """\
examples:
  rnnlab metre 国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪
  rnnlab metre poem.txt                     # a file holding one poem (lines split at ，。 or new lines)
  rnnlab poem --metre --seed 1 | rnnlab metre -
  rnnlab metre --json 床前明月光，疑是地上霜。举头望明月，低头思故乡。

Under every character its tone (平 level, 仄 oblique, from the Pingshui rhyme book), ＾ under each
character that breaks a rule, then the best of the form's four patterns (平起/仄起, 首句入韵 or not),
the rhyme group, and every violation: 对, 粘, 二四六, 孤平, 三平尾, 韵.
Exit status: 0 regulated, 1 not regulated, 2 bad input.
"""


def register(subparsers: Any) -> None:
    """Add the `metre` sub-command."""
    p = subparsers.add_parser(
        "metre",
        help="check a 绝句 or 律诗 for tone pattern (平仄) and Pingshui rhyme",
        description=(
            "Check a poem of 4 or 8 lines of 5 or 7 characters against regulated verse: the tone "
            "pattern (二四六分明, 对, 粘, no 孤平, no 三平尾) and a Pingshui level-tone rhyme."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("poem", metavar="TEXT|FILE", help="the poem's text, a file holding it, or - for stdin")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.set_defaults(func=run)


def read_poem(source: str) -> str:
    """The poem text: standard input for ``-``, a file's contents if ``source`` names one, else itself."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if len(source) < 256 and path.is_file():
        return path.read_text(encoding="utf-8")
    return source


def run(args: argparse.Namespace) -> int:
    import json

    from rnnlab.poetics.checker import check_poem

    report = check_poem(read_poem(args.poem))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(report.format())
    return 0 if report.regulated else NOT_REGULATED
