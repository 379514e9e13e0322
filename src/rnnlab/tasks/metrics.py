"""Task metrics from one confusion matrix: accuracy, per-class and macro F1, F1 of tag groups.

For K classes, M[i, j] counts the examples (or tagged characters) of gold class i predicted as j.

    accuracy    = Σ_i M_ii / Σ M
    precision_c = M_cc / Σ_i M_ic        recall_c = M_cc / Σ_j M_cj        F1_c = 2PR / (P + R)
    macro-F1    = mean of F1_c over the classes that occur in the gold labels or the predictions
                  (scikit-learn's ``f1_score(average="macro")``; a class never seen counts nothing)

The F1 of a *group* of tags G is that of the binary decision "tag ∈ G": for punctuation restoration,
the **break F1** takes G = every mark (did the model put *a* mark where the text has one?) and the
**sentence-end F1** G = {。？！}. Counts are sums, so matrices of batches or of ranks simply add up
(:meth:`Confusion.counts` / :meth:`Confusion.from_counts`, used by validation during training).
Positions whose gold tag is unknown (``None``) are never counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

OUTSIDE = "O"  # the tag of "no mark here" in punctuation restoration: break F1 is measured against it
SENTENCE_END = frozenset("。？！")
# A character is *ambiguous* (polyphonic, for tones) when its minority tags make up at least this
# share of its labelled occurrences in the training data, and it occurs at least this often.
AMBIGUOUS_MIN_SHARE = 0.05
AMBIGUOUS_MIN_COUNT = 20


@dataclass
class Confusion:
    """A K × K confusion matrix over ``labels`` (rows gold, columns predicted)."""

    labels: list[str]
    matrix: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, labels: Sequence[str]) -> Confusion:
        return cls(list(labels), np.zeros((len(labels), len(labels)), dtype=np.int64))

    @classmethod
    def of(cls, gold: Iterable[int], pred: Iterable[int], labels: Sequence[str]) -> Confusion:
        """From aligned gold and predicted class ids."""
        c = cls.empty(labels)
        g, p = np.fromiter(gold, dtype=np.int64), np.fromiter(pred, dtype=np.int64)
        np.add.at(c.matrix, (g, p), 1)
        return c

    def counts(self) -> dict[str, float]:
        """The non-zero cells as summable counts ``{"cm/i/j": n}``."""
        rows, cols = np.nonzero(self.matrix)
        return {f"cm/{i}/{j}": float(self.matrix[i, j]) for i, j in zip(rows, cols, strict=True)}

    @classmethod
    def from_counts(cls, counts: Mapping[str, float], labels: Sequence[str]) -> Confusion:
        c = cls.empty(labels)
        for key, value in counts.items():
            if key.startswith("cm/"):
                _, i, j = key.split("/")
                c.matrix[int(i), int(j)] += int(value)
        return c

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.matrix)) / self.n if self.n else float("nan")

    def f1_per_class(self) -> dict[str, float]:
        """F1_c of every class that occurs in the gold labels or the predictions."""
        tp = np.diag(self.matrix).astype(float)
        gold, pred = self.matrix.sum(1), self.matrix.sum(0)
        out = {}
        for c, label in enumerate(self.labels):
            if gold[c] or pred[c]:
                out[label] = 2 * tp[c] / (gold[c] + pred[c])  # = 2PR / (P + R)
        return out

    @property
    def macro_f1(self) -> float:
        scores = list(self.f1_per_class().values())
        return float(np.mean(scores)) if scores else float("nan")

    def group_f1(self, group: Iterable[str]) -> float:
        """F1 of the binary decision "tag ∈ group" (e.g. break F1: group = every mark)."""
        members = np.array([label in set(group) for label in self.labels])
        tp = self.matrix[np.ix_(members, members)].sum()
        gold, pred = self.matrix[members].sum(), self.matrix[:, members].sum()
        return 2 * float(tp) / (gold + pred) if gold + pred else float("nan")


def classification_report(confusion: Confusion) -> dict[str, Any]:
    """accuracy, macro-F1, per-class F1 and the count of a classifier's predictions."""
    return {
        "n": confusion.n,
        "accuracy": confusion.accuracy,
        "macro_f1": confusion.macro_f1,
        "per_class_f1": confusion.f1_per_class(),
    }


def tagging_report(
    confusion: Confusion, ambiguous: Confusion | None = None, ambiguous_chars: int = 0
) -> dict[str, Any]:
    """accuracy, macro-F1, per-tag F1; break and sentence-end F1 when the tags include ``O``;
    accuracy on the ambiguous characters when their confusion matrix is given."""
    report = classification_report(confusion)
    report["per_tag_f1"] = report.pop("per_class_f1")
    if OUTSIDE in confusion.labels:
        report["break_f1"] = confusion.group_f1(set(confusion.labels) - {OUTSIDE})
        ends = SENTENCE_END & set(confusion.labels)
        if ends:
            report["sentence_end_f1"] = confusion.group_f1(ends)
    if ambiguous is not None:
        report["ambiguous_accuracy"] = ambiguous.accuracy
        report["ambiguous_n"] = ambiguous.n
        report["ambiguous_chars"] = ambiguous_chars
    return report


def ambiguous_characters(
    texts: Sequence[str],
    tags: Sequence[Sequence[str | None]],
    min_share: float = AMBIGUOUS_MIN_SHARE,
    min_count: int = AMBIGUOUS_MIN_COUNT,
) -> set[str]:
    """Characters whose labelled occurrences take ≥ 2 tags, the minority ones ≥ ``min_share`` of them
    (among ≥ ``min_count`` occurrences): the polyphonic characters of the tone data."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for text, row in zip(texts, tags, strict=True):
        for ch, tag in zip(text, row, strict=True):
            if tag is not None:
                seen[ch][tag] += 1
    out = set()
    for ch, counter in seen.items():
        total = sum(counter.values())
        if total >= min_count and 1 - max(counter.values()) / total >= min_share:
            out.add(ch)
    return out


def tag_confusions(
    texts: Sequence[str],
    gold: Sequence[Sequence[str | None]],
    pred: Sequence[Sequence[str]],
    labels: Sequence[str],
    ambiguous: set[str] | None = None,
) -> tuple[Confusion, Confusion | None]:
    """Confusion matrices over every labelled character, and over the ambiguous ones."""
    index = {t: i for i, t in enumerate(labels)}
    g_all: list[int] = []
    p_all: list[int] = []
    g_amb: list[int] = []
    p_amb: list[int] = []
    for text, g_row, p_row in zip(texts, gold, pred, strict=True):
        for ch, g, p in zip(text, g_row, p_row, strict=True):
            if g is None:
                continue
            g_all.append(index[g])
            p_all.append(index[p])
            if ambiguous and ch in ambiguous:
                g_amb.append(index[g])
                p_amb.append(index[p])
    amb = Confusion.of(g_amb, p_amb, labels) if ambiguous is not None else None
    return Confusion.of(g_all, p_all, labels), amb
