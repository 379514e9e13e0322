"""The parts of the chinese-poetry npm package that ``rnnlab data get`` installs, read in one pass.

``chinese-poetry@2.0.1`` (MIT licence, © 2016 JackeyGao) holds more than the Tang poems. Each part
becomes one JSON-lines file under the data directory, in simplified characters (OpenCC ``t2s``)
unless asked otherwise::

    part      archive members (package/dist/…)                        installed as
    tang      quantangshi/poet.tang.<n>.json                            tang/tang.jsonl
    strains   strains/json/poet.tang.<n>.json  + the Tang poems          strains/tang-strains.jsonl
    song      quantangshi/poet.song.<n>.json                            song/song.jsonl
    prose     mengxue/guwenguanzhi.json, lunyu/lunyu.json,              prose/classics.jsonl
              sishuwujing/{mengzi,daxue,zhongyong}.json

Record layouts: poems ``{"id", "title", "author", "paragraphs"}``; tone marks
``{"id", "paragraphs", "strains"}`` where ``strains`` has one string per paragraph, aligned
character by character (平 level, 仄 oblique, ○ unknown, punctuation copied); prose
``{"book", "chapter", "paragraphs"}``. ``error/`` copies in the package are never read.

The tone marks are matched to the poems **by id** (the files are not aligned by position
everywhere), and a poem is kept only when, after conversion, it has as many paragraphs as mark
strings and every paragraph is exactly as long as its marks — the rule that produced the shared
``strains/tang-strains.jsonl`` (50,011 of the poems in ``tang/tang.jsonl``).

The archive is streamed once, member by member (a .tgz cannot seek backwards cheaply), and every
file is written under a temporary name and renamed, so an interrupted run leaves no half-written
corpus.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rnnlab.data.convert import ChineseConverter
from rnnlab.data.poems import Poem
from rnnlab.errors import ConfigError, DataError

PARTS: tuple[str, ...] = ("tang", "strains", "song", "prose")
ROOT = "package/dist/"
TANG_MEMBER = re.compile(r"^package/dist/quantangshi/poet\.tang\.(\d+)\.json$")
SONG_MEMBER = re.compile(r"^package/dist/quantangshi/poet\.song\.(\d+)\.json$")
STRAINS_MEMBER = re.compile(r"^package/dist/strains/json/poet\.tang\.(\d+)\.json$")
# Prose books in the order they are written (the order of the shared classics.jsonl).
PROSE_BOOKS: dict[str, str] = {
    ROOT + "mengxue/guwenguanzhi.json": "古文观止",
    ROOT + "lunyu/lunyu.json": "论语",
    ROOT + "sishuwujing/mengzi.json": "孟子",
    ROOT + "sishuwujing/daxue.json": "大学",
    ROOT + "sishuwujing/zhongyong.json": "中庸",
}
# Where each part is installed, relative to the data directory.
PART_FILES: dict[str, str] = {
    "tang": "tang/tang.jsonl",
    "strains": "strains/tang-strains.jsonl",
    "song": "song/song.jsonl",
    "prose": "prose/classics.jsonl",
}
STRAIN_MARKS = "平仄○"


def check_parts(parts: Iterable[str]) -> list[str]:
    """``parts`` in the canonical order, ``"all"`` expanded; unknown names raise ConfigError."""
    wanted: set[str] = set()
    for name in parts:
        if name == "all":
            wanted.update(PARTS)
        elif name in PARTS:
            wanted.add(name)
        else:
            raise ConfigError(f"unknown part {name!r} of the collection; options are {[*PARTS, 'all']}")
    if not wanted:
        raise ConfigError(f"name at least one part of the collection: {[*PARTS, 'all']}")
    return [p for p in PARTS if p in wanted]


def _needed(parts: Sequence[str]) -> Callable[[str], bool]:
    """Which archive members the parts read (strains needs the Tang poems too)."""
    patterns = []
    if "tang" in parts or "strains" in parts:
        patterns.append(TANG_MEMBER)
    if "strains" in parts:
        patterns.append(STRAINS_MEMBER)
    if "song" in parts:
        patterns.append(SONG_MEMBER)
    prose = "prose" in parts
    return lambda name: any(p.match(name) for p in patterns) or (prose and name in PROSE_BOOKS)


def read_archive(archive: str | Path, parts: Sequence[str], progress: bool = True) -> dict[str, Any]:
    """The parsed JSON of every member the parts need, by member name, in one pass over the .tgz."""
    archive = Path(archive)
    wanted = _needed(parts)
    found: dict[str, Any] = {}
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            bar = tqdm(desc="read", unit="file", disable=not progress)
            for member in tar:
                if not (member.isfile() and wanted(member.name)):
                    continue
                fh = tar.extractfile(member)
                if fh is None:  # pragma: no cover - isfile() members always have data
                    continue
                try:
                    found[member.name] = json.loads(fh.read().decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as err:
                    raise DataError(f"{archive}:{member.name}: not valid UTF-8 JSON ({err})") from None
                bar.update(1)
            bar.close()
    except tarfile.TarError as err:
        raise DataError(
            f"{archive}: not a readable .tgz archive ({err}); delete it and download again"
        ) from None
    return found


def _numbered(
    members: Mapping[str, Any], pattern: re.Pattern[str], archive: str | Path, what: str
) -> list[Any]:
    """The JSON lists of the members matching ``pattern``, concatenated in numeric file order."""
    names = sorted(
        (name for name in members if pattern.match(name)),
        key=lambda n: int(pattern.match(n).group(1)),  # type: ignore[union-attr]
    )
    if not names:
        raise DataError(
            f"{archive}: no {what} inside ({pattern.pattern}); pass the chinese-poetry@2.0.1 npm archive"
        )
    records: list[Any] = []
    for name in names:
        content = members[name]
        if not isinstance(content, list):
            raise DataError(f"{archive}:{name}: expected a JSON list of records")
        records.extend((f"{archive}:{name}[{i}]", r) for i, r in enumerate(content))
    return records


def poems_from(
    members: Mapping[str, Any],
    pattern: re.Pattern[str],
    archive: str | Path,
    converter: ChineseConverter | None,
    what: str,
) -> list[Poem]:
    """The poems of the numbered files matching ``pattern``, in file order, converted by ``converter``."""
    poems = [Poem.from_dict(record, where) for where, record in _numbered(members, pattern, archive, what)]
    return [converter.poem(p) for p in poems] if converter is not None else poems


def align_strains(
    poems: Iterable[Poem], members: Mapping[str, Any], archive: str | Path
) -> list[dict[str, Any]]:
    """``{"id", "paragraphs", "strains"}`` for each poem whose tone marks align exactly (see the module)."""
    by_id: dict[str, list[str]] = {}
    for where, record in _numbered(members, STRAINS_MEMBER, archive, "strains/json/poet.tang.*.json"):
        if not isinstance(record, Mapping) or not isinstance(record.get("strains"), list):
            raise DataError(f'{where}: a tone record must be {{"id", "strains": [...]}}')
        by_id[str(record.get("id"))] = [str(s) for s in record["strains"]]
    out = []
    for poem in poems:
        marks = by_id.get(poem.id or "")
        if (
            marks
            and len(marks) == len(poem.paragraphs)
            and all(len(m) == len(p) for m, p in zip(marks, poem.paragraphs, strict=True))
        ):
            out.append({"id": poem.id, "paragraphs": list(poem.paragraphs), "strains": marks})
    return out


def prose_chapters(
    members: Mapping[str, Any], archive: str | Path, converter: ChineseConverter | None
) -> list[dict[str, Any]]:
    """``{"book", "chapter", "paragraphs"}`` for every chapter of the five prose books."""
    convert = converter if converter is not None else (lambda s: s)
    out = []
    for name, book in PROSE_BOOKS.items():
        if name not in members:
            raise DataError(f"{archive}: {name} is missing; pass the chinese-poetry@2.0.1 npm archive")
        content = members[name]
        # 古文观止 nests chapters in volumes: {"content": [{"title": 卷…, "content": [chapter, …]}, …]}
        if isinstance(content, Mapping) and isinstance(content.get("content"), list):
            chapters = [c for volume in content["content"] for c in volume.get("content", [])]
        else:
            chapters = content if isinstance(content, list) else [content]
        for i, chapter in enumerate(chapters):
            paragraphs = chapter.get("paragraphs") if isinstance(chapter, Mapping) else None
            if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
                raise DataError(f'{archive}:{name}[{i}]: a chapter needs "paragraphs", a list of strings')
            out.append(
                {
                    "book": book,
                    "chapter": convert(str(chapter.get("chapter", ""))),
                    "paragraphs": [convert(p) for p in paragraphs],
                }
            )
    return out


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """One JSON object a line (UTF-8, unescaped), written to a temporary file and renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_source(folder: Path, meta: Mapping[str, Any]) -> None:
    """``SOURCE.json`` beside an installed part: where it came from, its checksum, its script."""
    tmp = folder / "SOURCE.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "SOURCE.json")


def install_parts(
    archive: str | Path,
    parts: Sequence[str],
    root: Path,
    *,
    simplified: bool = True,
    progress: bool = True,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Convert and write ``parts`` of an already verified archive under ``root``; return each file."""
    parts = check_parts(parts)
    converter = ChineseConverter("t2s") if simplified else None
    members = read_archive(archive, parts, progress)
    records: dict[str, list[Any]] = {}
    tang: list[Poem] = []
    if "tang" in parts or "strains" in parts:
        tang = poems_from(members, TANG_MEMBER, archive, converter, "quantangshi/poet.tang.*.json")
    if "tang" in parts:
        records["tang"] = [p.to_dict() for p in tang]
    if "strains" in parts:
        records["strains"] = align_strains(tang, members, archive)
    if "song" in parts:
        song = poems_from(members, SONG_MEMBER, archive, converter, "quantangshi/poet.song.*.json")
        records["song"] = [p.to_dict() for p in song]
    if "prose" in parts:
        records["prose"] = prose_chapters(members, archive, converter)
    written = {}
    for part in parts:
        path = write_jsonl(root / PART_FILES[part], records[part])
        write_source(
            path.parent,
            {
                **(meta or {}),
                ("chapters" if part == "prose" else "poems"): len(records[part]),
                "script": "simplified (OpenCC t2s)" if simplified else "traditional (as published)",
            },
        )
        written[part] = path
    return written
