"""The corpus a language model is trained on: lines of text → a character vocabulary and id arrays.

This is the one place the trainer reads data. It is a deliberately small stand-in until
``rnnlab.data`` (tokenizers, ``Vocab``, ``load_corpus``, deterministic splits) lands; switching
means replacing :func:`load_lm_corpus` and :class:`CharVocab` here and nothing else.

A corpus is a list of *lines* (a poem per line, or a line of prose). Each line becomes one
sequence of character ids without special tokens; the samplers add ``<bos>``/``<eos>``/padding.
The held-out split is chosen by a hash of each line, so it does not depend on the line order and
is the same for every run and every model trained on the same file.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rnnlab.errors import CheckpointError, DataError

SPECIALS: tuple[str, ...] = ("<unk>", "<pad>", "<bos>", "<eos>")
VOCAB_FORMAT = "rnnlab-char-vocab"
IdArray = npt.NDArray[np.int64]


class CharVocab:
    """Characters ↔ ids, the reserved tokens ``<unk> <pad> <bos> <eos>`` first (ids 0–3)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise CheckpointError(f"a vocabulary must start with {list(SPECIALS)}, got {list(tokens[:4])}")
        self.tokens = list(tokens)
        self._ids = {t: i for i, t in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise CheckpointError("the vocabulary lists a token twice; rebuild it from the corpus")

    unk_id, pad_id, bos_id, eos_id = 0, 1, 2, 3

    @classmethod
    def build(cls, lines: Iterable[str]) -> CharVocab:
        """Every character of ``lines``, most frequent first (ties by code point), after the specials."""
        counts = Counter(ch for line in lines for ch in line)
        ordered = sorted(counts, key=lambda ch: (-counts[ch], ch))
        return cls([*SPECIALS, *ordered])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> IdArray:
        """Character ids of ``text``; unseen characters map to ``<unk>``."""
        return np.fromiter((self._ids.get(ch, self.unk_id) for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.tokens[i] for i in ids)

    def to_dict(self) -> dict[str, Any]:
        return {"format": VOCAB_FORMAT, "tokens": self.tokens}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> CharVocab:
        if not isinstance(data, dict) or data.get("format") != VOCAB_FORMAT or "tokens" not in data:
            raise CheckpointError(
                f"{source}: not a vocabulary written by rnnlab train; use the run's vocab.json"
            )
        return cls(data["tokens"])

    def save(self, path: Path) -> None:
        """Write ``vocab.json`` atomically (temporary file + rename)."""
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> CharVocab:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path} is missing; a run folder keeps its vocabulary there") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(
                f"{path} is corrupt ({err}); restore it from the run it came from"
            ) from None
        return cls.from_dict(data, source=str(path))


@dataclass
class LMCorpus:
    """Id sequences of the training and held-out lines, and the vocabulary built on the training ones."""

    train: list[IdArray]
    valid: list[IdArray]
    vocab: CharVocab

    @property
    def n_train_tokens(self) -> int:
        return sum(len(s) for s in self.train)


def read_lines(path: str | Path) -> list[str]:
    """Non-blank lines of a UTF-8 text file, stripped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file; pass --data with a UTF-8 text file (one poem or line a line)"
        ) from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); convert it, e.g. iconv -t UTF-8") from None
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise DataError(f"{path} holds no text; give a file with at least two non-blank lines")
    return lines


def is_held_out(line: str, valid_fraction: float) -> bool:
    """Whether ``line`` belongs to the held-out split: CRC-32 of its text, scaled to [0, 1)."""
    return zlib.crc32(line.encode("utf-8")) / 2**32 < valid_fraction


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


def load_lm_corpus(
    path: str | Path, valid_fraction: float = 0.05, vocab: CharVocab | None = None
) -> LMCorpus:
    """Read ``path``, split it, build (or reuse) the vocabulary and encode both splits."""
    train, valid = split_lines(read_lines(path), valid_fraction)
    vocab = vocab or CharVocab.build(train)
    return LMCorpus([vocab.encode(s) for s in train], [vocab.encode(s) for s in valid], vocab)


def encode_all(path: str | Path, vocab: CharVocab) -> list[IdArray]:
    """Every line of ``path`` as ids under an existing vocabulary (evaluation on a separate file)."""
    return [vocab.encode(s) for s in read_lines(path)]
