"""Windows of one or many series as trainer batches (``EpochSampler`` subclasses).

A window starting at s feeds L input rows and asks for the next H values of the D predicted
channels (target and past covariates) after each::

    inputs   X_s   X_{s+1} … X_{s+w} … X_{s+L−1}              x (L, B, C)
    targets  X_{s+1}[:D]   … X_{s+w+1}[:D] … X_{s+L}[:D]       y (L, B, H, D)  (h: X_{s+i+1+h}[:D])
    counted  ✗  …  ✗ (warm-up: the state is forming) ✓ … ✓     mask (L, B, H, D)

A target counts only after the warm-up and only if its index lies in ``[first_target, end)`` of
its own series, so training never scores a validation value and validation never scores a test
value. Validation counts the target channel only (the covariates are predicted for recursion,
but the model is chosen by how it forecasts the target). Every window starts from a fresh state
(``reset_state``), so shuffling the windows mixes nothing across time or series: each one is a
contiguous stretch of one series' past.

Many series are concatenated into one matrix; a window's start, first target and end are
absolute row numbers, and no window crosses from one series into the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from rnnlab.data.sampling import Batch, EpochSampler
from rnnlab.errors import DataError
from rnnlab.forecast.data import TimeSplit
from rnnlab.forecast.encoding import EncodedSeries


def _batch(
    inputs: np.ndarray, starts: np.ndarray, length: int, *, warmup: int, outputs: int, channels: int,
    first: np.ndarray, end: np.ndarray, count_covariates: bool,
) -> Batch:  # fmt: skip
    """The batch of windows of ``length`` rows beginning at ``starts`` (B,); see the module docstring."""
    steps = np.arange(length)
    x = inputs[starts[None, :] + steps[:, None]]  # (L, B, C)
    target = starts[None, :, None] + steps[:, None, None] + 1 + np.arange(outputs)  # (L, B, H)
    inside = (target >= first[None, :, None]) & (target < end[None, :, None])
    counted = inside & (steps[:, None, None] >= warmup)
    y = inputs[np.clip(target, 0, len(inputs) - 1), :channels] * inside[..., None]  # (L, B, H, D)
    mask = np.repeat(counted[..., None], channels, axis=-1)
    if not count_covariates:
        mask[..., 1:] = False
    return Batch(
        x=torch.from_numpy(x),
        y=torch.from_numpy(y.astype(np.float32)),
        mask=torch.from_numpy(mask),
        reset_state=True,
    )


def _as_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:, None] if x.ndim == 1 else x


class WindowBatches(EpochSampler):
    """Batches of windows of ``x`` at ``starts``; shuffled per epoch from ``(seed, epoch)`` if asked.

    ``first_target`` and ``end`` bound the counted targets: one value for all windows, or one per
    start (windows of different series).
    """

    def __init__(
        self,
        x: np.ndarray,
        starts: Sequence[int] | np.ndarray,
        *,
        length: int,
        warmup: int,
        outputs: int = 1,
        channels: int = 1,
        first_target: int | Sequence[int] | np.ndarray = 0,
        end: int | Sequence[int] | np.ndarray | None = None,
        count_covariates: bool = True,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.inputs = _as_matrix(x)
        self.starts = np.asarray(starts, dtype=np.int64)
        if len(self.starts) == 0:
            raise DataError(
                f"no training window of length {length} fits in the series; "
                "use a shorter --window or a longer series"
            )
        if int(self.starts.max()) + length > len(self.inputs):
            raise DataError(
                f"a window of length {length} runs past the end of a series of {len(self.inputs)} values"
            )
        self.length, self.warmup, self.outputs, self.channels = length, warmup, outputs, channels
        n = len(self.starts)
        self.first = np.broadcast_to(np.asarray(first_target, dtype=np.int64), (n,))
        self.end = np.broadcast_to(np.asarray(len(self.inputs) if end is None else end, dtype=np.int64), (n,))
        self.count_covariates = count_covariates
        self.shuffle = shuffle
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def _order(self, epoch: int) -> np.ndarray:
        """Positions into ``starts`` (so each window keeps its own first target and end)."""
        index = np.arange(len(self.starts))
        if not self.shuffle:
            return index
        return np.random.default_rng([self.seed, epoch]).permutation(index)

    def window(self, positions: np.ndarray) -> Batch:
        """The batch of the windows at ``positions`` of ``starts``."""
        return _batch(self.inputs, self.starts[positions], self.length, warmup=self.warmup,
                      outputs=self.outputs, channels=self.channels, first=self.first[positions],
                      end=self.end[positions], count_covariates=self.count_covariates)  # fmt: skip

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        order = self._order(epoch)
        for i in range(start, len(self)):
            starts = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.window(starts[self._block(len(starts))])  # this rank's columns

    def _settings(self) -> dict[str, Any]:
        return {"windows": len(self.starts), "length": self.length, "batch_size": self.batch_size}


class SeriesPasses(EpochSampler):
    """One batch per series: a single column over its whole past, counting targets in [first, end).

    This is how forecasts are made at test time too — the state is carried from the first
    observation — so a validation loss from it measures the one-step error the test will see.
    """

    def __init__(self, series: Sequence[tuple[np.ndarray, int, int]], *, outputs: int, channels: int) -> None:
        self.series = [(_as_matrix(x), first, end) for x, first, end in series]
        self.outputs, self.channels = outputs, channels
        super().__init__(batch_size=1, seed=0, rank=0, world_size=1)

    def __len__(self) -> int:
        return len(self.series)

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        for x, first, end in self.series[start:]:
            yield _batch(x[:end], np.array([0]), end - 1, warmup=0, outputs=self.outputs,
                         channels=self.channels, first=np.array([first]), end=np.array([end]),
                         count_covariates=False)  # fmt: skip

    def _settings(self) -> dict[str, Any]:
        return {"series": len(self.series)}


def panel_windows(
    series: Sequence[EncodedSeries], *, length: int, warmup: int, outputs: int, batch_size: int, seed: int
) -> WindowBatches:
    """Every window whose inputs and counted targets lie in a training part, over all series."""
    shortest = min(s.split.n_train for s in series)
    if length > shortest - 1:  # a short series: shrink the window, keeping most of it scored
        length = shortest - 1
        warmup = min(warmup, length // 4)
    inputs = np.concatenate([s.inputs for s in series], axis=0)
    offsets = np.cumsum([0, *(len(s.inputs) for s in series)])
    starts, ends = [], []
    for offset, s in zip(offsets, series, strict=False):
        first = np.arange(offset, offset + s.split.n_train - length)
        starts.append(first)
        ends.append(np.full(len(first), offset + s.split.n_train))
    firsts = np.concatenate([np.full(len(st), o) for st, o in zip(starts, offsets, strict=False)])
    return WindowBatches(
        inputs, np.concatenate(starts), length=length, warmup=warmup, outputs=outputs,
        channels=series[0].channels, first_target=firsts, end=np.concatenate(ends),
        batch_size=batch_size, shuffle=True, seed=seed,
    )  # fmt: skip


def panel_validation(series: Sequence[EncodedSeries], *, outputs: int) -> SeriesPasses | None:
    """One pass per series over its past, scoring its validation part; None if no series has one."""
    parts = [(s.inputs, s.split.n_train, s.split.n_fit) for s in series if s.split.n_fit > s.split.n_train]
    return SeriesPasses(parts, outputs=outputs, channels=series[0].channels) if parts else None


def training_windows(
    z: np.ndarray, n_train: int, *, length: int, warmup: int, outputs: int, batch_size: int, seed: int
) -> WindowBatches:
    """Every window of one univariate series whose inputs and counted targets lie in its training part."""
    one = EncodedSeries(np.asarray(z), 1, TimeSplit(n_train, n_train, len(z)))
    return panel_windows([one], length=length, warmup=warmup, outputs=outputs, batch_size=batch_size,
                         seed=seed)  # fmt: skip


def validation_sequence(z: np.ndarray, n_train: int, n_fit: int, *, outputs: int) -> SeriesPasses:
    """One column over the whole past of a univariate series, scoring only targets in ``[n_train, n_fit)``."""
    return SeriesPasses([(np.asarray(z), n_train, n_fit)], outputs=outputs, channels=1)
