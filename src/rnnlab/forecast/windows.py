"""Windows of a series as trainer batches (the ``BatchSource`` protocol).

A window starting at s feeds L inputs and asks for the next H values after each::

    inputs   z_s   z_{s+1} … z_{s+w} … z_{s+L−1}         x (L, B)
    targets  z_{s+1}       … z_{s+w+1} … z_{s+L}         y (L, B, H)   (column h: z_{s+i+1+h})
    counted  ✗  …  ✗ (warm-up: the state is forming) ✓ … ✓            mask (L, B, H)

A target counts only after the warm-up and only if its index lies in ``[first_target, end)``,
so training never scores a validation value and validation never scores a test value. Every
window starts from a fresh state (``reset_state``), so shuffling the windows mixes nothing
across time: each one is a contiguous stretch of the past.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from rnnlab.data.sampling import Batch, EpochSampler
from rnnlab.errors import DataError


class WindowBatches(EpochSampler):
    """Batches of windows of ``z`` at ``starts``; shuffled per epoch from ``(seed, epoch)`` if asked."""

    def __init__(
        self,
        z: np.ndarray,
        starts: Sequence[int],
        *,
        length: int,
        warmup: int,
        outputs: int = 1,
        first_target: int = 0,
        end: int | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.z = np.asarray(z, dtype=np.float32)
        self.starts = np.asarray(starts, dtype=np.int64)
        if len(self.starts) == 0:
            raise DataError(
                f"no training window of length {length} fits in the series; "
                "use a shorter --window or a longer series"
            )
        if int(self.starts.max()) + length > len(self.z):
            raise DataError(
                f"a window of length {length} runs past the end of a series of {len(self.z)} values"
            )
        self.length, self.warmup, self.outputs = length, warmup, outputs
        self.first_target = first_target
        self.end = len(self.z) if end is None else end
        self.shuffle = shuffle
        super().__init__(batch_size=batch_size, seed=seed, rank=rank, world_size=world_size)

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return self.starts
        return np.random.default_rng([self.seed, epoch]).permutation(self.starts)

    def window(self, starts: np.ndarray) -> Batch:
        """The batch of windows beginning at ``starts`` (B,)."""
        steps = np.arange(self.length)
        x = self.z[starts[None, :] + steps[:, None]]  # (L, B)
        target = starts[None, :, None] + steps[:, None, None] + 1 + np.arange(self.outputs)  # (L, B, H)
        inside = (target >= self.first_target) & (target < self.end)
        mask = inside & (steps[:, None, None] >= self.warmup)
        y = self.z[np.clip(target, 0, len(self.z) - 1)] * inside
        return Batch(
            x=torch.from_numpy(x),
            y=torch.from_numpy(y.astype(np.float32)),
            mask=torch.from_numpy(mask),
            reset_state=True,
        )

    def _batches(self, epoch: int, start: int) -> Iterator[Batch]:
        order = self._order(epoch)
        for i in range(start, len(self)):
            starts = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield self.window(starts[self._block(len(starts))])  # this rank's columns

    def _settings(self) -> dict[str, Any]:
        return {"windows": len(self.starts), "length": self.length, "batch_size": self.batch_size}


def training_windows(
    z: np.ndarray, n_train: int, *, length: int, warmup: int, outputs: int, batch_size: int, seed: int
) -> WindowBatches:
    """Every window whose inputs and counted targets lie in the training part, shuffled per epoch."""
    if length > n_train - 1:  # a short series: shrink the window, keeping most of it scored
        length = n_train - 1
        warmup = min(warmup, length // 4)
    starts = range(0, n_train - length)
    return WindowBatches(
        z, starts, length=length, warmup=warmup, outputs=outputs,
        end=n_train, batch_size=batch_size, shuffle=True, seed=seed,
    )  # fmt: skip


def validation_sequence(z: np.ndarray, n_train: int, n_fit: int, *, outputs: int) -> WindowBatches:
    """One column over the whole past, scoring only targets in ``[n_train, n_fit)``.

    This is how forecasts are made at test time too: the state is carried from x_0, so the
    validation loss measures the one-step error the test will see.
    """
    return WindowBatches(
        z[:n_fit], [0], length=n_fit - 1, warmup=0, outputs=outputs, first_target=n_train,
        end=n_fit, batch_size=1, shuffle=False,
    )  # fmt: skip
