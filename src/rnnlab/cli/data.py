"""`rnnlab data …`: corpus statistics, the collection download, task files, and format conversion."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rnnlab.data import (
    FORMS,
    PoemCorpus,
    corpus_stats,
    load_corpus,
    make_tokenizer,
)
from rnnlab.data.collection import PARTS
from rnnlab.data.corpus import KINDS
from rnnlab.data.download import get_collection
from rnnlab.data.paths import ENV_VAR
from rnnlab.errors import ConfigError

TASK_NAMES = ("tones", "punct", "dynasty", "authors")  # rnnlab.tasks.sources.TASKS, kept import-free

STATS_EPILOG = """\
examples:
  rnnlab data stats ../shared/data/tang/tang.jsonl
  rnnlab data stats poems.txt --kind poems --min-freq 2
  rnnlab data stats tang.npz --json
  rnnlab data stats play.txt --tokenizer word --lowercase
"""

GET_EPILOG = f"""\
The collection (MIT licence) comes from the npm registry as chinese-poetry@2.0.1 (85.5 MB); its sha256 is
verified and the texts are converted to simplified characters. Parts, stored under <dir> (--dest, else
${ENV_VAR}, else the user data directory):
  tang      the Tang poems                                    <dir>/tang/tang.jsonl
  strains   their level/oblique tone marks (平/仄), aligned    <dir>/strains/tang-strains.jsonl
  song      the Song poems                                    <dir>/song/song.jsonl
  prose     punctuated classical prose (古文观止, 论语, 孟子, 大学, 中庸)   <dir>/prose/classics.jsonl
  all       every part above (the archive is read once)

examples:
  rnnlab data get tang
  rnnlab data get all --dest ~/corpora
  rnnlab data get strains --archive chinese-poetry-2.0.1.tgz   # offline: `npm pack chinese-poetry@2.0.1`
"""

TASK_EPILOG = """\
Writes OUT/NAME.train.jsonl and OUT/NAME.test.jsonl (split by a hash of each text) from the installed
collection (`rnnlab data get all`) or from --source DIR, a folder holding tang/, strains/, song/, prose/:
  tones     tag each character of a Tang poem 平 or 仄 (null: unknown marks and punctuation)
  punct     restore punctuation: classical prose and irregular poems without their marks, each character
            tagged with the mark that followed it (，。？！；：、) or O
  dynasty   classify a poem as Tang (唐) or Song (宋)
  authors   attribute a Tang poem to one of the 10 most prolific poets

examples:
  rnnlab data task tones --source ../shared/data --out tasks
  rnnlab data task dynasty --source ../shared/data --out tasks --max-per-label 20000
"""

EXPORT_EPILOG = """\
The output format follows the suffix: .npz (the PyTorch poetry tutorial's tang.npz), .jsonl (one
{title, author, paragraphs} object a line) or .txt (one poem a line).

examples:
  rnnlab data export ../shared/data/tang/tang.jsonl tang.npz --clean
  rnnlab data export poet.tang.0.json quatrains.txt --simplified --clean --form 五言绝句 --form 七言绝句
  rnnlab data export tang.npz tang.jsonl
"""


PAIRS_EPILOG = """\
examples:
  rnnlab data pairs couplets --out data/           # data/couplets.train.jsonl, data/couplets.test.jsonl
  rnnlab data pairs titles --out data/ --source ../shared/data
  rnnlab data pairs couplets --out data/ --shenglv chinese-poetry-2.0.1.tgz   # + 声律启蒙 as a test file
"""


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default=None,
        help="input format (default: detected from the suffix and contents)",
    )
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the input (default: utf-8)")
    parser.add_argument(
        "--simplified", action="store_true", help="convert traditional to simplified characters (OpenCC t2s)"
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="clean poems first: drop bracketed notes, stray symbols, broken poems and duplicates",
    )


def register(subparsers: Any) -> None:
    """Add `rnnlab data` and its sub-commands."""
    parser = subparsers.add_parser(
        "data",
        help="inspect, download and convert corpora",
        description="Inspect, download and convert text and poem corpora.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run `rnnlab data ACTION --help` for each action's options and examples, e.g. "
        "`rnnlab data stats --help`",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    stats = actions.add_parser(
        "stats",
        help="poems, characters, vocabulary, unk rate and forms of a corpus",
        description="Print statistics of any supported input: a text file, poem-per-line file, directory, "
        "chinese-poetry JSON, tang.jsonl or tang.npz.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STATS_EPILOG,
    )
    stats.add_argument("path", type=Path, help="file or directory to describe")
    _add_input_options(stats)
    stats.add_argument(
        "--tokenizer",
        choices=("char", "word"),
        default="char",
        help="how a plain text is split into tokens (poems are always split into characters; default: char)",
    )
    stats.add_argument("--lowercase", action="store_true", help="fold case before word tokenization")
    stats.add_argument(
        "--min-freq", type=int, default=1, help="tokens seen fewer times map to <unk> (default: 1)"
    )
    stats.add_argument(
        "--max-size", type=int, default=None, help="cap on the vocabulary size, reserved tokens included"
    )
    stats.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    stats.set_defaults(func=run_stats)

    get = actions.add_parser(
        "get",
        help="download a corpus into the data directory",
        description="Download a corpus, verify its checksum, convert it and store it in the data directory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=GET_EPILOG,
    )
    get.add_argument(
        "name",
        choices=(*PARTS, "all"),
        help="which part of the collection: tang, strains (tone marks), song, prose, or all",
    )
    get.add_argument(
        "--dest", type=Path, default=None, help=f"data directory (default: ${ENV_VAR} or the user's)"
    )
    get.add_argument(
        "--archive", type=Path, default=None, help="use this already downloaded .tgz instead of downloading"
    )
    get.add_argument(
        "--force", action="store_true", help="download and convert again even if already installed"
    )
    get.add_argument("--keep-archive", action="store_true", help="keep the downloaded .tgz after converting")
    get.add_argument(
        "--traditional", action="store_true", help="keep the traditional characters (no OpenCC conversion)"
    )
    get.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    get.set_defaults(func=run_get)

    task = actions.add_parser(
        "task",
        help="write a task file (tones, punct, dynasty, authors) from the collection",
        description="Make train/test task files for `rnnlab task` from the chinese-poetry collection.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TASK_EPILOG,
    )
    task.add_argument("name", choices=TASK_NAMES, help="which task")
    task.add_argument(
        "--out", type=Path, required=True, help="folder for NAME.train.jsonl and NAME.test.jsonl"
    )
    task.add_argument(
        "--source",
        type=Path,
        default=None,
        help=f"folder with the collection (default: ${ENV_VAR} or the user data directory)",
    )
    task.add_argument(
        "--test-fraction", type=float, default=0.1, help="share of examples in the test file (default 0.1)"
    )
    task.add_argument(
        "--max-per-label", type=int, default=None, help="dynasty/authors: keep at most N examples per label"
    )
    task.add_argument(
        "--max-chars",
        type=int,
        default=300,
        help="punct: cut paragraphs at sentence ends into pieces ≤ N (300)",
    )
    task.add_argument("--top", type=int, default=10, help="authors: how many of the most prolific poets (10)")
    task.set_defaults(func=run_task)

    export = actions.add_parser(
        "export",
        help="convert a poem corpus to tang.npz, JSON lines or poem-per-line text",
        description="Read any supported poem input and write it in another format.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXPORT_EPILOG,
    )
    export.add_argument("input", type=Path, help="file or directory to read")
    export.add_argument("output", type=Path, help="file to write: .npz, .jsonl or .txt")
    _add_input_options(export)
    export.add_argument(
        "--form",
        action="append",
        choices=tuple(FORMS),
        default=None,
        help="keep only poems of this form (repeatable)",
    )
    export.add_argument("--maxlen", type=int, default=125, help="row length of a tang.npz (default: 125)")
    export.add_argument(
        "--overlong",
        choices=("truncate", "drop", "error"),
        default="truncate",
        help="tang.npz: what to do with poems longer than maxlen−2 characters (default: truncate at the end, "
        "as the tutorial does)",
    )
    export.set_defaults(func=run_export)

    pairs = actions.add_parser(
        "pairs",
        help="write sequence-to-sequence pair files: couplets of regulated verse, poem → title",
        description='Write NAME.train.jsonl and NAME.test.jsonl ({"source", "target"} a line) from the '
        "installed Tang poems; the test side is the poems the bundled poet held out.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=PAIRS_EPILOG,
    )
    pairs.add_argument(
        "name", choices=("couplets", "titles"), help="couplets (律诗 lines 3–4, 5–6) or titles"
    )
    pairs.add_argument("--out", type=Path, default=Path("."), help="folder for the files (default: here)")
    pairs.add_argument(
        "--source",
        type=Path,
        default=None,
        help=f"data directory holding tang/tang.jsonl (default: ${ENV_VAR} or the user's)",
    )
    pairs.add_argument(
        "--test-fraction",
        type=float,
        default=0.05,
        help="share of poems held out by hash (default 0.05: the bundled poet's held-out poems)",
    )
    pairs.add_argument(
        "--shenglv",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write couplets.shenglv.jsonl from 声律启蒙 (mengxue/shenglvqimeng.json or the npm .tgz)",
    )
    pairs.set_defaults(func=run_pairs)


def _load(args: argparse.Namespace, path: Path) -> Any:
    corpus = load_corpus(path, kind=args.kind, encoding=args.encoding, simplified=args.simplified)
    if args.clean and isinstance(corpus, PoemCorpus):
        corpus, report = corpus.clean_with_report()
        print(
            f"cleaned: kept {report.n_kept:,} of {report.n_in:,} poems "
            f"({report.n_broken:,} empty or broken, {report.n_duplicates:,} duplicates)",
            file=sys.stderr,
        )
    return corpus


def run_stats(args: argparse.Namespace) -> int:
    """`rnnlab data stats`."""
    corpus = _load(args, args.path)
    tokenizer = make_tokenizer(args.tokenizer, lowercase=args.lowercase)
    stats = corpus_stats(corpus, min_freq=args.min_freq, max_size=args.max_size, tokenizer=tokenizer)
    print(json.dumps(stats.to_dict(), ensure_ascii=False) if args.json else stats.format())
    return 0


def run_get(args: argparse.Namespace) -> int:
    """`rnnlab data get PART`."""
    paths = get_collection(
        [args.name],
        dest=args.dest,
        archive=args.archive,
        simplified=not args.traditional,
        force=args.force,
        keep_archive=args.keep_archive,
        progress=not args.no_progress,
    )
    for part, path in paths.items():
        print(f"{part} installed at {path}")
    return 0


def run_task(args: argparse.Namespace) -> int:
    """`rnnlab data task NAME`."""
    from rnnlab.tasks.sources import build_task

    files = build_task(
        args.name,
        args.out,
        source=args.source,
        test_fraction=args.test_fraction,
        max_per_label=args.max_per_label,
        max_chars=args.max_chars,
        top=args.top,
    )
    print(f"wrote {files.n_train:,} examples to {files.train} and {files.n_test:,} to {files.test}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """`rnnlab data export`."""
    corpus = _load(args, args.input)
    if not isinstance(corpus, PoemCorpus):
        raise ConfigError(f"{args.input} was read as plain text; export needs poems (pass --kind poems)")
    if args.form:
        corpus = corpus.filter(forms=args.form)
    suffix = args.output.suffix.lower()
    if suffix == ".npz":
        report = corpus.to_tang_npz(args.output, maxlen=args.maxlen, overlong=args.overlong)
        print(
            f"wrote {report.n_poems:,} poems to {report.path} (vocabulary {report.vocab_size:,}, "
            f"{report.n_truncated:,} truncated, {report.n_dropped:,} dropped)"
        )
    elif suffix == ".jsonl":
        print(f"wrote {len(corpus):,} poems to {corpus.save_jsonl(args.output)}")
    elif suffix == ".txt":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("".join(text + "\n" for text in corpus.texts()), encoding="utf-8")
        print(f"wrote {len(corpus):,} poems to {args.output}")
    else:
        raise ConfigError(f"unknown output format {suffix or '(no suffix)'!r}; use .npz, .jsonl or .txt")
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    """`rnnlab data pairs`."""
    from rnnlab.tasks.pair_sources import build_pairs

    files = build_pairs(
        args.name, args.out, source=args.source, test_fraction=args.test_fraction, shenglv=args.shenglv
    )
    print(f"wrote {files.n_train:,} pairs to {files.train} and {files.n_test:,} to {files.test}")
    for path, n in files.extra:
        print(f"wrote {n:,} pairs to {path}")
    return 0
