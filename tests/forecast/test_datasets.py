"""The built-in series and the loader of built-in names and CSV paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast.datasets import lagged_table, load_panel, load_series, sine_series


def test_sine_series_is_the_classic_one() -> None:
    """sine: 1000 values, sin(0.01 t) plus noise of standard deviation ≈ 0.2, reproducible by seed."""
    s = sine_series()
    assert s.values.shape == (1000,)
    residual = s.values - np.sin(0.01 * np.arange(1, 1001))
    assert 0.18 < residual.std() < 0.22
    np.testing.assert_array_equal(s.values, sine_series().values)


def test_lagged_series_follows_its_equation() -> None:
    """lagged: y_t − 0.5 y_{t−1} − tanh(1.5 x_{t−3}) − c_t is noise of standard deviation ≈ 0.1; c is 0/1."""
    table = lagged_table(n=2000, seed=1)
    y, x, c = (table.columns[k] for k in ("y", "x", "c"))
    residual = y[3:] - 0.5 * y[2:-1] - np.tanh(1.5 * x[:-3]) - c[3:]
    assert 0.09 < residual.std() < 0.11 and set(np.unique(c)) == {0.0, 1.0}


def test_builtin_with_covariates_and_wrong_names() -> None:
    """A built-in table gives the chosen target and covariates; an unknown column lists the available ones."""
    s = load_series("lagged", covariates=["x"], future_covariates=["c"])
    assert s.name == "lagged" and s.past_names == ["x"] and s.future.shape == (1000, 1)
    with pytest.raises(DataError, match=r"available columns: \['y', 'x', 'c'\]"):
        load_series("lagged", covariates=["z"])


def test_macro_is_quarterly_rates() -> None:
    """macro: 202 quarters from 1959Q2; GDP growth is 400·Δlog real GDP (a percentage rate)."""
    s = load_series("macro", column="gdp_growth", covariates=["unemp", "infl"])
    assert len(s) == 202 and s.times is not None and s.times[0] == "1959Q2"
    assert s.values.min() > -15 and s.values.max() < 20 and s.past.shape == (202, 2)


def test_missing_file_and_builtin_panel(tmp_path: Path) -> None:
    """A path that does not exist names the built-in series; a built-in cannot be split by --series-column."""
    with pytest.raises(DataError, match="built-in"):
        load_series(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="long-format"):
        load_panel("sine", series_column="id")
