"""Token ids on disk: memory-mapped, keyed by content, written atomically, verified when opened.

Two layers, one module:

* **Cache entries** (:class:`CacheEntry`): the files of one key in a cache folder::

      <key>.<name>.npy   one standard NumPy .npy file per named 1-D array
      <key>.json         the manifest, written last: {"format", "version", "key",
                         "arrays": {name: {"file", "dtype", "shape", "sha256"}}, "meta": {...}, "sha256"}

  The key is a SHA-256 of a JSON document that describes everything the arrays depend on
  (:func:`content_key`), so a changed input gives a new key and a stale entry is never read.
  Arrays are streamed to temporary files named after the host and process, then renamed into place,
  manifest last: an entry exists once its manifest does, and a crash mid-build leaves none.
  :meth:`CacheEntry.open` checks what the manifest records — its own checksum, format, version and
  key, each array's SHA-256, dtype and shape — and reports any mismatch as :class:`DamagedCache`;
  :func:`open_or_build` then warns, removes the entry and builds it again, so a truncated, edited or
  half-copied file is never used. ``rnnlab.train.corpus_cache`` stores language-model corpora so.
* :func:`token_cache`: the ids of a text too large for memory as one entry (the array ``ids``,
  ``uint16`` when the vocabulary has at most 65,536 entries, else ``int32``), built chunk by chunk.
  Its key covers the cache version, the files' bytes (sizes and order included), the tokenizer, the
  vocabulary's fingerprint and the encoding; the same content under another file name reuses it.

Opening an entry reads every array once to check its SHA-256 (about 1 GB/s); the pages read are
the ones the memory map then serves, so training loses nothing by it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
CACHE_VERSION = 2  # 2: a verified entry (<key>.ids.npy and its manifest <key>.json)
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


# ---------------------------------------------------------------------------------------------
# Cache entries: keys, atomic writes, verified opening.


def content_key(doc: Mapping[str, Any]) -> str:
    """32 hex digits of the SHA-256 of ``doc`` as canonical JSON: equal descriptions, equal keys."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def ids_dtype(vocab: Vocab) -> np.dtype[Any]:
    """The dtype ids of ``vocab`` are stored in: uint16 when it has at most 65,536 entries, else int32."""
    # Explicit little-endian, so the raw bytes written by tofile match the header on every machine.
    return np.dtype("<u2") if len(vocab) <= 1 << 16 else np.dtype("<i4")


def _manifest_sha256(doc: Mapping[str, Any]) -> str:
    """The checksum a manifest carries of everything else it holds."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class DamagedCache(DataError):
    """A cache file that is present but does not match its manifest (truncated, edited, half copied)."""

    def __init__(self, path: Path, reason: str, fix: str = "") -> None:
        self.path, self.reason = path, reason
        fix = fix or (
            "rnnlab rebuilds a damaged entry when it opens it; delete the file to force that, "
            "or train without the cache (--no-cache)"
        )
        super().__init__(f"{path}: damaged cache file ({reason}); {fix}")


@dataclass(frozen=True)
class OpenEntry:
    """A verified cache entry: its arrays, memory-mapped read-only, and the metadata it was built with."""

    manifest: Path
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


@dataclass(frozen=True)
class CacheEntry:
    """The files of one key in a cache folder (see the module docstring)."""

    root: Path
    key: str
    format: str  # what kind of entry, e.g. "rnnlab.token-cache"
    version: int  # of that format; part of the key too

    @property
    def manifest(self) -> Path:
        return self.root / f"{self.key}.json"

    def array_path(self, name: str) -> Path:
        return self.root / f"{self.key}.{name}.npy"

    def open(self) -> OpenEntry | None:
        """The entry with every file verified; ``None`` when it has no manifest (not built, or a build
        that never finished). Anything else that does not match raises :class:`DamagedCache`."""
        try:
            text = self.manifest.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise DamagedCache(self.manifest, f"unreadable: {err}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise DamagedCache(self.manifest, f"not valid JSON: {err}") from None
        if not isinstance(doc, dict) or doc.get("sha256") != _manifest_sha256(doc):
            raise DamagedCache(self.manifest, "its checksum does not match its contents")
        expected = {"format": self.format, "version": self.version, "key": self.key}
        found = {k: doc.get(k) for k in expected}
        if found != expected:
            raise DamagedCache(self.manifest, f"it describes {found}, not {expected}")
        try:
            arrays = {name: self._open_array(name, spec) for name, spec in doc["arrays"].items()}
            return OpenEntry(self.manifest, arrays, dict(doc["meta"]))
        except (KeyError, TypeError, AttributeError) as err:
            raise DamagedCache(self.manifest, f"malformed manifest ({type(err).__name__}: {err})") from None

    def _open_array(self, name: str, spec: Mapping[str, Any]) -> np.ndarray:
        path = self.array_path(name)
        if not path.is_file():
            raise DamagedCache(path, "the file is missing")
        if hash_files([path]) != spec["sha256"]:
            raise DamagedCache(path, "its SHA-256 is not the one recorded when it was written")
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DamagedCache(path, f"not a readable .npy file: {err}") from None
        if array.dtype.name != spec["dtype"] or list(array.shape) != list(spec["shape"]):
            raise DamagedCache(
                path, f"it holds {array.dtype.name} {list(array.shape)}, the manifest says "
                f"{spec['dtype']} {spec['shape']}"
            )  # fmt: skip
        return array

    def remove(self) -> None:
        """Delete the entry, manifest first, so that no one trusts what is left of it."""
        with _writing(self.root):
            self.manifest.unlink(missing_ok=True)
            for path in self.root.glob(f"{self.key}.*.npy"):
                path.unlink(missing_ok=True)


@contextmanager
def _writing(root: Path) -> Iterator[None]:
    """Turns a failed write into a DataError that names the cache folder and the way out."""
    try:
        yield
    except OSError as err:
        raise DataError(
            f"cannot write the cache in {root} ({err}); choose a writable folder "
            "(--cache-dir DIR, or RNNLAB_DATA) or train without the cache (--no-cache)"
        ) from err


class EntryWriter:
    """Stages the arrays of a new entry under temporary names; :meth:`commit` moves them into place.

    Temporary names carry the host name and process id, so builders on several machines sharing a
    cache folder (one per machine under torchrun, see ``rnnlab.train.distributed.build_once``)
    never write the same file.
    """

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry
        self._suffix = f"part-{socket.gethostname()}-{os.getpid()}"
        self._staged: dict[str, tuple[Path, dict[str, Any]]] = {}

    def _temporary(self, path: Path) -> Path:
        return path.with_name(f"{path.name}.{self._suffix}")

    def add(self, name: str, chunks: Iterable[np.ndarray], dtype: np.dtype[Any]) -> int:
        """Stream the 1-D integer ``chunks`` into the array ``name`` stored as ``dtype``; its length.

        The values must fit ``dtype``. Nothing holds the whole array: chunks are appended to a raw
        file, which is then copied behind a .npy header (no memory map, so neither anonymous memory
        nor mapped page cache grows with the array).
        """
        dtype = np.dtype(dtype).newbyteorder("<")
        staged = self._temporary(self.entry.array_path(name))
        raw = staged.with_name(staged.name + ".raw")
        self._staged[name] = (staged, {})  # from here on, discard() removes it
        with _writing(self.entry.root):
            self.entry.root.mkdir(parents=True, exist_ok=True)
            try:
                with raw.open("wb") as fh:
                    for chunk in chunks:
                        np.asarray(chunk).astype(dtype, copy=False).tofile(fh)
                n = raw.stat().st_size // dtype.itemsize
                header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,)}
                with staged.open("wb") as out, raw.open("rb") as src:
                    np.lib.format.write_array_header_1_0(out, header)
                    shutil.copyfileobj(src, out, _COPY_BYTES)
            finally:
                raw.unlink(missing_ok=True)
            spec = {
                "file": self.entry.array_path(name).name,
                "dtype": dtype.name,
                "shape": [int(n)],
                "sha256": hash_files([staged]),
            }
        self._staged[name] = (staged, spec)
        return int(n)

    def commit(self, meta: Mapping[str, Any]) -> None:
        """Move the arrays into place, then write the manifest: from now on the entry exists."""
        entry = self.entry
        doc: dict[str, Any] = {"format": entry.format, "version": entry.version, "key": entry.key}
        doc["arrays"] = {name: spec for name, (_, spec) in self._staged.items()}
        doc["meta"] = dict(meta)
        doc["sha256"] = _manifest_sha256(doc)
        with _writing(entry.root):
            entry.root.mkdir(parents=True, exist_ok=True)
            for name, (staged, _) in self._staged.items():
                os.replace(staged, entry.array_path(name))
            self._staged.clear()
            tmp = self._temporary(entry.manifest)
            tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, entry.manifest)

    def discard(self) -> None:
        """Remove whatever was staged and not committed (a failed or interrupted build)."""
        for staged, _ in self._staged.values():
            staged.unlink(missing_ok=True)
        self._staged.clear()


def open_or_build(
    entry: CacheEntry, build: Callable[[EntryWriter], Mapping[str, Any]]
) -> tuple[OpenEntry, bool]:
    """The entry, opened (``True``: it was there) or built now (``False``).

    ``build(writer)`` stages the arrays with ``writer.add`` and returns the metadata to record.
    A damaged entry is reported with a warning that names the file, removed and built again; one
    that is damaged again right after being written raises :class:`DamagedCache`.
    """
    try:
        found = entry.open()
    except DamagedCache as damage:
        warnings.warn(f"{damage.path}: damaged cache file ({damage.reason}); building it again", stacklevel=2)
        entry.remove()
        found = None
    if found is not None:
        return found, True
    writer = EntryWriter(entry)
    try:
        writer.commit(build(writer))
    finally:
        writer.discard()
    try:
        built = entry.open()
    except DamagedCache as damage:
        raise DamagedCache(
            damage.path,
            f"{damage.reason}, right after it was written",
            f"the folder {entry.root} does not keep what is written to it (full disk? another process "
            "deleting it?); choose another one with --cache-dir or train without the cache (--no-cache)",
        ) from None
    if built is None:
        raise DataError(
            f"{entry.manifest} vanished right after it was written; is another process clearing "
            f"{entry.root}? Choose another folder with --cache-dir or train without the cache (--no-cache)"
        )
    return built, False


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
    return content_key(
        {
            "format": CACHE_FORMAT,
            "version": CACHE_VERSION,
            "content": hash_files(_as_paths(paths)),
            "tokenizer": tokenizer.to_dict(),
            "vocab": vocab.fingerprint(),
            "encoding": encoding.lower(),
        }
    )


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

    Building streams the files chunk by chunk; the finished entry (``<key>.ids.npy`` and its manifest
    ``<key>.json``) is moved into place atomically, so an interrupted build leaves nothing that looks
    valid, and a damaged one is rebuilt (see :func:`open_or_build`).
    Several processes: build it on one per machine first, as
    ``rnnlab.train.distributed.build_once(world, lambda: token_cache(...))`` does.
    """
    files = _as_paths(paths)
    tokenizer = tokenizer or CharTokenizer()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    entry = CacheEntry(root, cache_key(files, tokenizer, vocab, encoding), CACHE_FORMAT, CACHE_VERSION)
    dtype = ids_dtype(vocab)

    def build(writer: EntryWriter) -> dict[str, Any]:
        tokens = iter_file_tokens(files, tokenizer, encoding, chunk_bytes, progress)
        n_tokens = writer.add("ids", (vocab.encode(chunk, dtype=dtype) for chunk in tokens), dtype)
        if n_tokens == 0:
            raise DataError(f"{', '.join(map(str, files))}: no tokens; pass a non-empty text")
        return {
            "n_tokens": n_tokens,
            "sources": [{"path": str(p), "bytes": p.stat().st_size} for p in files],
            "tokenizer": tokenizer.to_dict(),
            "vocab": vocab.fingerprint(),
            "encoding": encoding,
        }

    opened, reused = open_or_build(entry, build)
    return TokenCache(ids=opened.arrays["ids"], path=entry.array_path("ids"), key=entry.key, reused=reused)
