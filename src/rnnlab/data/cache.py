"""Token ids of a large corpus as a memory-mapped array on disk, built once and reused.

For a text bigger than memory (say 1 GB) nothing here holds the whole text or id array in RAM: files
are decoded and tokenized in chunks (``rnnlab.data.textio.iter_text_chunks``), ids are appended to a
raw file, and the result is opened with ``np.load(..., mmap_mode="r")`` so the OS pages it in on demand.

On-disk format (in ``cache_dir``, default ``<data dir>/cache``)::

    <key>.npy    a standard NumPy .npy file: 1-D, the token ids of all files in order, dtype uint16
                 when the vocabulary has at most 65,536 entries, else int32
    <key>.json   {"format": "rnnlab.token-cache", "version": 1, "key", "n_tokens", "dtype",
                  "sources": [{"path", "bytes"}], "tokenizer": {...}, "vocab": fingerprint, "encoding"}

``key`` = SHA-256 over the cache format version, the SHA-256 of the files' bytes (sizes and order
included), the tokenizer's description, the vocabulary's fingerprint and the encoding. A changed file,
tokenizer or vocabulary gives a new key, so a stale cache is never read; the same content under another
file name reuses the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rnnlab.data.paths import cache_dir as default_cache_dir
from rnnlab.data.textio import DEFAULT_CHUNK_BYTES, hash_files, iter_text_chunks
from rnnlab.data.tokenize import CharTokenizer, Tokenizer
from rnnlab.data.vocab import SpecialTokens, Vocab
from rnnlab.errors import ConfigError, DataError

CACHE_FORMAT = "rnnlab.token-cache"
CACHE_VERSION = 1
_COPY_BYTES = 1 << 24  # bytes copied per step when turning the raw id file into .npy


@dataclass(frozen=True)
class TokenCache:
    """A corpus's token ids, memory-mapped read-only from ``path``."""

    ids: np.ndarray
    path: Path
    key: str
    reused: bool  # True when an existing cache was opened, False when it was built by this call

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def split(
        self, fractions: Sequence[float] = (0.9, 0.05, 0.05)
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Train, validation and test as three contiguous slices of ``ids`` (views: nothing is copied).

        This is the token-level counterpart of ``TextCorpus.split``'s byte ranges: no sequence drawn
        from one slice can contain tokens of another.
        """
        if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
            raise ConfigError(
                f"split fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}"
            )
        n = len(self)
        a = round(fractions[0] * n)
        b = max(a, round((fractions[0] + fractions[1]) * n))
        return self.ids[:a], self.ids[a:b], self.ids[b:]


def _as_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = [Path(p) for p in paths]
    if not out:
        raise DataError("no input files given; pass at least one text file")
    return out


def iter_file_tokens(
    paths: str | Path | Sequence[str | Path],
    tokenizer: Tokenizer | None = None,
    encoding: str = "utf-8",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool = False,
) -> Iterator[Sequence[str]]:
    """Tokens of the files, concatenated in order, one sequence per decoded chunk (never the whole text)."""
    files = _as_paths(paths)
    tokenizer = tokenizer or CharTokenizer()
    total = sum(p.stat().st_size for p in files if p.is_file())
    with tqdm(total=total, unit="B", unit_scale=True, desc="tokenize", disable=not progress) as bar:
        for path in files:

            def pieces(path: Path = path) -> Iterator[str]:
                for piece in iter_text_chunks(path, encoding, chunk_bytes):
                    if progress:  # re-encoding only to count bytes: skip it when no bar is shown
                        bar.update(len(piece.encode(encoding, errors="replace")))
                    yield piece

            yield from tokenizer.tokenize_stream(pieces())


def count_tokens(
    paths: str | Path | Sequence[str | Path],
    tokenizer: Tokenizer | None = None,
    encoding: str = "utf-8",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Counter[str]:
    """Token counts of the files, streamed (first-appearance order, as ``Vocab.from_counts`` expects)."""
    counts: Counter[str] = Counter()
    for tokens in iter_file_tokens(paths, tokenizer, encoding, chunk_bytes):
        counts.update(tokens)
    return counts


def build_vocab_from_files(
    paths: str | Path | Sequence[str | Path],
    tokenizer: Tokenizer | None = None,
    min_freq: int = 1,
    max_size: int | None = None,
    specials: SpecialTokens | None = None,
    encoding: str = "utf-8",
) -> Vocab:
    """A ``Vocab`` of files too large to read whole."""
    counts = count_tokens(paths, tokenizer, encoding)
    return Vocab.from_counts(counts, min_freq=min_freq, max_size=max_size, specials=specials)


def cache_key(
    paths: str | Path | Sequence[str | Path], tokenizer: Tokenizer, vocab: Vocab, encoding: str = "utf-8"
) -> str:
    """The cache key (see the module docstring): same content + tokenizer + vocabulary → same key."""
    doc = {
        "version": CACHE_VERSION,
        "content": hash_files(_as_paths(paths)),
        "tokenizer": tokenizer.to_dict(),
        "vocab": vocab.fingerprint(),
        "encoding": encoding.lower(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def _dtype_for(vocab: Vocab) -> np.dtype[Any]:
    # Explicit little-endian, so the raw bytes written by tofile match the header on every machine.
    return np.dtype("<u2") if len(vocab) <= 1 << 16 else np.dtype("<i4")


def _open_existing(npy: Path, meta_path: Path, key: str) -> TokenCache | None:
    if not (npy.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        ids = np.load(npy, mmap_mode="r")
    except (OSError, ValueError):
        return None  # a damaged cache is rebuilt, not trusted
    if meta.get("key") != key or meta.get("version") != CACHE_VERSION or meta.get("n_tokens") != ids.shape[0]:
        return None
    return TokenCache(ids=ids, path=npy, key=key, reused=True)


def token_cache(
    paths: str | Path | Sequence[str | Path],
    vocab: Vocab,
    tokenizer: Tokenizer | None = None,
    cache_dir: str | Path | None = None,
    encoding: str = "utf-8",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool = True,
) -> TokenCache:
    """The memory-mapped token ids of ``paths``: opened from the cache when present, else built there.

    Building streams the files chunk by chunk; the finished ``.npy`` and its ``.json`` description are
    moved into place atomically, so an interrupted build leaves no cache that looks valid.
    Several processes: build it on one per machine first, as
    ``rnnlab.train.distributed.build_once(world, lambda: token_cache(...))`` does.
    """
    files = _as_paths(paths)
    tokenizer = tokenizer or CharTokenizer()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(files, tokenizer, vocab, encoding)
    npy, meta_path = root / f"{key}.npy", root / f"{key}.json"
    existing = _open_existing(npy, meta_path, key)
    if existing is not None:
        return existing

    root.mkdir(parents=True, exist_ok=True)
    dtype = _dtype_for(vocab)
    # Temporary names of this process only: builders on several machines sharing the folder (one
    # per machine under torchrun, see rnnlab.train.distributed.build_once) never write one file.
    part = f"part-{socket.gethostname()}-{os.getpid()}"
    raw, tmp_npy = root / f"{key}.ids.{part}", root / f"{key}.npy.{part}"
    try:
        with raw.open("wb") as fh:
            for tokens in iter_file_tokens(files, tokenizer, encoding, chunk_bytes, progress):
                vocab.encode(tokens, dtype=dtype).tofile(fh)
        n_tokens = raw.stat().st_size // dtype.itemsize
        if n_tokens == 0:
            raise DataError(f"{', '.join(map(str, files))}: no tokens; pass a non-empty text")
        # Prepend the .npy header to the raw ids by streaming file to file: no memory map, so neither
        # anonymous memory nor mapped page cache grows with the corpus.
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n_tokens,)}
        with tmp_npy.open("wb") as out, raw.open("rb") as src:
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(src, out, _COPY_BYTES)
        meta = {
            "format": CACHE_FORMAT,
            "version": CACHE_VERSION,
            "key": key,
            "n_tokens": int(n_tokens),
            "dtype": dtype.name,
            "sources": [{"path": str(p), "bytes": p.stat().st_size} for p in files],
            "tokenizer": tokenizer.to_dict(),
            "vocab": vocab.fingerprint(),
            "encoding": encoding,
        }
        os.replace(tmp_npy, npy)
        tmp_meta = meta_path.with_name(f"{meta_path.name}.{part}")
        tmp_meta.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_meta, meta_path)
    finally:
        for leftover in (raw, tmp_npy):
            leftover.unlink(missing_ok=True)
    return TokenCache(ids=np.load(npy, mmap_mode="r"), path=npy, key=key, reused=False)
