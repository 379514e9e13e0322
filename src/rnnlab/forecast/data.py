"""Series for forecasting: a target with optional covariates; time splits; and the normaliser
fitted on the training part only.

A series is one float array ``x_0 … x_{N−1}`` (the target), with optional covariates beside it:
*past* covariates (known only up to the forecast origin, e.g. other sensors) and *future*
covariates (known ahead, e.g. calendar features or planned inputs). It is cut by time, never
shuffled::

    x_0 ─────────── train ───────────┤─── valid ───┤──────── test ────────┤ x_{N−1}
                                  n_train        n_fit                     N

The models learn on train, choose their best epoch on valid, and are scored on test, where each
forecast starts from an *origin* t (everything up to x_t is known) and predicts x_{t+1 … t+k}.
Many related series (a long-format file) are a list of ``Series``, each split the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnlab.errors import ConfigError, DataError

MAX_REPORTED_ROWS = 10  # how many offending row numbers an error message lists


@dataclass
class Series:
    """A target series with optional covariates, time labels and its seasonal period."""

    name: str
    values: np.ndarray  # (N,) float64: the target x
    times: list[str] | None = None  # one label per value (dates from a CSV), for plots only
    season: int | None = None  # seasonal period m for the seasonal-naive baseline; None = no season
    note: str = ""  # what was done to the raw data (missing values filled, resampling), shown to the user
    past: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, P) known up to the origin
    past_names: list[str] = field(default_factory=list)
    future: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, F) known ahead
    future_names: list[str] = field(default_factory=list)
    key: str | None = None  # the series' id in a long-format file (None for a single series)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        n = len(self.values)
        for name in ("past", "future"):
            block = np.asarray(getattr(self, name), dtype=np.float64)
            names = getattr(self, f"{name}_names")
            if block.size == 0 and not names:
                block = np.zeros((n, 0))
            if block.ndim != 2 or block.shape != (n, len(names)):
                raise DataError(
                    f"{self.name}: {name} covariates must be an (N={n}, {len(names)}) array "
                    f"(one column per name in {names}), got shape {block.shape}"
                )
            setattr(self, name, block)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def has_covariates(self) -> bool:
        return bool(self.past_names or self.future_names)

    def without_covariates(self) -> Series:
        """The same target alone (for the "no covariates" comparison)."""
        return Series(self.name, self.values, self.times, self.season, self.note, key=self.key)


def rows_listed(rows: Sequence[int]) -> str:
    """ "3, 5, 9 and 12 more": row numbers for an error message, at most ``MAX_REPORTED_ROWS``."""
    shown = ", ".join(str(r) for r in rows[:MAX_REPORTED_ROWS])
    more = f" and {len(rows) - MAX_REPORTED_ROWS} more" if len(rows) > MAX_REPORTED_ROWS else ""
    return shown + more


def check_covariate_names(
    available: Sequence[str], column: str, past: Sequence[str], future: Sequence[str], source: str
) -> None:
    """Every covariate exists, none is the target, none is named twice; else a DataError saying which."""
    for name in (*past, *future):
        if name not in available:
            raise DataError(f"{source} has no column {name!r}; available columns: {list(available)}")
    if column in (*past, *future):
        raise ConfigError(f"{column!r} is the target; it cannot also be a covariate")
    seen: set[str] = set()
    for name in (*past, *future):
        if name in seen:
            raise ConfigError(
                f"covariate {name!r} is named twice; give each once, as past (--covariates) "
                "or as future (--future-covariates)"
            )
        seen.add(name)


def series_from_columns(
    name: str,
    columns: Mapping[str, np.ndarray],
    column: str,
    *,
    past: Sequence[str] = (),
    future: Sequence[str] = (),
    times: list[str] | None = None,
    season: int | None = None,
    note: str = "",
    key: str | None = None,
) -> Series:
    """A ``Series`` whose target and covariates are columns of a table of equal-length float arrays."""
    check_covariate_names(list(columns), column, past, future, name)

    def block(names: Sequence[str]) -> np.ndarray:
        return np.stack([columns[c] for c in names], axis=1) if names else np.zeros((len(columns[column]), 0))

    return Series(name, columns[column], times, season, note, block(past), list(past), block(future),
                  list(future), key)  # fmt: skip


@dataclass(frozen=True)
class TimeSplit:
    """Split points by time: train = [0, n_train), valid = [n_train, n_fit), test = [n_fit, n)."""

    n_train: int
    n_fit: int  # end of validation = start of test; everything before it may be used to fit
    n: int

    @classmethod
    def by_fraction(cls, n: int, valid_fraction: float, test_fraction: float) -> TimeSplit:
        """Contiguous splits: the last ``test_fraction`` is test, the ``valid_fraction`` before it valid."""
        for name, f in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
            if not 0 <= f < 1:
                raise ConfigError(f"{name} must lie in [0, 1), got {f}")
        if test_fraction <= 0:
            raise ConfigError("test_fraction must be > 0: forecasts are scored on the test part")
        n_test = max(1, round(n * test_fraction))
        n_valid = round(n * valid_fraction)
        split = cls(n - n_test - n_valid, n - n_test, n)
        if split.n_train < 10:
            raise DataError(
                f"a series of {n} values leaves only {split.n_train} for training; "
                "use a longer series or smaller valid/test fractions"
            )
        return split

    @property
    def test_start(self) -> int:
        return self.n_fit


@dataclass
class Normaliser:
    """z = (u − μ)/σ with μ, σ from the training part only, where u is x or, with ``difference``,
    its first difference u_t = x_t − x_{t−1} (u_0 := μ, so z_0 = 0).

    Differencing lets a model trained on one level range forecast a trending series whose test
    values lie outside it (CO₂): the model predicts changes, which stay in range.
    """

    mean: float
    std: float
    difference: bool = False

    @classmethod
    def fit(cls, values: np.ndarray, n_train: int, *, difference: bool = False) -> Normaliser:
        """Statistics of ``values[:n_train]`` (or its differences) only: the test part stays unseen."""
        train = np.asarray(values[:n_train], dtype=np.float64)
        u = np.diff(train) if difference else train
        std = float(u.std())
        return cls(float(u.mean()), std if std > 1e-12 else 1.0, difference)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """The model-space series z (N,), same length as ``values``."""
        x = np.asarray(values, dtype=np.float64)
        u = np.concatenate(([self.mean], np.diff(x))) if self.difference else x
        return (u - self.mean) / self.std

    def decode(self, z_paths: np.ndarray, last_levels: np.ndarray) -> np.ndarray:
        """Forecast paths back in the units of x.

        ``z_paths`` (B, K): model-space predictions for steps 1 … K after B origins whose last
        known values are ``last_levels`` (B,). With differencing, x̂_{t+j} = x_t + Σ_{i≤j} û_{t+i}.
        """
        u = np.asarray(z_paths, dtype=np.float64) * self.std + self.mean
        if not self.difference:
            return u
        return np.asarray(last_levels, dtype=np.float64)[:, None] + np.cumsum(u, axis=1)
