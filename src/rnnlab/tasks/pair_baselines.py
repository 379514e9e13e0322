"""Baselines that a sequence-to-sequence model must beat, on the same pair files.

* **copy**: the prediction is the source itself (for couplets: right length, right marks, no
  antithesis at all — the floor for chrF and BLEU that sharing characters with the upper line gives).
* **retrieval**: the target of the most similar training source — cosine similarity of TF-IDF
  vectors of character unigrams and bigrams (scikit-learn), among training sources of the same
  length and punctuation when there is one (a couplet must keep its length), else among all.
* **language model**: a decoder-only model prompted with the source — for couplets the bundled
  poet (``rnnlab/assets/tang-lstm``) reads ``<start> 上联 ，`` and continues with as many characters
  as the upper line has, under the same couplet constraint as the encoder–decoder (length, no
  character repeated at the same position), greedily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnlab.errors import DataError
from rnnlab.tasks.pair_metrics import mark_positions
from rnnlab.tasks.pairs import Pair


def copy_baseline(sources: Sequence[str]) -> list[str]:
    """Each source as its own prediction."""
    return list(sources)


class Retrieval:
    """The target of the nearest training source (see the module docstring)."""

    def __init__(self, train: Sequence[Pair], chunk: int = 512) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        pairs = [p for p in train if p.target is not None]
        if not pairs:
            raise DataError("retrieval needs training pairs with targets; the training file has none")
        self.targets = [p.target or "" for p in pairs]
        self.shape_ids: dict[str, int] = {}  # length and marks of a source, as a small int
        self.shapes = np.array([self._shape(p.source) for p in pairs], dtype=np.int64)
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([p.source for p in pairs])  # (N, F), rows L2-normalised
        self.chunk = chunk

    def _shape(self, text: str) -> int:
        return self.shape_ids.setdefault(_shape_key(text), len(self.shape_ids))

    def __call__(self, sources: Sequence[str]) -> list[str]:
        out: list[str] = []
        for start in range(0, len(sources), self.chunk):
            part = list(sources[start : start + self.chunk])
            similarity = (self.vectorizer.transform(part) @ self.matrix.T).toarray()  # (n, N) cosines
            for row, source in zip(similarity, part, strict=True):
                same = self.shapes == self.shape_ids.get(_shape_key(source), -1)
                if same.any():
                    row = np.where(same, row, -1.0)
                out.append(self.targets[int(np.argmax(row))])
        return out


def _shape_key(text: str) -> str:
    """``"7"`` for seven characters, ``"11:4，"`` for eleven with a comma at position 4."""
    return ":".join([str(len(text)), *(f"{i}{c}" for i, c in mark_positions(text))])


def lm_couplets(sources: Sequence[str], poet: Any = None, *, no_repeat: bool = True) -> list[str]:
    """Lower lines from a character language model prompted with each upper line (greedy)."""
    from rnnlab.generate.couplets import MARKS, CoupletConstraint, CoupletVocab
    from rnnlab.generate.decoding import DecodeConfig, DecodeJob, decode
    from rnnlab.poet import Poet

    poet = poet if poet is not None else Poet.load()
    vocab = poet.vocab
    tables = CoupletVocab(vocab)
    comma = vocab["，"]
    jobs = []
    for source in sources:
        upper = [vocab[c] for c in source]
        marks = {i: vocab[c] for i, c in enumerate(source) if c in MARKS}
        constraint = CoupletConstraint(upper, tables, marks, no_repeat=no_repeat)
        config = DecodeConfig(max_new_tokens=len(source), temperature=0.0)
        jobs.append(DecodeJob([poet.start_id, *upper, comma], config, [constraint]))
    out: list[str] = []
    for start in range(0, len(jobs), 256):  # bounded batches: a batch's state is copied as jobs join
        part = jobs[start : start + 256]
        decode(poet.model, part)
        out += ["".join(vocab.to_tokens(job.outputs()[0])) for job in part]
    return out
