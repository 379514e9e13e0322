"""Task files made from the chinese-poetry collection (what ``rnnlab data task NAME`` writes).

Four tasks, each a train and a test file split by a hash of the text (``TEST_SALT``):

* ``tones`` (tagging): every character of a Tang poem tagged 平 (level) or 仄 (oblique) from
  ``strains/tang-strains.jsonl``; the ○ (unknown) marks and the punctuation get ``null`` tags, so
  they are neither learnt nor scored. Editors' bracketed notes are cut from text and tags alike.
* ``punct`` (tagging): classical prose (``prose/classics.jsonl``) and *irregular* poems (lines of
  different lengths, from ``tang/`` and ``song/``) with their punctuation stripped; each character
  is tagged with the mark that followed it — one of ，。？！；：、 — or ``O`` for none. Quotes,
  brackets, book-title marks and other symbols are dropped; of several marks in a row the first
  is kept. Long paragraphs are cut at sentence ends into pieces of at most ``max_chars``.
* ``dynasty`` (classification): a Tang poem (唐) or a Song poem (宋), from ``tang/`` and ``song/``;
  poems are cleaned first (bracketed notes removed: the two collections annotate differently, and
  a classifier must not learn the editors' habits), and a text found under both labels is dropped.
* ``authors`` (classification): the Tang poems of the ten most prolific named poets (不详 "unknown"
  and 无名氏 "anonymous" are not authors).

Each converter has an inverse (:func:`strains_of`, :func:`punctuate`), so tests check that a task
file round-trips the collection's own text and marks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab.data.collection import PART_FILES, write_jsonl
from rnnlab.data.corpus import hash_unit
from rnnlab.data.paths import data_dir
from rnnlab.data.poems import Poem, clean_poem
from rnnlab.errors import ConfigError, DataError
from rnnlab.tasks.metrics import OUTSIDE

TASKS: tuple[str, ...] = ("tones", "punct", "dynasty", "authors")
TEST_SALT = "rnnlab-task-test"
MARKS = "，。？！；：、"
SENTENCE_ENDS = "。？！"
TONES = "平仄"
NOT_AUTHORS = frozenset({"不详", "无名氏", "佚名"})
_HALF_TO_FULL = str.maketrans({",": "，", ".": "。", "?": "？", "!": "！", ";": "；", ":": "："})
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KEPT = re.compile(f"[{_HAN}0-9A-Za-z]")  # what stays in a stripped text; other symbols are dropped
_NOTE = re.compile(r"（[^（）]*）|\([^()]*\)|【[^【】]*】|\[[^\[\]]*\]")
_MISSING = "□■"


@dataclass(frozen=True)
class TaskFiles:
    """What a converter wrote: the two files and how many examples each holds."""

    name: str
    train: Path
    test: Path
    n_train: int
    n_test: int


# ---------------------------------------------------------------------------------------------
# Tones.


def tone_example(record: dict[str, Any]) -> dict[str, Any] | None:
    """``{"text", "tags"}`` of one tone record ``{"paragraphs", "strains"}``; None if nothing is labelled."""
    text, marks = "".join(record["paragraphs"]), "".join(record["strains"])
    if len(text) != len(marks):
        raise DataError(f"tone record {record.get('id')}: {len(text)} characters but {len(marks)} marks")
    cut = {i for m in _NOTE.finditer(text) for i in range(m.start(), m.end())}
    text = "".join(ch for i, ch in enumerate(text) if i not in cut)
    tags = [m if m in TONES else None for i, m in enumerate(marks) if i not in cut]
    if not any(tags):
        return None
    out: dict[str, Any] = {"text": text, "tags": tags}
    if "id" in record:
        out["id"] = record["id"]
    return out


def strains_of(text: str, tags: Sequence[str | None]) -> str:
    """The collection's marks back from a tone example: the tone, ○ where unknown, punctuation copied."""
    return "".join(
        t if t is not None else (ch if ch in MARKS else "○") for ch, t in zip(text, tags, strict=True)
    )


# ---------------------------------------------------------------------------------------------
# Punctuation.


def strip_marks(text: str) -> tuple[str, list[str]]:
    """(characters, the mark after each or ``O``); see the module docstring for what is dropped."""
    chars: list[str] = []
    tags: list[str] = []
    for ch in text.translate(_HALF_TO_FULL):
        if ch in MARKS:
            if chars and tags[-1] == OUTSIDE:  # the first of several marks in a row wins
                tags[-1] = ch
        elif _KEPT.match(ch):
            chars.append(ch)
            tags.append(OUTSIDE)
    return "".join(chars), tags


def punctuate(text: str, tags: Sequence[str]) -> str:
    """The text with each character's mark put back after it (the inverse of :func:`strip_marks`)."""
    return "".join(ch + (t if t != OUTSIDE else "") for ch, t in zip(text, tags, strict=True))


def _pieces(text: str, tags: list[str], max_chars: int) -> Iterator[tuple[str, list[str]]]:
    """Consecutive pieces cut after sentence ends, at most ``max_chars`` long unless a sentence is longer."""
    start, last_end = 0, None
    for i, tag in enumerate(tags):
        if i + 1 - start > max_chars and last_end is not None and last_end >= start:
            yield text[start : last_end + 1], tags[start : last_end + 1]
            start = last_end + 1
        if tag in SENTENCE_ENDS:
            last_end = i
    if start < len(text):
        yield text[start:], tags[start:]


def punct_examples(text: str, max_chars: int = 300) -> list[dict[str, Any]]:
    """The ``{"text", "tags"}`` pieces of one punctuated paragraph."""
    chars, tags = strip_marks(text)
    return [{"text": t, "tags": g} for t, g in _pieces(chars, tags, max_chars) if t]


def is_irregular(poem: Poem) -> bool:
    """A poem of at least two lines whose lines are not all of the same length (杂言)."""
    lengths = {len(line) for line in poem.lines}
    return len(poem.lines) >= 2 and len(lengths) > 1


# ---------------------------------------------------------------------------------------------
# Reading the installed collection.


def find_part(root: Path, part: str) -> Path:
    """The installed file of ``part`` under ``root`` (or the one JSON-lines file in its folder)."""
    path = root / PART_FILES[part]
    if path.is_file():
        return path
    folder = path.parent
    candidates = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if len(candidates) == 1:
        return candidates[0]
    raise DataError(
        f"{path} is missing; install it with `rnnlab data get {part}` (or pass --source DIR, the folder that "
        "holds tang/, strains/, song/ and prose/)"
    )


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None


def clean_poems(path: Path) -> Iterator[Poem]:
    """The poems of a chinese-poetry JSON-lines file, cleaned; broken ones (□, no text) are dropped."""
    for number, record in enumerate(read_records(path), start=1):
        poem = clean_poem(Poem.from_dict(record, f"{path}:{number}"))
        if poem is not None:
            yield poem


# ---------------------------------------------------------------------------------------------
# The four tasks.


def tones_task(root: Path) -> list[dict[str, Any]]:
    examples = (tone_example(r) for r in read_records(find_part(root, "strains")))
    return [e for e in examples if e is not None]


def punct_task(root: Path, max_chars: int = 300) -> list[dict[str, Any]]:
    out = []
    for record in read_records(find_part(root, "prose")):
        for paragraph in record["paragraphs"]:
            for example in punct_examples(paragraph, max_chars):
                out.append({**example, "source": record["book"]})
    for part in ("tang", "song"):
        for poem in clean_poems(find_part(root, part)):
            if is_irregular(poem):
                out += [{**e, "source": part} for e in punct_examples(poem.text, max_chars)]
    return out


def _labelled(items: Iterable[tuple[str, str]], max_per_label: int | None) -> list[dict[str, Any]]:
    """Deduplicated {"text", "label"} examples; a text under two labels is dropped, classes capped by hash."""
    labels: dict[str, set[str]] = {}
    for text, label in items:
        labels.setdefault(text, set()).add(label)
    examples = [{"text": t, "label": next(iter(ls))} for t, ls in labels.items() if len(ls) == 1]
    if max_per_label:
        examples.sort(key=lambda e: hash_unit(e["text"], "rnnlab-task-cap"))
        seen: Counter[str] = Counter()
        kept = []
        for e in examples:
            seen[e["label"]] += 1
            if seen[e["label"]] <= max_per_label:
                kept.append(e)
        examples = kept
    return examples


def dynasty_task(root: Path, max_per_label: int | None = None) -> list[dict[str, Any]]:
    items = [(p.text, "唐") for p in clean_poems(find_part(root, "tang"))]
    items += [(p.text, "宋") for p in clean_poems(find_part(root, "song"))]
    return _labelled(items, max_per_label)


def authors_task(root: Path, top: int = 10, max_per_label: int | None = None) -> list[dict[str, Any]]:
    poems = [p for p in clean_poems(find_part(root, "tang")) if p.author and p.author not in NOT_AUTHORS]
    counts = Counter(p.author for p in poems)
    chosen = {a for a, _ in counts.most_common(top)}
    return _labelled(((p.text, p.author) for p in poems if p.author in chosen), max_per_label)


def build_task(
    name: str,
    out: str | Path,
    *,
    source: str | Path | None = None,
    test_fraction: float = 0.1,
    max_per_label: int | None = None,
    max_chars: int = 300,
    top: int = 10,
) -> TaskFiles:
    """Write ``OUT/NAME.train.jsonl`` and ``OUT/NAME.test.jsonl`` from the installed collection."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; options are {list(TASKS)}")
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    root = data_dir(source)
    if name == "tones":
        examples = tones_task(root)
    elif name == "punct":
        examples = punct_task(root, max_chars)
    elif name == "dynasty":
        examples = dynasty_task(root, max_per_label)
    else:
        examples = authors_task(root, top, max_per_label)
    test = [e for e in examples if hash_unit(e["text"], TEST_SALT) < test_fraction]
    train = [e for e in examples if hash_unit(e["text"], TEST_SALT) >= test_fraction]
    out = Path(out)
    return TaskFiles(
        name,
        write_jsonl(out / f"{name}.train.jsonl", train),
        write_jsonl(out / f"{name}.test.jsonl", test),
        len(train),
        len(test),
    )
