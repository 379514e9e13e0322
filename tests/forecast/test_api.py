"""The forecasting API end to end, with tiny settings: training through the shared Trainer, what
covariates buy, calibrated intervals, a global model over many series, model choice."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.forecast import ForecastConfig, Series, default_train_config, fit_forecaster, run_forecast
from rnnlab.forecast.data import Normaliser, TimeSplit
from rnnlab.forecast.datasets import sine_series
from rnnlab.models.forecasters import ForecasterConfig


def test_training_goes_through_the_trainer_and_learns() -> None:
    """A small GRU trained by the shared Trainer beats the naive forecast's one-step validation MSE."""
    x = sine_series(300).values
    split = TimeSplit.by_fraction(300, 0.2, 0.2)
    z = Normaliser.fit(x, split.n_train).encode(x)
    config = ForecastConfig(window=48, warmup=8)
    train = default_train_config(epochs=10, warmup_steps=0)
    gru = ForecasterConfig(kind="gru", hidden_size=8)
    _model, result = fit_forecaster(z, split, gru, config, train, progress=False)
    assert result.stopped == "completed" and result.step > 0
    valid = z[split.n_train - 1 : split.n_fit]
    assert result.best_val_loss < 0.8 * float(np.mean(np.diff(valid) ** 2))


def _delayed(n: int = 500) -> Series:
    """y_t = x_{t−3} with x white noise: the covariate alone determines the target."""
    x = np.random.default_rng(0).normal(size=n)
    return Series("delay", np.concatenate([np.zeros(3), x[:-3]]), past=x[:, None], past_names=["x"])


def test_a_covariate_that_determines_the_target_is_learnt() -> None:
    """On y_t = x_{t−3}, the AR-MLP with x forecasts k = 1, 2, 3 steps ahead with test MSE near zero
    (< 0.05, var(y) = 1), while the same model without x stays near var(y) (> 0.8); at k = 4 the
    needed x_{t+1} is not known at the origin, so the error returns to ~var(y)."""
    config = ForecastConfig(window=40, warmup=6, horizons=[1, 2, 3, 4], horizon=3)
    result = run_forecast(_delayed(), ["mlp"], config, default_train_config(epochs=12, warmup_steps=0),
                          {"hidden_size": 16, "tau": 4}, arima=False, progress=False)  # fmt: skip
    with_x, without = result.metrics["ar-mlp"], result.metrics["ar-mlp-no-covariates"]
    for k in ("1", "2", "3"):
        assert with_x[k]["mse"] < 0.05 and without[k]["mse"] > 0.8
    assert with_x["4"]["mse"] > 0.5


def test_a_well_specified_gaussian_model_is_calibrated() -> None:
    """On a simulated AR(1) x_t = 0.8 x_{t−1} + ε_t, ε ~ N(0, 1), a Gaussian AR-MLP's central 80 %
    interval covers the test values at the nominal rate within sampling error: 3 binomial standard
    errors √(0.8·0.2/n) one step ahead; four steps ahead the overlapping paths share shocks, so the
    variance is inflated 4-fold. Its one-step CRPS is near the true model's expected CRPS,
    E|X − Y| − ½E|X − X′| = 2/√π − 1/√π = 1/√π ≈ 0.564 for X, X′, Y iid N(0, 1)."""
    rng = np.random.default_rng(0)
    x = np.zeros(1500)
    for t in range(1, 1500):
        x[t] = 0.8 * x[t - 1] + rng.normal()
    config = ForecastConfig(window=64, warmup=4, horizons=[1, 4], horizon=4, quantiles=[0.1, 0.5, 0.9],
                            samples=400)  # fmt: skip
    result = run_forecast(Series("ar1", x), ["mlp"], config, default_train_config(epochs=20, warmup_steps=0),
                          {"hidden_size": 32, "tau": 2, "likelihood": "gaussian"}, arima=False,
                          progress=False)  # fmt: skip
    table = result.metrics["ar-mlp"]
    n = table["1"]["n"]
    assert abs(table["1"]["coverage"]["0.8"] - 0.8) < 3 * np.sqrt(0.16 / n)
    assert abs(table["4"]["coverage"]["0.8"] - 0.8) < 3 * np.sqrt(4 * 0.16 / n)
    assert table["1"]["crps"] == pytest.approx(1 / np.sqrt(np.pi), rel=0.15)


def test_one_global_model_over_many_series() -> None:
    """Three sine waves of very different levels and scales train one model (per-series scaling, a
    series embedding); each series gets its own metrics, the pooled MASE is their row-weighted mean,
    and the global GRU beats the naive forecast four steps ahead on every series."""
    panel = []
    for i, (level, scale) in enumerate([(0.0, 1.0), (500.0, 100.0), (-3.0, 0.01)]):
        s = sine_series(400, noise=0.1, freq=0.1, seed=i)
        panel.append(Series(f"s{i}", level + scale * s.values, key=f"s{i}"))
    config = ForecastConfig(window=48, warmup=8, horizons=[1, 4], horizon=4)
    result = run_forecast(panel, ["gru"], config, default_train_config(epochs=6, warmup_steps=0),
                          {"hidden_size": 16, "embedding_dim": 2}, arima=False, progress=False)  # fmt: skip
    assert len(result.training) == 1 and len(result.parts) == 3
    for part in result.parts:
        assert part.metrics["gru"]["4"]["mase"] < part.metrics["naive"]["4"]["mase"]
    rows = [p.metrics["gru"]["4"] for p in result.parts]
    pooled = result.metrics["gru"]["4"]
    assert pooled["n"] == sum(r["n"] for r in rows)
    assert pooled["mase"] == pytest.approx(sum(r["mase"] * r["n"] for r in rows) / pooled["n"])
    assert set(result.to_json()["series_metrics"]) == {"s0", "s1", "s2"}


def test_select_by_picks_by_validation_error_at_that_horizon() -> None:
    """--select-by K picks the trained model with the lowest rolling-origin validation MSE at K, and a K
    longer than the validation part is refused."""
    config = ForecastConfig(window=48, warmup=8, horizons=[1, 4], horizon=4, select_by=4)
    series = sine_series(300)
    result = run_forecast(series, ["mlp", "gru"], config, default_train_config(epochs=2, warmup_steps=0),
                          {"hidden_size": 8, "tau": 4}, arima=False, progress=False)  # fmt: skip
    errors = result.selection["valid_mse"] if result.selection else {}
    assert result.chosen == min(errors, key=lambda m: errors[m]["4"])
    config.select_by = 64
    with pytest.raises(ConfigError, match="valid-fraction"):
        run_forecast(series, ["mlp"], config, default_train_config(epochs=1), {"tau": 4}, arima=False,
                     progress=False)  # fmt: skip
