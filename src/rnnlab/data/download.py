"""``rnnlab data get tang``: fetch the full Tang collection, verify it, convert it, store it.

Source: the chinese-poetry collection (MIT licence, © 2016 JackeyGao) as published on the npm registry,
``chinese-poetry@2.0.1``. The Tang poems are ``package/dist/quantangshi/poet.tang.<n>.json`` (58 files,
57,607 poems, traditional script); the ``error/`` copies beside them are skipped. The result is
``<data dir>/tang/tang.jsonl`` in simplified characters, one {id, title, author, paragraphs} object a
line, plus ``SOURCE.json`` saying where it came from.

Every step is checked: the archive's SHA-256 must match before anything is read from it, and files are
written under a temporary name and renamed, so an interrupted run never leaves a half-written corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rnnlab.data.convert import ChineseConverter
from rnnlab.data.corpus import PoemCorpus
from rnnlab.data.paths import data_dir
from rnnlab.data.poems import Poem
from rnnlab.errors import DataError

TANG_URL = "https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz"
TANG_SHA256 = "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86"
TANG_MEMBER = re.compile(r"^package/dist/quantangshi/poet\.tang\.(\d+)\.json$")
TANG_SUBDIR = "tang"
TANG_FILE = "tang.jsonl"
_BLOCK = 1 << 16


@dataclass(frozen=True)
class TangSource:
    """Where to get the collection; the defaults are the published npm package."""

    url: str = TANG_URL
    sha256: str = TANG_SHA256
    licence: str = "MIT, © 2016 JackeyGao (github.com/chinese-poetry/chinese-poetry)"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str) -> None:
    """Raise DataError unless ``path``'s SHA-256 is ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise DataError(
            f"{path}: checksum mismatch (sha256 {actual}, expected {expected}); the download is corrupt or "
            "not the published chinese-poetry@2.0.1 archive: delete it and run `rnnlab data get tang` again"
        )


def download(url: str, target: str | Path, sha256: str, progress: bool = True, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``target`` with a progress bar and verify its checksum (skipped when ``target``
    already exists with the right checksum)."""
    target = Path(target)
    if target.is_file() and sha256_file(target) == sha256.lower():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as fh:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=target.name,
                disable=not progress,
            ) as bar:
                while block := response.read(_BLOCK):
                    fh.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError) as err:
        part.unlink(missing_ok=True)
        raise DataError(
            f"could not download {url} ({err}); check the network connection, or fetch the archive "
            "another way (`npm pack chinese-poetry@2.0.1`) and pass it with --archive FILE"
        ) from None
    try:
        verify_sha256(part, sha256)
    except DataError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, target)
    return target


def extract_tang(
    archive: str | Path, converter: ChineseConverter | None = None, progress: bool = True
) -> list[Poem]:
    """The Tang poems in the npm archive, in file order (poet.tang.0, 1000, …), converted by ``converter``."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and TANG_MEMBER.match(m.name)]
            if not members:
                raise DataError(
                    f"{archive}: no package/dist/quantangshi/poet.tang.*.json inside; pass the "
                    "chinese-poetry@2.0.1 npm archive"
                )
            members.sort(key=lambda m: int(TANG_MEMBER.match(m.name).group(1)))  # type: ignore[union-attr]
            poems: list[Poem] = []
            for member in tqdm(members, desc="convert", unit="file", disable=not progress):
                fh = tar.extractfile(member)
                if fh is None:  # pragma: no cover - isfile() members always have data
                    continue
                try:
                    records = json.loads(fh.read().decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as err:
                    raise DataError(f"{archive}:{member.name}: not valid UTF-8 JSON ({err})") from None
                if not isinstance(records, list):
                    raise DataError(f"{archive}:{member.name}: expected a JSON list of poems")
                for i, record in enumerate(records):
                    poem = Poem.from_dict(record, f"{archive}:{member.name}[{i}]")
                    poems.append(converter.poem(poem) if converter is not None else poem)
    except tarfile.TarError as err:
        raise DataError(
            f"{archive}: not a readable .tgz archive ({err}); delete it and download again"
        ) from None
    return poems


def install_tang(
    archive: str | Path,
    dest: str | Path | None = None,
    sha256: str = TANG_SHA256,
    simplified: bool = True,
    progress: bool = True,
    source: TangSource | None = None,
) -> Path:
    """Verify ``archive``, extract and convert its Tang poems, write ``<dest>/tang/tang.jsonl``; return it."""
    verify_sha256(archive, sha256)
    poems = extract_tang(archive, ChineseConverter("t2s") if simplified else None, progress)
    out_dir = data_dir(dest) / TANG_SUBDIR
    path = PoemCorpus(tuple(poems)).save_jsonl(out_dir / TANG_FILE)
    src = source or TangSource(sha256=sha256)
    meta = {
        "url": src.url,
        "sha256": sha256,
        "licence": src.licence,
        "poems": len(poems),
        "script": "simplified (OpenCC t2s)" if simplified else "traditional (as published)",
    }
    tmp = out_dir / "SOURCE.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "SOURCE.json")
    return path


def get_tang(
    dest: str | Path | None = None,
    source: TangSource | None = None,
    archive: str | Path | None = None,
    simplified: bool = True,
    force: bool = False,
    keep_archive: bool = False,
    progress: bool = True,
) -> Path:
    """Download (or take ``archive``), verify, convert and store the Tang collection; return tang.jsonl.

    Does nothing when ``<dest>/tang/tang.jsonl`` exists, unless ``force``. ``dest`` defaults to the data
    directory (``RNNLAB_DATA`` or the platform's; see ``rnnlab.data.paths``).
    """
    src = source or TangSource()
    target = data_dir(dest) / TANG_SUBDIR / TANG_FILE
    if target.is_file() and not force:
        return target
    if archive is not None:
        return install_tang(archive, dest, src.sha256, simplified, progress, src)
    downloaded = data_dir(dest) / "downloads" / Path(src.url.rsplit("/", 1)[-1] or "chinese-poetry.tgz").name
    download(src.url, downloaded, src.sha256, progress)
    path = install_tang(downloaded, dest, src.sha256, simplified, progress, src)
    if not keep_archive:
        downloaded.unlink(missing_ok=True)
        if not any(downloaded.parent.iterdir()):
            downloaded.parent.rmdir()
    return path
