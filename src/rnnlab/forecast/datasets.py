"""The built-in series (synthetic, or bundled with statsmodels: nothing is downloaded) and the
loader that takes a built-in name or a CSV path.

| name       | what                                                           | columns (target first)  |
|------------|----------------------------------------------------------------|-------------------------|
| `sine`     | sin(0.01 t) + N(0, 0.2²), 1000 steps                           | value                   |
| `sunspots` | yearly sunspot numbers 1700–2008, season 11                    | activity                |
| `co2`      | Mauna Loa CO₂, weekly averaged per month 1958–2001, season 12  | co2                     |
| `macro`    | US macro data 1959Q2–2009Q3 (202 quarters): rates, growth       | infl, unemp, tbilrate, … |
| `lagged`   | synthetic: a target driven by a lagged covariate and a known-ahead input | y, x, c       |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast.csvio import read_csv_series, read_long_csv
from rnnlab.forecast.data import Series, series_from_columns


@dataclass
class Table:
    """A built-in dataset: equal-length float columns, the default target, labels and season."""

    name: str
    columns: dict[str, np.ndarray]
    target: str  # the column forecast when none is named
    times: list[str] | None = None
    season: int | None = None
    note: str = ""


def sine_series(n: int = 1000, noise: float = 0.2, freq: float = 0.01, seed: int = 0) -> Series:
    """The classic synthetic series x_t = sin(freq·t) + ε_t, ε_t ~ N(0, noise²), t = 1 … n."""
    t = np.arange(1, n + 1, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return Series("sine", np.sin(freq * t) + rng.normal(0.0, noise, n))


def lagged_table(n: int = 1000, seed: int = 0) -> Table:
    """A target that a lagged covariate and a known-ahead input drive::

        y_t = 0.5 y_{t−1} + tanh(1.5 x_{t−3}) + c_t + 0.1 ε_t
        x_t = 0.8 x_{t−1} + 0.6 η_t                  (past covariate: known up to the origin)
        c_t ∈ {0, 1}, on/off spells of mean length 10 (future covariate: planned, known ahead)

    with ε, η ~ N(0, 1). Its own past predicts y poorly beyond one step; x predicts it three
    steps ahead (nonlinearly), c at once. The noise floor of a one-step forecast is 0.01.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.8 * x[t - 1] + 0.6 * rng.normal()
    c = np.zeros(n)
    on = False
    for t in range(n):
        if rng.random() < 0.1:  # a spell ends with probability 1/10 per step
            on = not on
        c[t] = float(on)
    y = np.zeros(n)
    for t in range(n):
        lag = np.tanh(1.5 * x[t - 3]) if t >= 3 else 0.0
        y[t] = (0.5 * y[t - 1] if t else 0.0) + lag + c[t] + 0.1 * rng.normal()
    return Table("lagged", {"y": y, "x": x, "c": c}, "y")


def _sunspots() -> Table:
    from statsmodels.datasets import sunspots  # imported here: statsmodels is slow to import

    frame = sunspots.load_pandas().data
    times = [str(int(y)) for y in frame["YEAR"]]
    return Table("sunspots", {"activity": frame["SUNACTIVITY"].to_numpy(np.float64)}, "activity", times, 11)


def _co2() -> Table:
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
    return Table("co2", {"co2": filled.to_numpy(np.float64)}, "co2", times, 12, note)


def _macro() -> Table:
    """statsmodels' US macro data as stationary quarterly rates (% per year).

    infl, unemp, tbilrate and realint as given; gdp/cons/inv_growth = 400 Δlog of real GDP,
    consumption and investment. The first quarter is dropped: it has no growth rate and its
    inflation is recorded as 0.
    """
    from statsmodels.datasets import macrodata

    frame = macrodata.load_pandas().data
    columns = {
        name: frame[name].to_numpy(np.float64)[1:] for name in ("infl", "unemp", "tbilrate", "realint")
    }
    for name, source in (("gdp_growth", "realgdp"), ("cons_growth", "realcons"), ("inv_growth", "realinv")):
        columns[name] = 400.0 * np.diff(np.log(frame[source].to_numpy(np.float64)))
    times = [f"{int(y)}Q{int(q)}" for y, q in zip(frame["year"][1:], frame["quarter"][1:], strict=True)]
    return Table("macro", columns, "infl", times, None, "first quarter dropped (no growth rate)")


def builtin_table(name: str, *, seed: int = 0) -> Table:
    """One of ``BUILTIN_SERIES`` by name."""
    if name == "sine":
        return Table("sine", {"value": sine_series(seed=seed).values}, "value")
    if name in BUILTINS:
        return BUILTINS[name](seed)
    raise ConfigError(f"unknown built-in series {name!r}; options are {list(BUILTIN_SERIES)} or a CSV path")


BUILTINS: dict[str, Callable[[int], Table]] = {
    "sunspots": lambda seed: _sunspots(),
    "co2": lambda seed: _co2(),
    "macro": lambda seed: _macro(),
    "lagged": lambda seed: lagged_table(seed=seed),
}
BUILTIN_SERIES: tuple[str, ...] = ("sine", *BUILTINS)


def load_series(
    data: str | Path,
    *,
    column: str | None = None,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    date_column: str | None = None,
    season: int | None = None,
    seed: int = 0,
) -> Series:
    """A built-in series by name (see the module docstring) or a wide CSV file by path."""
    if isinstance(data, str) and data in BUILTIN_SERIES:
        table = builtin_table(data, seed=seed)
        column = column or table.target
        if column not in table.columns:
            raise DataError(f"{data} has no column {column!r}; available columns: {list(table.columns)}")
        name = table.name if column == table.target else f"{table.name}:{column}"
        return series_from_columns(
            name, table.columns, column, past=covariates, future=future_covariates, times=table.times,
            season=season or table.season, note=table.note,
        )  # fmt: skip
    return read_csv_series(data, column, covariates=covariates, future_covariates=future_covariates,
                           date_column=date_column, season=season)  # fmt: skip


def load_panel(
    data: str | Path,
    *,
    series_column: str | None = None,
    column: str | None = None,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    date_column: str | None = None,
    season: int | None = None,
    seed: int = 0,
) -> list[Series]:
    """Every series of ``data``: many from a long CSV with ``series_column``, else the one series."""
    if series_column is None:
        return [load_series(data, column=column, covariates=covariates, future_covariates=future_covariates,
                            date_column=date_column, season=season, seed=seed)]  # fmt: skip
    if isinstance(data, str) and data in BUILTIN_SERIES:
        raise ConfigError(f"{data} is a single built-in series; --series-column needs a long-format CSV file")
    return read_long_csv(
        data, column, series_column, covariates=covariates, future_covariates=future_covariates,
        date_column=date_column, season=season,
    )  # fmt: skip
