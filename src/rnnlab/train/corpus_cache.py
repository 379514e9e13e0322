"""A language-model corpus cached on disk: its vocabulary and the encoded lines of both splits.

:func:`cached_lm_corpus` returns what :func:`rnnlab.train.corpus.load_lm_corpus` returns — the
training and held-out lines as id arrays and the vocabulary built on the training lines — but
reads, splits and encodes the corpus only the first time; afterwards it opens two entries of the
cache folder (``rnnlab.data.cache``: content keys, atomic writes, every file verified on opening)
and every line is a view of a memory-mapped file, so processes on one machine share its pages::

    vocabulary   key = H(corpus, split, min_freq)           <key>.json: the Vocab (manifest only)
    splits       key = H(corpus, split, vocab fingerprint)  <key>.json and, for s in train, valid:
                   <key>.s.ids.npy       the ids of all lines of split s, one after the other
                   <key>.s.offsets.npy   where each line starts: line i is ids[o[i]:o[i+1]]

``corpus`` is the SHA-256 of the bytes of every file ``load_corpus`` reads for the path (a
directory's files in order) and each file's detected kind; ``split`` is the held-out fraction and
the hash salt. Ids are stored as uint16 (int32 beyond 65,536 ids). The encoded lines depend only
on the id mapping, so the splits entry is keyed by the vocabulary's fingerprint: a resumed run,
which brings its own ``vocab.json``, finds the entry its first session wrote.

The keys also hold :data:`LM_CACHE_VERSION` and the rnnlab version, so a release that reads,
splits or encodes differently never serves ids cached by another; bump :data:`LM_CACHE_VERSION`
whenever ``read_lines``, ``split_lines``, ``build_vocab`` or ``encode`` change what they produce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import __version__
from rnnlab.data.cache import CacheEntry, EntryWriter, OpenEntry, content_key, ids_dtype, open_or_build
from rnnlab.data.corpus import corpus_files, detect_kind
from rnnlab.data.paths import cache_dir as default_cache_dir
from rnnlab.data.textio import hash_files
from rnnlab.data.vocab import Vocab
from rnnlab.train.corpus import SPLIT_SALT, IdArray, LMCorpus, build_vocab, read_lines, split_lines

LM_CACHE_VERSION = 1
VOCAB_FORMAT = "rnnlab.lm-corpus.vocab"
SPLITS_FORMAT = "rnnlab.lm-corpus.splits"
SPLITS = ("train", "valid")
_LINES_PER_CHUNK = 4096  # lines encoded per write while building


@dataclass(frozen=True)
class CachedCorpus:
    """An LM corpus and where it came from."""

    corpus: LMCorpus
    manifest: Path | None  # the splits entry's manifest; None when the corpus was read without the cache
    reused: bool  # True: opened from the cache, the corpus was neither read nor encoded


def corpus_identity(path: str | Path) -> dict[str, Any]:
    """What the lines of ``path`` depend on: the bytes of the files read and how each is read."""
    files = corpus_files(path)
    return {"content": hash_files(files), "kinds": [detect_kind(f) for f in files]}


def cached_lm_corpus(
    path: str | Path,
    valid_fraction: float = 0.05,
    *,
    vocab: Vocab | None = None,
    min_freq: int = 1,
    cache_dir: str | Path | None = None,
) -> CachedCorpus:
    """``load_lm_corpus(path, valid_fraction, vocab, min_freq)``, opened from ``cache_dir`` (default
    ``<data dir>/cache``) when there, else computed once and stored there.

    The lines are read-only views of the memory-mapped ids (uint16 or int32; the samplers widen
    them to int64 batch by batch), equal to the in-memory ones id for id. A damaged cache file is
    reported with a warning and rebuilt; an unwritable folder raises a DataError naming it.
    Several processes on a machine: call it on one first, as
    ``rnnlab.train.distributed.build_once(world, lambda: cached_lm_corpus(...))`` does.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    base = {
        "rnnlab": __version__,
        "version": LM_CACHE_VERSION,
        "corpus": corpus_identity(path),
        "split": {"salt": SPLIT_SALT, "valid_fraction": valid_fraction},
    }
    read: list[tuple[list[str], list[str]]] = []  # the split lines, read at most once

    def lines() -> tuple[list[str], list[str]]:
        if not read:
            read.append(split_lines(read_lines(path), valid_fraction))
        return read[0]

    vocab_reused = True
    if vocab is None:
        entry = _entry(root, VOCAB_FORMAT, {**base, "vocab": {"min_freq": min_freq}})
        opened, vocab_reused = open_or_build(
            entry, lambda _writer: {"vocab": build_vocab(lines()[0], min_freq).to_dict()}
        )
        vocab = Vocab.from_dict(opened.meta["vocab"], source=str(entry.manifest))
    ids_vocab = vocab
    entry = _entry(root, SPLITS_FORMAT, {**base, "vocab": ids_vocab.fingerprint()})
    opened, splits_reused = open_or_build(entry, lambda writer: _write_splits(writer, lines(), ids_vocab))
    corpus = LMCorpus(_lines(opened, "train"), _lines(opened, "valid"), ids_vocab)
    return CachedCorpus(corpus, entry.manifest, vocab_reused and splits_reused)


def _entry(root: Path, format: str, doc: Mapping[str, Any]) -> CacheEntry:
    return CacheEntry(root, content_key({"format": format, **doc}), format, LM_CACHE_VERSION)


def _write_splits(writer: EntryWriter, splits: Sequence[list[str]], vocab: Vocab) -> dict[str, Any]:
    """Stage the ids and line offsets of each split; the metadata to record."""
    dtype = ids_dtype(vocab)
    meta: dict[str, Any] = {"vocab": vocab.fingerprint(), "vocab_size": len(vocab)}
    for name, lines in zip(SPLITS, splits, strict=True):
        # A character vocabulary encodes joined lines to the concatenation of their encodings.
        chunks = (
            vocab.encode("".join(lines[i : i + _LINES_PER_CHUNK]), dtype=dtype)
            for i in range(0, len(lines), _LINES_PER_CHUNK)
        )
        n_ids = writer.add(f"{name}.ids", chunks, dtype)
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) for line in lines], out=offsets[1:])
        writer.add(f"{name}.offsets", [offsets], np.dtype(np.int64))
        meta[name] = {"lines": len(lines), "tokens": n_ids}
    return meta


def _lines(opened: OpenEntry, split: str) -> list[IdArray]:
    """The lines of ``split`` as views of its memory-mapped ids (plain ndarrays, nothing copied)."""
    ids = np.asarray(opened.arrays[f"{split}.ids"])
    bounds = opened.arrays[f"{split}.offsets"].tolist()
    return [ids[a:b] for a, b in pairwise(bounds)]
