"""Series for forecasting: the synthetic sine, statsmodels' bundled datasets, the user's CSV;
time splits; and the normaliser fitted on the training part only.

A series is one float array ``x_0 … x_{N−1}``. It is cut by time, never shuffled::

    x_0 ─────────── train ───────────┤─── valid ───┤──────── test ────────┤ x_{N−1}
                                  n_train        n_fit                     N

The models learn on train, choose their best epoch on valid, and are scored on test, where each
forecast starts from an *origin* t (everything up to x_t is known) and predicts x_{t+1 … t+k}.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.errors import ConfigError, DataError

BUILTIN_SERIES: tuple[str, ...] = ("sine", "sunspots", "co2")
MAX_REPORTED_ROWS = 10  # how many offending row numbers an error message lists


@dataclass
class Series:
    """A univariate series with optional time labels and its seasonal period (if one applies)."""

    name: str
    values: np.ndarray  # (N,) float64
    times: list[str] | None = None  # one label per value (dates from a CSV), for plots only
    season: int | None = None  # seasonal period m for the seasonal-naive baseline; None = no season
    note: str = ""  # what was done to the raw data (missing values filled, resampling), shown to the user

    def __len__(self) -> int:
        return len(self.values)


def sine_series(n: int = 1000, noise: float = 0.2, freq: float = 0.01, seed: int = 0) -> Series:
    """The classic synthetic series x_t = sin(freq·t) + ε_t, ε_t ~ N(0, noise²), t = 1 … n."""
    t = np.arange(1, n + 1, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return Series("sine", np.sin(freq * t) + rng.normal(0.0, noise, n))


def sunspots_series() -> Series:
    """Yearly sunspot numbers 1700–2008 (statsmodels' bundled copy; no download); ~11-year cycle."""
    from statsmodels.datasets import sunspots  # imported here: statsmodels is slow to import

    frame = sunspots.load_pandas().data
    times = [str(int(y)) for y in frame["YEAR"]]
    return Series("sunspots", frame["SUNACTIVITY"].to_numpy(np.float64), times, season=11)


def co2_series() -> Series:
    """Mauna Loa CO₂ (ppm), statsmodels' weekly data averaged per month (526 months, 1958–2001).

    The weekly record has gaps; monthly means leave 5 empty months, filled by linear
    interpolation between their neighbours (said in ``note``, so nothing is hidden).
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()
    gaps = int(monthly.isna().sum())
    filled = monthly.interpolate()
    times = [d.strftime("%Y-%m") for d in filled.index]
    note = f"weekly values averaged per month; {gaps} empty months linearly interpolated"
    return Series("co2", filled.to_numpy(np.float64), times, season=12, note=note)


def builtin_series(name: str, *, seed: int = 0) -> Series:
    """One of ``BUILTIN_SERIES`` by name."""
    if name == "sine":
        return sine_series(seed=seed)
    if name == "sunspots":
        return sunspots_series()
    if name == "co2":
        return co2_series()
    raise ConfigError(f"unknown built-in series {name!r}; options are {list(BUILTIN_SERIES)} or a CSV path")


def _rows_listed(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_REPORTED_ROWS])
    more = f" and {len(rows) - MAX_REPORTED_ROWS} more" if len(rows) > MAX_REPORTED_ROWS else ""
    return shown + more


def read_csv_series(
    path: str | Path,
    column: str | None = None,
    *,
    date_column: str | None = None,
    season: int | None = None,
) -> Series:
    """One numeric column of a CSV file with a header row.

    ``column`` defaults to the only numeric-looking column besides ``date_column``. Row numbers
    in errors count lines of the file (the header is line 1), so the user can open the file there.
    Missing values (empty cells, NA, NaN) are an error listing their rows: filling them is a
    modelling choice the user should make, not one made silently here.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist; pass a CSV file or one of {list(BUILTIN_SERIES)}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DataError(f"{path} is empty; it needs a header row and at least a few rows of values")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if not body:
        raise DataError(f"{path} has a header ({header}) but no rows of values")
    column = _choose_column(path, header, body, column, date_column)
    if date_column is not None and date_column not in header:
        raise DataError(f"{path} has no date column {date_column!r}; available columns: {header}")
    index = header.index(column)
    values, missing, bad = _parse_column(body, index)
    if missing:
        raise DataError(
            f"{path}: column {column!r} has {len(missing)} missing value(s) "
            f"at line(s) {_rows_listed(missing)}; "
            "fill or drop them first (e.g. interpolate in a spreadsheet or pandas)"
        )
    if bad:
        shown = ", ".join(f"line {r}: {v!r}" for r, v in bad[:MAX_REPORTED_ROWS])
        raise DataError(
            f"{path}: column {column!r} has {len(bad)} non-numeric value(s) ({shown}); "
            "choose a numeric column with --column or clean those cells"
        )
    times = None
    if date_column is not None:
        d = header.index(date_column)
        times = [r[d].strip() if d < len(r) else "" for r in body]
    return Series(f"{path.stem}:{column}", np.asarray(values, dtype=np.float64), times, season=season)


def _choose_column(
    path: Path, header: list[str], body: list[list[str]], column: str | None, date_column: str | None
) -> str:
    if column is not None:
        if column not in header:
            raise DataError(f"{path} has no column {column!r}; available columns: {header}")
        return column
    numeric = [h for i, h in enumerate(header) if h != date_column and _parse_column(body[:20], i)[2] == []]
    if len(numeric) != 1:
        raise DataError(
            f"{path}: say which column to forecast with --column NAME; available columns: {header}"
        )
    return numeric[0]


def _parse_column(body: list[list[str]], index: int) -> tuple[list[float], list[int], list[tuple[int, str]]]:
    """(values, line numbers of missing cells, (line, text) of non-numeric cells)."""
    values: list[float] = []
    missing: list[int] = []
    bad: list[tuple[int, str]] = []
    for line, row in enumerate(body, start=2):
        text = row[index].strip() if index < len(row) else ""
        if text.lower() in ("", "na", "nan", "null", "none"):
            missing.append(line)
            continue
        try:
            value = float(text)
        except ValueError:
            bad.append((line, text))
            continue
        if not math.isfinite(value):
            missing.append(line)
            continue
        values.append(value)
    return values, missing, bad


def load_series(
    data: str | Path,
    *,
    column: str | None = None,
    date_column: str | None = None,
    season: int | None = None,
    seed: int = 0,
) -> Series:
    """A built-in series by name (``sine``, ``sunspots``, ``co2``) or a CSV file by path."""
    if isinstance(data, str) and data in BUILTIN_SERIES:
        series = builtin_series(data, seed=seed)
        if season is not None:
            series.season = season
        return series
    return read_csv_series(data, column, date_column=date_column, season=season)


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
