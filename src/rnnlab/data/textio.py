"""Reading UTF-8 text from disk, whole or in chunks, with errors that name the byte offset.

Every reader here decodes bytes itself (rather than letting ``open(..., encoding=...)`` do it) so that a
decoding failure can report the *file* byte offset of the bad sequence and suggest the ``encoding=``
option, instead of Python's bare ``UnicodeDecodeError``.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from rnnlab.errors import ConfigError, DataError

# 4 MiB: large enough that per-chunk overhead is negligible, small enough that a 1 GB file never sits in RAM.
DEFAULT_CHUNK_BYTES = 1 << 22


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(
            f"unknown text encoding {encoding!r}; use a codec name Python knows, e.g. 'utf-8', 'gb18030', "
            "'big5', 'latin-1'"
        ) from None


def _decode_error(path: Path, err: UnicodeDecodeError, base_offset: int, encoding: str) -> DataError:
    offset = base_offset + err.start
    bad = err.object[err.start : err.start + 4]
    return DataError(
        f"{path}: not valid {encoding} text: byte {bad[:1].hex()} at byte offset {offset} ({err.reason}); "
        f"if the file uses another encoding, pass it explicitly, e.g. encoding='gb18030' (CLI: --encoding "
        "gb18030), or convert the file to UTF-8 first"
    )


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The whole text of ``path`` decoded with ``encoding``; a leading UTF-8 BOM is dropped.

    Raises DataError when the file is missing or not valid in ``encoding`` (the message names the byte
    offset of the first bad byte).
    """
    path = Path(path)
    _check_encoding(encoding)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise _decode_error(path, err, 0, encoding) from None
    return text.removeprefix("\ufeff")


def iter_text_chunks(
    path: str | Path, encoding: str = "utf-8", chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[str]:
    """Decoded pieces of ``path``, reading ``chunk_bytes`` at a time (a multi-byte character split
    between two reads is carried over by an incremental decoder, so the pieces concatenate to the text).
    """
    path = Path(path)
    _check_encoding(encoding)
    if chunk_bytes <= 0:
        raise ConfigError(f"chunk_bytes must be positive, got {chunk_bytes}")
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    first = True
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            final = not block
            try:
                piece = decoder.decode(block, final=final)
            except UnicodeDecodeError as err:
                # The decoder's buffer holds up to a few undecoded bytes from the previous read, so the
                # error position is relative to (pending bytes + this block).
                pending = len(err.object) - len(block)
                raise _decode_error(path, err, offset - pending, encoding) from None
            offset += len(block)
            if first:
                piece = piece.removeprefix("\ufeff")
                first = not piece
            if piece:
                yield piece
            if final:
                return


def hash_files(paths: Sequence[str | Path], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> str:
    """SHA-256 over the names' order, sizes and bytes of ``paths``, read in chunks (hex digest)."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file; check the path")
        digest.update(f"{path.stat().st_size}\n".encode())
        with path.open("rb") as fh:
            while block := fh.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest()
