"""Reading text files: encodings, byte offsets of bad bytes, chunked reading."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from rnnlab.data.textio import hash_files, iter_text_chunks, read_text
from rnnlab.errors import ConfigError, DataError


def test_non_utf8_file_names_the_byte_offset_and_the_encoding_option(tmp_path: Path) -> None:
    """A GBK file read as UTF-8 raises DataError with the offset of the first bad byte and the fix."""
    path = tmp_path / "gbk.txt"
    prefix = b"abcdef"  # 6 bytes valid in both encodings
    path.write_bytes(prefix + "床前明月光".encode("gbk"))
    with pytest.raises(DataError, match=r"byte offset 6\b.*encoding="):
        read_text(path)
    assert read_text(path, encoding="gbk").endswith("床前明月光")


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 64])
def test_chunks_concatenate_to_the_text_and_report_offsets(tmp_path: Path, chunk_bytes: int) -> None:
    """Chunked decoding joins to the whole text for any chunk size, and a bad byte's offset is the file's."""
    text = "\ufeff春眠不觉晓，处处闻啼鸟。\nspring 🌸 sleep\n" * 3
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    assert "".join(iter_text_chunks(path, chunk_bytes=chunk_bytes)) == text[1:]  # BOM dropped
    raw = path.read_bytes()
    bad = len(raw) - 7
    path.write_bytes(raw[:bad] + b"\xff" + raw[bad:])
    with pytest.raises(DataError, match=rf"byte offset {bad}\b"):
        list(iter_text_chunks(path, chunk_bytes=chunk_bytes))


def test_bad_arguments(tmp_path: Path) -> None:
    """Unknown encodings and missing files give errors that say what to pass."""
    with pytest.raises(DataError, match="no such file"):
        read_text(tmp_path / "x")
    try:
        codecs.lookup("no-such-codec")
    except LookupError:
        pass
    else:  # some installed packages register a codec search function that accepts any name
        pytest.skip("this environment resolves every codec name, so unknown encodings cannot be detected")
    with pytest.raises(ConfigError, match="unknown text encoding"):
        read_text(tmp_path / "x", encoding="no-such-codec")


def test_hash_files_depends_on_content_not_name(tmp_path: Path) -> None:
    """Same bytes under another name hash equal; one changed byte changes the hash."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("hello", encoding="utf-8")
    b.write_text("hello", encoding="utf-8")
    assert hash_files([a]) == hash_files([b])
    b.write_text("hellp", encoding="utf-8")
    assert hash_files([a]) != hash_files([b])
