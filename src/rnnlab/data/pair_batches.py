"""Batches of (source, target) id pairs for an encoder–decoder, bucketed by length.

A batch pads B pairs, time-major; the target is shifted for teacher forcing::

    x          (S, B)  int64  source ids, ``pad_id`` after each source's end
    x_lengths  (B,)    int64  real source lengths
    y_in       (T, B)  int64  <bos> y_1 … y_n, padded        (the decoder's inputs)
    y          (T, B)  int64  y_1 … y_n <eos>, padded        (what it must predict)
    mask       (T, B)  bool   True where y counts in the loss (T = longest target + 1)
    reset_state = True        every pair starts from its own encoded source

**Bucketing** is :func:`rnnlab.data.buckets.bucket_plan`'s, by length (target, then source): each
epoch the pairs are permuted, cut into pools of ``pool × B``, each pool sorted by length, cut into
batches, and the batches shuffled — nearly uniform lengths, random content and order. Without
``shuffle`` (evaluation) pairs are sorted by length once. Resuming, epochs and ranks come
from :class:`~rnnlab.data.sampling.EpochSampler`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from rnnlab.data.buckets import bucket_plan
from rnnlab.data.sampling import EpochSampler
from rnnlab.errors import DataError

IdArray = npt.NDArray[np.int64]


@dataclass
class PairBatch:
    """One padded batch of pairs; see the module docstring for the fields."""

    x: torch.Tensor
    x_lengths: torch.Tensor
    y_in: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    reset_state: bool = True

    @property
    def width(self) -> int:
        """Pairs in the batch; 0 for a rank that has no share of a short batch."""
        return int(self.x.shape[1])

    @property
    def n_tokens(self) -> int:
        """Targets that count in the loss (the <eos> of each pair included)."""
        return int(self.mask.sum())

    def pin_memory(self) -> PairBatch:
        """The same batch in page-locked host memory (the lengths stay as they are: they stay on the CPU)."""
        return PairBatch(
            x=self.x.pin_memory(),
            x_lengths=self.x_lengths,
            y_in=self.y_in.pin_memory(),
            y=self.y.pin_memory(),
            mask=self.mask.pin_memory(),
            reset_state=self.reset_state,
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> PairBatch:
        """The same batch on ``device`` (the source lengths stay on the CPU, where packing wants them)."""
        return PairBatch(
            x=self.x.to(device, non_blocking=non_blocking),
            x_lengths=self.x_lengths,
            y_in=self.y_in.to(device, non_blocking=non_blocking),
            y=self.y.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            reset_state=self.reset_state,
        )


def pad_columns(sequences: Sequence[IdArray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, B) ids padded with ``pad_id`` after each sequence, and the lengths (B,)."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    out = np.full((int(lengths.max()), len(sequences)), pad_id, dtype=np.int64)
    for col, seq in enumerate(sequences):
        out[: len(seq), col] = seq
    return torch.from_numpy(out), torch.from_numpy(lengths)


def collate_pairs(
    sources: Sequence[IdArray], targets: Sequence[IdArray], *, pad_id: int, bos_id: int, eos_id: int
) -> PairBatch:
    """The padded batch of ``sources`` and ``targets`` (targets get <bos> in front and <eos> after)."""
    x, x_lengths = pad_columns(sources, pad_id)
    bos, eos = np.array([bos_id]), np.array([eos_id])
    y_in, lengths = pad_columns([np.concatenate([bos, t]) for t in targets], pad_id)
    y, _ = pad_columns([np.concatenate([t, eos]) for t in targets], pad_id)
    mask = torch.arange(y.shape[0]).unsqueeze(1) < lengths.unsqueeze(0)
    return PairBatch(x=x, x_lengths=x_lengths, y_in=y_in, y=y, mask=mask)


class PairBatches(EpochSampler):
    """(source, target) pairs bucketed by length into padded batches; see the module docstring."""

    def __init__(
        self,
        sources: Sequence[npt.ArrayLike],
        targets: Sequence[npt.ArrayLike],
        batch_size: int,
        *,
        pad_id: int,
        bos_id: int,
        eos_id: int,
        shuffle: bool = True,
        pool: int = 50,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)
        if len(sources) != len(targets):
            raise DataError(f"{len(sources)} sources but {len(targets)} targets; give one target per source")
        if not sources:
            raise DataError("there are no pairs to batch; the pair file or split is empty")
        self.sources: list[IdArray] = [np.asarray(s, dtype=np.int64) for s in sources]
        self.targets: list[IdArray] = [np.asarray(t, dtype=np.int64) for t in targets]
        for i, (s, t) in enumerate(zip(self.sources, self.targets, strict=True)):
            if len(s) == 0 or len(t) == 0:
                raise DataError(f"pair {i} has an empty {'source' if len(s) == 0 else 'target'}; drop it")
        self.ids = {"pad_id": int(pad_id), "bos_id": int(bos_id), "eos_id": int(eos_id)}
        self.shuffle, self.pool = bool(shuffle), max(1, int(pool))
        # One sort key per pair: target length first (the decoder's steps), then source length.
        lengths = zip(self.sources, self.targets, strict=True)
        self.keys = np.array([len(t) * 10_000 + len(s) for s, t in lengths], dtype=np.int64)

    def __len__(self) -> int:
        return math.ceil(len(self.sources) / self.batch_size)

    def batch_indices(self, epoch: int) -> list[npt.NDArray[np.int64]]:
        """The global batches of ``epoch`` as arrays of pair indices, in the order they are dealt."""
        return bucket_plan(
            self.keys, self.batch_size, epoch, shuffle=self.shuffle, pool=self.pool, seed=self.seed
        )

    def collate(self, indices: npt.NDArray[np.int64]) -> PairBatch:
        return collate_pairs(
            [self.sources[i] for i in indices], [self.targets[i] for i in indices], **self.ids
        )

    def _batches(self, epoch: int, start: int) -> Iterator[PairBatch]:  # type: ignore[override]
        plan = self.batch_indices(epoch)
        for i in range(start, len(self)):
            picked = plan[i][self._block(len(plan[i]))]
            if len(picked) == 0:  # this rank has no share of a short batch; it still takes the step
                empty = torch.zeros((1, 0), dtype=torch.int64)
                yield PairBatch(empty, torch.zeros(0, dtype=torch.int64), empty, empty, empty.bool())
            else:
                yield self.collate(picked)

    def _settings(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "pool": self.pool,
            "n_pairs": len(self.sources),
            "n_target_tokens": int(sum(len(t) for t in self.targets)),
        }
