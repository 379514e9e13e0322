"""The small protocol through which the trainer knows a model, and its language-model adapter.

The trainer never calls a model directly. It asks an *objective* for

* ``loss(batch, state) -> (sum_nll, n_tokens, new_state)``: the summed negative log-likelihood
  of the batch's counted targets (a 0-dim tensor carrying the graph), how many targets counted,
  and the recurrent state after the batch;
* ``init_state(batch_size)``: the state a fresh stream starts from;
* ``detach_state(state)``: the same state cut from the graph (truncated BPTT between batches);
* ``model``: the ``nn.Module`` whose parameters are optimised and saved.

so language models, forecasters and taggers can share one trainer.

**Optional task metrics.** An objective may also offer

* ``loss_with_counts(batch, state) -> (sum_nll, n_tokens, new_state, counts)``: what ``loss``
  returns plus a dict of *summable* counts (correct predictions, true/false positives per class, …);
* ``metrics_from_counts(counts) -> dict[str, float]``: accuracy, F1, … from the summed counts.

Validation then calls ``loss_with_counts`` instead of ``loss``, adds the counts up over all batches
(and, under data parallelism, over all ranks: counts are sums, so one all-reduce suffices) and
records ``metrics_from_counts(total)`` as the ``metrics`` of the validation record. Objectives
without these methods are evaluated exactly as before. See :class:`CountingObjective`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from rnnlab.data.sampling import Batch
from rnnlab.layers import State, detach_state
from rnnlab.models.cross_entropy import linear_cross_entropy
from rnnlab.models.rnnlm import RNNLM


class Objective(Protocol):
    """What the trainer needs from a task; see the module docstring."""

    @property
    def model(self) -> nn.Module: ...

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]: ...

    def init_state(self, batch_size: int) -> Any: ...

    def detach_state(self, state: Any) -> Any: ...


class CountingObjective(Objective, Protocol):
    """An objective that also reports task metrics during validation (see the module docstring)."""

    def loss_with_counts(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any, dict[str, float]]: ...

    def metrics_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]: ...


class LanguageModelObjective:
    """Next-token cross-entropy of an :class:`RNNLM`.

    ℒ_sum = −Σ_{(t,b) ∈ M} log softmax(z_{t,b})[y_{t,b}] over the counted targets M (``batch.mask``).
    With ``loss_on_padding`` (the tutorial's choice) *training* counts every position, padding
    included; evaluation always counts only the real targets, so perplexities stay comparable.

    With ``fused_loss`` (the default) the output layer runs only on the counted positions and
    together with the softmax, a block of rows at a time
    (:func:`~rnnlab.models.cross_entropy.linear_cross_entropy`): the (T, B, V) logits are never
    stored. ``fused_loss=False`` computes them and calls ``F.cross_entropy``, the reference the
    tests compare against. Logits are upcast to fp32 before the softmax either way, so bf16
    autocast never sums the loss in low precision.
    """

    def __init__(self, model: RNNLM, *, loss_on_padding: bool = False, fused_loss: bool = True) -> None:
        self.model = model
        self.loss_on_padding = loss_on_padding
        self.fused_loss = fused_loss

    def loss(self, batch: Batch, state: State | None) -> tuple[Tensor, int, State]:
        count_all = self.loss_on_padding and self.model.training
        if self.fused_loss:
            return self._fused_loss(batch, state, count_all)
        logits, new_state = self.model(batch.x, state)  # (T, B, V)
        nll = nn.functional.cross_entropy(
            logits.float().flatten(0, 1), batch.y.flatten(), reduction="none"
        )  # (T·B,)
        if count_all:
            return nll.sum(), nll.numel(), new_state
        mask = batch.mask.flatten()
        return torch.masked_select(nll, mask).sum(), batch.n_tokens, new_state

    def _fused_loss(self, batch: Batch, state: State | None, count_all: bool) -> tuple[Tensor, int, State]:
        features, new_state = self.model.features(batch.x, state)  # (T, B, F)
        rows, targets = features.flatten(0, 1), batch.y.flatten()
        n_tokens = batch.n_tokens
        if not count_all and n_tokens < targets.numel():  # the output layer sees counted rows only
            keep = batch.mask.flatten()
            rows, targets = rows[keep], targets[keep]
        decoder = self.model.decoder
        sum_nll = linear_cross_entropy(rows, decoder.weight, decoder.bias, targets)
        return sum_nll, targets.numel(), new_state

    def init_state(self, batch_size: int) -> State:
        return self.model.init_state(batch_size)

    def detach_state(self, state: State) -> State:
        return detach_state(state)
