"""Time-series forecasting: data and splits, windows for the shared trainer, warm-up, one-step,
recursive k-step and direct prediction, baselines (naive, seasonal naive, statsmodels ARIMA),
errors by horizon, and the forecast plot."""

from __future__ import annotations

from rnnlab.forecast.api import ForecastResult, ModelForecast, fit_forecaster, forecast, run_forecast
from rnnlab.forecast.config import ForecastConfig, default_train_config
from rnnlab.forecast.data import Normaliser, Series, TimeSplit, load_series, read_csv_series, sine_series
from rnnlab.forecast.predict import direct, k_step, one_step, states_at

__all__ = [
    "ForecastConfig",
    "ForecastResult",
    "ModelForecast",
    "Normaliser",
    "Series",
    "TimeSplit",
    "default_train_config",
    "direct",
    "fit_forecaster",
    "forecast",
    "k_step",
    "load_series",
    "one_step",
    "read_csv_series",
    "run_forecast",
    "sine_series",
    "states_at",
]
