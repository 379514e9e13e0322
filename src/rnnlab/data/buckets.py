"""Batches of whole examples of different lengths, bucketed by length so padding stays small.

A task example is a sequence of token ids with a target: one label (classification), one tag per
token (tagging), or one row of H targets per token (multi-output). A batch pads B of them to the
longest one, time-major::

    x        (T, B)      int64  token ids, ``pad_id`` after each example's end
    y        (B,)        int64  labels                           (a scalar target per example)
             (T, B, …)   int64  per-token targets, ``IGNORE`` (−100) at padding
    mask     (T, B)      bool   True at real tokens
    lengths  (B,)        int64  real tokens per column
    reset_state = True          every example starts from a fresh state

**Bucketing.** Padding is masked out of every loss and metric, and the recurrent layers pack the
batch so padded steps are not computed either; what padding still costs is the tensor work of the
embedding, CNN and output layer on the pad positions. Batching examples of similar length keeps
that small. Each epoch, with ``shuffle=True``::

    permute all examples (rng = default_rng([seed, epoch]))
    cut the permutation into pools of ``pool × B`` examples, sort each pool by length
    cut each pool into batches of B, shuffle the order of all batches (same rng)

so batches are nearly uniform in length but still random in content and order (the "bucket
iterator" of torchtext / AllenNLP). With ``shuffle=False`` (evaluation) all examples are sorted
by length once. :meth:`batch_indices` tells which examples each batch holds, so predictions can be
put back in input order.

Distributed: as every :class:`~rnnlab.data.sampling.EpochSampler`, ``batch_size`` is the global
batch and rank r reads its contiguous block of it (:func:`rnnlab.data.sampling.rank_block`); every
rank computes the same plan from the same seed, so all ranks take the same number of steps; a short
last batch leaves the highest ranks an empty (width-0) batch, as the other samplers do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from rnnlab.data.sampling import Batch, EpochSampler, _epoch_rng
from rnnlab.errors import DataError

IGNORE = -100  # target value at padding (and at unknown targets): skipped by every loss and metric
IdArray = npt.NDArray[np.int64]


def bucket_plan(
    lengths: npt.NDArray[np.int64],
    batch_size: int,
    epoch: int,
    *,
    shuffle: bool,
    pool: int,
    seed: int,
    drop_last: bool = False,
) -> list[npt.NDArray[np.int64]]:
    """The batches of ``epoch`` as arrays of example indices (see the module docstring), by ``lengths``."""
    b = batch_size
    if not shuffle:
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
        n = len(order) // b * b if drop_last else len(order)
        return [order[i : i + b] for i in range(0, n, b)]
    rng = _epoch_rng(seed, epoch)
    order = rng.permutation(len(lengths))
    batches: list[npt.NDArray[np.int64]] = []
    span = pool * b
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + b] for i in range(0, len(chunk), b)]
    if drop_last:
        batches = [batch for batch in batches if len(batch) == b]
    return [batches[i] for i in rng.permutation(len(batches))]


class BucketBatches(EpochSampler):
    """Examples bucketed by length into padded, masked batches; see the module docstring."""

    def __init__(
        self,
        sequences: Sequence[npt.ArrayLike],
        targets: Sequence[npt.ArrayLike],
        batch_size: int,
        *,
        pad_id: int,
        shuffle: bool = True,
        pool: int = 50,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        if len(sequences) != len(targets):
            raise DataError(
                f"{len(sequences)} sequences but {len(targets)} targets; give one target per sequence"
            )
        if not sequences:
            raise DataError("there are no examples to batch; the data file or split is empty")
        self.sequences: list[IdArray] = [np.asarray(s, dtype=np.int64) for s in sequences]
        self.targets: list[IdArray] = [np.asarray(t, dtype=np.int64) for t in targets]
        self.lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)
        empty = np.flatnonzero(self.lengths == 0)
        if empty.size:
            raise DataError(f"example {int(empty[0])} has no tokens; drop empty texts before batching")
        per_token = self.targets[0].ndim > 0
        for i, (seq, tgt) in enumerate(zip(self.sequences, self.targets, strict=True)):
            if (tgt.ndim > 0) != per_token or (per_token and tgt.shape[0] != len(seq)):
                raise DataError(
                    f"example {i}: its target has shape {tgt.shape} for {len(seq)} tokens; give one label "
                    "per example or one target row per token, the same for every example"
                )
        self.pad_id = int(pad_id)
        self.shuffle, self.pool, self.drop_last = bool(shuffle), max(1, int(pool)), bool(drop_last)
        n = len(self.sequences)
        if self.drop_last and n < self.batch_size:
            raise DataError(
                f"{n} examples do not fill one batch of {self.batch_size} with drop_last=True; "
                "use a smaller batch size"
            )

    def __len__(self) -> int:
        n = len(self.sequences)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self, epoch: int) -> list[npt.NDArray[np.int64]]:
        """The global batches of ``epoch`` as arrays of example indices, in the order they are dealt."""
        return bucket_plan(
            self.lengths, self.batch_size, epoch, shuffle=self.shuffle, pool=self.pool, seed=self.seed,
            drop_last=self.drop_last,
        )  # fmt: skip

    def collate(self, indices: npt.NDArray[np.int64]) -> Batch:
        """The padded, masked, time-major batch of the examples ``indices``."""
        lengths = self.lengths[indices]
        steps, cols = int(lengths.max()), len(indices)
        x = np.full((steps, cols), self.pad_id, dtype=np.int64)
        first = self.targets[indices[0]]
        if first.ndim == 0:
            y = np.array([int(self.targets[i]) for i in indices], dtype=np.int64)
        else:
            y = np.full((steps, cols, *first.shape[1:]), IGNORE, dtype=np.int64)
        for col, i in enumerate(indices):
            n = self.lengths[i]
            x[:n, col] = self.sequences[i]
            if first.ndim:
                y[:n, col] = self.targets[i]
        lengths_t = torch.from_numpy(lengths.astype(np.int64))
        mask = torch.arange(steps).unsqueeze(1) < lengths_t.unsqueeze(0)
        return Batch(
            x=torch.from_numpy(x), y=torch.from_numpy(y), mask=mask, reset_state=True, lengths=lengths_t
        )

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        plan = self.batch_indices(epoch)
        for i in range(start, len(self)):
            picked = plan[i][self._block(len(plan[i]))]
            if len(picked) == 0:  # this rank has no share of a short batch; it still takes the step
                yield self._empty()
            else:
                yield self.collate(picked)

    def _empty(self) -> Batch:
        per_token = self.targets[0].ndim > 0
        y_shape = (1, 0, *self.targets[0].shape[1:]) if per_token else (0,)
        return Batch(
            x=torch.zeros((1, 0), dtype=torch.int64),
            y=torch.full(y_shape, IGNORE, dtype=torch.int64),
            mask=torch.zeros((1, 0), dtype=torch.bool),
            reset_state=True,
            lengths=torch.zeros(0, dtype=torch.int64),
        )

    def padding_fraction(self, epoch: int = 0) -> float:
        """Share of the padded (T × B) positions of an epoch that are padding."""
        plan = self.batch_indices(epoch)
        cells = sum(int(self.lengths[b].max()) * len(b) for b in plan)
        return 1.0 - sum(int(self.lengths[b].sum()) for b in plan) / cells

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "pool": self.pool,
            "drop_last": self.drop_last,
            "n_examples": len(self.sequences),
            "n_tokens": int(self.lengths.sum()),
        }
