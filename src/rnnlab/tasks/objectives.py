"""One ``Objective`` per task model, so the one ``Trainer`` trains them all (``rnnlab.train.objective``).

Each reads a :class:`~rnnlab.data.sampling.Batch` from :class:`~rnnlab.data.buckets.BucketBatches`
(``x`` (T, B), ``lengths`` (B,), ``y`` the targets) and returns the summed loss with its count:

* classifier: Σ_i w_{y_i} · NLL_i over the B examples (count B);
* tagger: Σ NLL over the known tags (count: known tags), per-step softmax or CRF;
* multi-output: Σ_h w_h Σ NLL_h over each head's targets (count: real input steps).

Every batch starts fresh streams (whole examples), so there is no carried state: ``init_state``
returns None. Each objective also reports summable validation counts (``loss_with_counts``) and
turns their totals into accuracy and macro-F1 (``metrics_from_counts``), which the trainer records
beside the validation loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from torch import Tensor, nn

from rnnlab.data.buckets import IGNORE
from rnnlab.data.sampling import Batch
from rnnlab.models.classifier import SequenceClassifier
from rnnlab.models.multihead import MultiOutputModel
from rnnlab.models.tagger import SequenceTagger
from rnnlab.tasks.metrics import Confusion

M = TypeVar("M", SequenceClassifier, SequenceTagger, MultiOutputModel)


class _Stateless(Generic[M]):
    """Whole examples per batch: no recurrent state is carried between batches."""

    def __init__(self, model: M) -> None:
        self._model: M = model

    @property
    def model(self) -> nn.Module:
        return self._model

    def init_state(self, batch_size: int) -> None:
        return None

    def detach_state(self, state: Any) -> Any:
        return state


def _confusion_metrics(counts: Mapping[str, float], labels: Sequence[str]) -> dict[str, float]:
    c = Confusion.from_counts(counts, labels)
    return {"accuracy": c.accuracy, "macro_f1": c.macro_f1}


class ClassifierObjective(_Stateless[SequenceClassifier]):
    """Class-weighted cross-entropy of a :class:`SequenceClassifier`."""

    def __init__(self, model: SequenceClassifier, labels: Sequence[str]) -> None:
        super().__init__(model)
        self.labels = list(labels)

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, None]:
        total, _ = self._model.loss(batch.x, batch.lengths, batch.y)
        return total, batch.x.shape[1], None

    def loss_with_counts(self, batch: Batch, state: Any) -> tuple[Tensor, int, None, dict[str, float]]:
        total, logits = self._model.loss(batch.x, batch.lengths, batch.y)
        pred = logits.argmax(-1)
        counts = Confusion.of(batch.y.tolist(), pred.tolist(), self.labels).counts()
        return total, batch.x.shape[1], None, counts

    def metrics_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        return _confusion_metrics(counts, self.labels)


class TaggerObjective(_Stateless[SequenceTagger]):
    """Per-step cross-entropy (or CRF negative log-likelihood) of a :class:`SequenceTagger`."""

    def __init__(self, model: SequenceTagger, labels: Sequence[str]) -> None:
        super().__init__(model)
        self.labels = list(labels)

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, None]:
        total, n, _ = self._model.loss(batch.x, batch.lengths, batch.y)
        return total, n, None

    def loss_with_counts(self, batch: Batch, state: Any) -> tuple[Tensor, int, None, dict[str, float]]:
        total, n, emissions = self._model.loss(batch.x, batch.lengths, batch.y)
        pred = self._model.decode(emissions, batch.lengths)
        known = batch.y != IGNORE
        counts = Confusion.of(batch.y[known].tolist(), pred[known].tolist(), self.labels).counts()
        return total, n, None, counts

    def metrics_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        return _confusion_metrics(counts, self.labels)


class MultiOutputObjective(_Stateless[MultiOutputModel]):
    """Weighted sum of the heads' cross-entropies of a :class:`MultiOutputModel`."""

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, None]:
        total, n, _, _ = self._model.loss(batch.x, batch.lengths, batch.y)
        return total, n, None

    def loss_with_counts(self, batch: Batch, state: Any) -> tuple[Tensor, int, None, dict[str, float]]:
        total, n, per_head, logits = self._model.loss(batch.x, batch.lengths, batch.y)
        counts: dict[str, float] = {}
        for h, (name, z) in enumerate(logits.items()):
            y = batch.y[..., h]
            known = y != IGNORE
            counts[f"{name}/nll"] = float(per_head[name][0])
            counts[f"{name}/n"] = float(per_head[name][1])
            counts[f"{name}/correct"] = float((z.argmax(-1)[known] == y[known]).sum())
        return total, n, None, counts

    def metrics_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        out = {}
        for name in self._model.heads:
            n = counts.get(f"{name}/n", 0.0)
            out[f"{name}_accuracy"] = counts.get(f"{name}/correct", 0.0) / n if n else math.nan
            out[f"{name}_ppl"] = math.exp(min(counts.get(f"{name}/nll", 0.0) / n, 50.0)) if n else math.nan
        return out
