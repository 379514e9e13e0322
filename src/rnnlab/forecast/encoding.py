"""From series in their units to the model's input matrix, and back.

Each series is scaled by its own statistics, taken from its training part only (so a global
model over series of very different sizes sees them all near N(0, 1), and the test part stays
unseen): the target by its :class:`~rnnlab.forecast.data.Normaliser` (optionally differenced),
each covariate by its own mean and standard deviation (levels, never differenced).

The input matrix X (N, C) of a series holds, at row t, what the model reads at step t::

    X[t] = [ z_t | p_t,1 … p_t,P | f_{t+1} … f_{t+L} | s ]

z the scaled target, p the scaled past covariates, f the scaled future covariates at the next L
steps (L = the head's outputs; past the end of the data the last value is repeated — no target
there is ever scored), s the series' index when the model embeds series. The first D = 1 + P
columns are also what the model predicts, so the target of step t, h steps on, is X[t+1+h, :D].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnlab.forecast.data import Normaliser, Series, TimeSplit


@dataclass
class SeriesScaler:
    """The normalisers of one series: its target's and each covariate's, fitted on train only."""

    target: Normaliser
    past: list[Normaliser]
    future: list[Normaliser]

    @classmethod
    def fit(cls, series: Series, n_train: int, *, difference: bool = False) -> SeriesScaler:
        return cls(
            Normaliser.fit(series.values, n_train, difference=difference),
            [Normaliser.fit(series.past[:, j], n_train) for j in range(series.past.shape[1])],
            [Normaliser.fit(series.future[:, j], n_train) for j in range(series.future.shape[1])],
        )

    def to_dict(self) -> dict[str, object]:
        def stats(n: Normaliser) -> dict[str, float]:
            return {"mean": n.mean, "std": n.std}

        return {**stats(self.target), "difference": self.target.difference,
                "past": [stats(n) for n in self.past], "future": [stats(n) for n in self.future]}  # fmt: skip


def _scaled(block: np.ndarray, scalers: Sequence[Normaliser]) -> np.ndarray:
    cols = [s.encode(block[:, j]) for j, s in enumerate(scalers)]
    return np.stack(cols, axis=1) if cols else np.zeros((len(block), 0))


def _leads(future: np.ndarray, steps: int) -> np.ndarray:
    """(N, F·L): row t holds f_{t+1}, …, f_{t+L} (each F wide), the last row repeated past the end."""
    n = len(future)
    if future.shape[1] == 0:
        return np.zeros((n, 0))
    parts = [future[np.minimum(np.arange(n) + j, n - 1)] for j in range(1, steps + 1)]
    return np.concatenate(parts, axis=1)


def input_matrix(
    series: Series,
    scaler: SeriesScaler,
    *,
    covariates: bool = True,
    leads: int = 1,
    index: int | None = None,
) -> np.ndarray:
    """X (N, C) for ``series`` (see the module docstring); ``covariates=False`` keeps z (and s) only."""
    z = scaler.target.encode(series.values)[:, None]
    parts = [z]
    if covariates:
        parts += [_scaled(series.past, scaler.past), _leads(_scaled(series.future, scaler.future), leads)]
    if index is not None:
        parts.append(np.full((len(z), 1), float(index)))
    return np.concatenate(parts, axis=1)


@dataclass
class EncodedSeries:
    """One series as the model reads it: its input matrix, how many columns are predicted, its split."""

    inputs: np.ndarray  # (N, C) X
    channels: int  # D: X[:, :D] are the predicted values (target, past covariates)
    split: TimeSplit

    def __post_init__(self) -> None:
        self.inputs = np.asarray(self.inputs, dtype=np.float64)
        if self.inputs.ndim == 1:
            self.inputs = self.inputs[:, None]
