"""What a language-model run trains on: a corpus file → lines, a held-out split, a vocabulary, id arrays.

Reading goes through :func:`rnnlab.data.load_corpus`, so every input the data pipeline knows works
here: plain text (one sequence per non-blank line), one poem per line, chinese-poetry JSON/JSONL,
``tang.npz`` and directories of them. Each line (or poem) becomes one sequence of token ids
without special tokens; the samplers add ``<bos>``/``<eos>``/padding.

``rnnlab train`` reads it through the cache of :mod:`rnnlab.train.corpus_cache` (once per
machine and data set), unless ``--no-cache``.

The held-out split is chosen by a hash of each line's text (:func:`rnnlab.data.corpus.hash_unit`),
so it depends neither on the line order nor on the model: the n-gram baselines of ``rnnlab eval``
call :func:`split_lines` and see exactly the lines a neural run was validated on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnnlab.data.corpus import PoemCorpus, hash_unit, load_corpus
from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError

# Token ids of one line: int64 when encoded in memory, uint16/int32 views of the memory-mapped
# cache (rnnlab.train.corpus_cache) otherwise; the samplers widen them to int64 batch by batch.
IdArray = npt.NDArray[np.integer[Any]]
SPLIT_SALT = "rnnlab-lm-valid"


@dataclass
class LMCorpus:
    """Id sequences of the training and held-out lines, and the vocabulary built on the training ones."""

    train: list[IdArray]
    valid: list[IdArray]
    vocab: Vocab

    @property
    def n_train_tokens(self) -> int:
        return sum(len(s) for s in self.train)


def read_lines(path: str | Path) -> list[str]:
    """The sequences of a corpus: poem texts for poem corpora, non-blank stripped lines for plain text."""
    corpus = load_corpus(path)
    if isinstance(corpus, PoemCorpus):
        lines = corpus.texts()
    else:
        lines = [line.strip() for line in corpus.text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise DataError(f"{path} holds no text; give a file with at least two non-blank lines")
    return lines


def is_held_out(line: str, valid_fraction: float) -> bool:
    """Whether ``line`` belongs to the held-out split (a hash of its text below ``valid_fraction``)."""
    return hash_unit(line, SPLIT_SALT) < valid_fraction


def split_lines(lines: Sequence[str], valid_fraction: float) -> tuple[list[str], list[str]]:
    """(train, valid) lines; at least one line on each side, so tiny corpora still validate."""
    if not 0 < valid_fraction < 1:
        raise DataError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    if len(lines) < 2:
        raise DataError("a corpus needs at least two lines: one to train on and one to validate on")
    train = [line for line in lines if not is_held_out(line, valid_fraction)]
    valid = [line for line in lines if is_held_out(line, valid_fraction)]
    if not valid:
        train, valid = train[:-1], train[-1:]
    if not train:
        train, valid = valid[:-1], valid[-1:]
    return train, valid


def build_vocab(lines: Sequence[str], min_freq: int = 1) -> Vocab:
    """A character vocabulary of ``lines`` with the reserved ``<unk> <pad> <bos> <eos>`` first."""
    return Vocab.build((ch for line in lines for ch in line), min_freq=min_freq)


def encode(vocab: Vocab, line: str) -> IdArray:
    """Character ids of ``line``; characters outside the vocabulary become ``<unk>``."""
    return np.asarray(vocab.encode(line), dtype=np.int64)


def decode(vocab: Vocab, ids: Sequence[int] | IdArray) -> str:
    return "".join(vocab.to_tokens([int(i) for i in ids]))


def load_lm_corpus(
    path: str | Path, valid_fraction: float = 0.05, vocab: Vocab | None = None, min_freq: int = 1
) -> LMCorpus:
    """Read ``path``, split it, build (or reuse) the vocabulary and encode both splits, in memory.

    :func:`rnnlab.train.corpus_cache.cached_lm_corpus` gives the same, cached on disk and memory-mapped.
    """
    train, valid = split_lines(read_lines(path), valid_fraction)
    vocab = vocab or build_vocab(train, min_freq)
    return LMCorpus([encode(vocab, s) for s in train], [encode(vocab, s) for s in valid], vocab)


def encode_all(path: str | Path, vocab: Vocab) -> list[IdArray]:
    """Every line of ``path`` as ids under an existing vocabulary (evaluation on a separate file)."""
    return [encode(vocab, s) for s in read_lines(path)]
