"""Baselines: naive and seasonal naive, ARIMAX regressors without look-ahead, ARIMAX and VAR fits."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.forecast.baselines import (
    ArimaSpec,
    arima_paths,
    exog_rows,
    seasonal_naive_paths,
    var_paths,
)
from rnnlab.forecast.metrics import true_paths


def test_seasonal_naive_is_exact_on_a_periodic_series() -> None:
    """On a series with period m, the seasonal-naive forecast has zero error at every horizon."""
    x = np.tile([1.0, 5.0, 2.0, 7.0], 10)
    origins = np.arange(3, 30)
    paths = seasonal_naive_paths(x, origins, 9, 4)
    np.testing.assert_array_equal(paths, true_paths(x, origins, 9))


def test_arimax_regressors_hold_past_covariates_after_the_origin() -> None:
    """Row r holds [p_{r−1}, p_{r−2}, f_r]; from origin t, a lag past t is p_t (never a later value),
    and future covariates past the data's end repeat the last one."""
    past = np.arange(10.0)[:, None]
    future = 100 + np.arange(10.0)[:, None]
    rows = exog_rows(past, future, 2, np.array([5, 7, 9]))
    np.testing.assert_array_equal(rows, [[4, 3, 105], [6, 5, 107], [8, 7, 109]])
    held = exog_rows(past, future, 2, np.array([6, 7, 8, 11]), origin=5)
    np.testing.assert_array_equal(held, [[5, 4, 106], [5, 5, 107], [5, 5, 108], [5, 5, 109]])


def _lagged_linear(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y_t = 2 x_{t−1} + 0.01 ε_t with x white noise: one step ahead, x decides y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = np.concatenate(([0.0], 2 * x[:-1])) + 0.01 * rng.normal(size=n)
    return y, x[:, None]


def test_arimax_uses_the_lagged_covariate() -> None:
    """On y_t = 2 x_{t−1} + noise, ARIMAX's one-step error is at the noise level, ARIMA's is ~ var(y) = 4;
    two steps ahead x_{t+1} is unknown (held), so the error grows back. Its one-step predictive σ is
    the noise's."""
    y, x = _lagged_linear()
    origins = np.arange(239, 299)
    actual = true_paths(y, origins, 2)
    spec = ArimaSpec((1, 0, 0))
    arimax, std = arima_paths(y, 240, origins, 2, spec, past=x, lags=2)
    arima, _ = arima_paths(y, 240, origins, 2, spec)
    mse = np.nanmean((actual - arimax) ** 2, axis=0)
    assert mse[0] < 0.01 and np.nanmean((actual - arima) ** 2, axis=0)[0] > 2.0 and mse[1] > 1.0
    assert std.shape == (60, 2) and 0.005 < std[0, 0] < 0.02  # its one-step σ is the noise's 0.01


def test_var_forecasts_a_known_var1() -> None:
    """On a simulated VAR(1) v_t = A v_{t−1} + ε_t, the fitted VAR's k-step forecasts of the target
    match the true conditional means (A^k v_t)₀ closely; without a covariate a VAR is refused."""
    rng = np.random.default_rng(0)
    a = np.array([[0.5, 0.4], [0.0, 0.8]])
    v = np.zeros((2000, 2))
    for t in range(1, 2000):
        v[t] = a @ v[t - 1] + 0.5 * rng.normal(size=2)
    origins = np.arange(1800, 1850)
    paths, lags = var_paths(v[:, 0], v[:, 1:], 1801, origins, 3, max_lags=4)
    truth = np.stack([[(np.linalg.matrix_power(a, k) @ v[t])[0] for k in (1, 2, 3)] for t in origins])
    assert lags >= 1
    np.testing.assert_allclose(paths, truth, atol=0.1)
    with pytest.raises(ConfigError, match="past covariate"):
        var_paths(v[:, 0], np.zeros((2000, 0)), 1801, origins, 3)
