"""Honest baselines, fitted on a run's training examples and scored like the model.

Classification (text → label):

* ``majority``: always the most frequent training label.
* ``naive-bayes``: multinomial Naive Bayes over character 1–2-gram counts (scikit-learn).
* ``logreg``: logistic regression over TF-IDF-weighted character 1–3-grams (scikit-learn), class
  weights "balanced" when the run used them.

Tagging (text → one tag per character; positions whose gold tag is ``None`` are skipped when
fitting and never scored):

* ``majority``: always the most frequent training tag.
* ``most-frequent-tag``: each character's most frequent training tag (the majority tag for a
  character never seen labelled). For tones this is right on ≈99% of characters and only fails
  on the polyphonic ones, which is why the polyphone accuracy is the number to watch.
* ``hmm``: a first-order hidden Markov model, tags hidden, characters observed:
  p(y, x) = π(y_1) Π_t A(y_{t−1}, y_t) Π_t B(y_t, x_t), counted from the training data with
  add-λ smoothing (an unseen character gets the smoothed mass of "unknown"), decoded exactly by
  Viterbi in log space. Characters seen only at unlabelled positions (punctuation in the tone
  data) are transparent: the chain passes over them, as it did in training.
* ``ngram``: the tag most often seen with the same character *n*-gram window around the position,
  backing off from the widest window seen in training to the character alone, then to the
  majority tag; the windows include right context (what follows decides a punctuation mark), from
  (x_{t−2} … x_{t+2}) down to x_t. This is the n-gram punctuation baseline; it is as usable for
  tones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from rnnlab.errors import DataError

Tags = Sequence[str | None]


class ClassBaseline(Protocol):
    name: str

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> ClassBaseline: ...

    def predict(self, texts: Sequence[str]) -> list[str]: ...


class TagBaseline(Protocol):
    name: str

    def fit(self, texts: Sequence[str], tags: Sequence[Tags]) -> TagBaseline: ...

    def predict(self, texts: Sequence[str]) -> list[list[str]]: ...


# ---------------------------------------------------------------------------------------------
# Classification.


class MajorityClass:
    name = "majority"

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> MajorityClass:
        self.label = Counter(labels).most_common(1)[0][0]
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.label] * len(texts)


class SklearnTextClassifier:
    """A scikit-learn pipeline over character n-grams (imported lazily: it is only needed here)."""

    def __init__(self, name: str, *, balanced: bool = False) -> None:
        if name not in ("naive-bayes", "logreg"):
            raise ValueError(f"unknown baseline {name!r}")
        self.name, self.balanced = name, balanced

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SklearnTextClassifier:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline

        if self.name == "naive-bayes":
            self.pipeline = make_pipeline(
                CountVectorizer(analyzer="char", ngram_range=(1, 2), min_df=2), MultinomialNB(alpha=0.1)
            )
        else:
            self.pipeline = make_pipeline(
                TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True),
                LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced" if self.balanced else None),
            )
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(y) for y in self.pipeline.predict(list(texts))]


def class_baselines(balanced: bool = False) -> list[ClassBaseline]:
    return [
        MajorityClass(),
        SklearnTextClassifier("naive-bayes"),
        SklearnTextClassifier("logreg", balanced=balanced),
    ]


# ---------------------------------------------------------------------------------------------
# Tagging.


def _labelled(texts: Sequence[str], tags: Sequence[Tags]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in tags:
        counts.update(t for t in row if t is not None)
    if not counts:
        raise DataError("the training examples have no known tags (all null); nothing to fit")
    return counts


class MajorityTag:
    name = "majority"

    def fit(self, texts: Sequence[str], tags: Sequence[Tags]) -> MajorityTag:
        self.tag = _labelled(texts, tags).most_common(1)[0][0]
        return self

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        return [[self.tag] * len(text) for text in texts]


class MostFrequentTag:
    name = "most-frequent-tag"

    def fit(self, texts: Sequence[str], tags: Sequence[Tags]) -> MostFrequentTag:
        self.default = _labelled(texts, tags).most_common(1)[0][0]
        per_char: dict[str, Counter[str]] = defaultdict(Counter)
        for text, row in zip(texts, tags, strict=True):
            for ch, tag in zip(text, row, strict=True):
                if tag is not None:
                    per_char[ch][tag] += 1
        self.table = {ch: c.most_common(1)[0][0] for ch, c in per_char.items()}
        return self

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        return [[self.table.get(ch, self.default) for ch in text] for text in texts]


class HMMTagger:
    """First-order HMM with add-λ smoothing and Viterbi decoding; see the module docstring."""

    name = "hmm"

    def __init__(self, smoothing: float = 0.1) -> None:
        self.smoothing = smoothing

    def fit(self, texts: Sequence[str], tags: Sequence[Tags]) -> HMMTagger:
        counts = _labelled(texts, tags)
        self.tags = sorted(counts)
        self.default = counts.most_common(1)[0][0]
        index = {t: i for i, t in enumerate(self.tags)}
        k, lam = len(self.tags), self.smoothing
        start, trans = np.full(k, lam), np.full((k, k), lam)
        emit: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(k))
        seen_unlabelled: set[str] = set()
        for text, row in zip(texts, tags, strict=True):
            prev = None
            for ch, tag in zip(text, row, strict=True):
                if tag is None:
                    seen_unlabelled.add(ch)
                    continue
                j = index[tag]
                emit[ch][j] += 1
                if prev is None:
                    start[j] += 1
                else:
                    trans[prev, j] += 1
                prev = j
        self.transparent = seen_unlabelled - set(emit)
        chars = sorted(emit)
        table = np.stack([emit[c] for c in chars]) + lam  # (V, K)
        totals = table.sum(0) + lam  # one smoothed pseudo-character: "unknown"
        self.log_emit = {c: np.log(table[i] / totals) for i, c in enumerate(chars)}
        self.log_unknown = np.log(lam / totals)
        self.log_start = np.log(start / start.sum())
        self.log_trans = np.log(trans / trans.sum(1, keepdims=True))
        return self

    def _viterbi(self, chars: str) -> list[int]:
        """arg max_y log p(y, x) over the tags of ``chars`` (none of them transparent)."""
        steps = len(chars)
        delta = self.log_start + self.log_emit.get(chars[0], self.log_unknown)
        back = np.zeros((steps, len(self.tags)), dtype=np.int64)
        for t in range(1, steps):
            scores = delta[:, None] + self.log_trans  # (K_from, K_to)
            back[t] = scores.argmax(0)
            delta = scores.max(0) + self.log_emit.get(chars[t], self.log_unknown)
        path = [int(delta.argmax())]
        for t in range(steps - 1, 0, -1):
            path.append(int(back[t, path[-1]]))
        return path[::-1]

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        out = []
        for text in texts:
            keep = [i for i, ch in enumerate(text) if ch not in self.transparent]
            row = [self.default] * len(text)
            if keep:
                for i, j in zip(keep, self._viterbi("".join(text[i] for i in keep)), strict=True):
                    row[i] = self.tags[j]
            out.append(row)
        return out


class NgramTagger:
    """The tag most often seen with the widest matching character window; see the module docstring.

    Counting is vectorised: each window of character ids is one fixed-width byte string, so
    ``np.unique`` counts (window, tag) pairs and ``np.searchsorted`` looks windows up.
    """

    name = "ngram"
    # (left, right) context widths, widest first: the back-off order.
    WINDOWS: tuple[tuple[int, int], ...] = ((2, 2), (1, 2), (1, 1), (0, 1), (1, 0), (0, 0))
    PAD = 2  # the widest context on either side

    def __init__(self, min_count: int = 2) -> None:
        self.min_count = min_count

    def _stream(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """All texts as one id stream, PAD zeros around each, and the stream index of every character."""
        pieces, where, offset = [], [], 0
        pad = np.zeros(self.PAD, dtype=np.int32)
        for text in texts:
            ids = np.fromiter((self.ids.get(ch, -1) for ch in text), dtype=np.int32, count=len(text))
            pieces += [pad, ids, pad]
            where.append(offset + self.PAD + np.arange(len(text)))
            offset += len(text) + 2 * self.PAD
        return np.concatenate(pieces), np.concatenate(where) if where else np.zeros(0, dtype=np.int64)

    @staticmethod
    def _windows(stream: np.ndarray, at: np.ndarray, left: int, right: int) -> np.ndarray:
        """The windows stream[i − left … i + right] for i in ``at``, one fixed-width byte string each."""
        rows = np.stack([stream[at + d] for d in range(-left, right + 1)], axis=1)
        return (
            np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        )

    def fit(self, texts: Sequence[str], tags: Sequence[Tags]) -> NgramTagger:
        counts = _labelled(texts, tags)
        self.tags = sorted(counts)
        self.default = counts.most_common(1)[0][0]
        self.ids = {ch: i + 1 for i, ch in enumerate(sorted({ch for text in texts for ch in text}))}
        index = {t: i for i, t in enumerate(self.tags)}
        stream, at = self._stream(texts)
        flat = [t for row in tags for t in row]
        known = np.array([t is not None for t in flat], dtype=bool)
        tag_ids = np.array([index[t] for t in flat if t is not None], dtype=np.int64)
        at = at[known]
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []
        k = len(self.tags)
        for left, right in self.WINDOWS:
            keys, inverse = np.unique(self._windows(stream, at, left, right), return_inverse=True)
            table = np.zeros((len(keys), k), dtype=np.int64)
            np.add.at(table, (inverse.ravel(), tag_ids), 1)
            often = table.sum(1) >= self.min_count
            self.tables.append((keys[often], table[often].argmax(1)))
        return self

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        stream, at = self._stream(texts)
        best = np.full(len(at), -1, dtype=np.int64)
        for (left, right), (keys, tag_of) in zip(self.WINDOWS, self.tables, strict=True):
            todo = np.flatnonzero(best < 0)
            if not len(todo) or not len(keys):
                continue
            windows = self._windows(stream, at[todo], left, right)
            pos = np.minimum(np.searchsorted(keys, windows), len(keys) - 1)
            found = keys[pos] == windows
            best[todo[found]] = tag_of[pos[found]]
        names = [*self.tags, self.default]  # index −1: nothing matched, the majority tag
        out, start = [], 0
        for text in texts:
            out.append([names[i] for i in best[start : start + len(text)]])
            start += len(text)
        return out


def tag_baselines() -> list[TagBaseline]:
    return [MajorityTag(), MostFrequentTag(), HMMTagger(), NgramTagger()]
