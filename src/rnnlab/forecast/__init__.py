"""Time-series forecasting: series with past and future covariates, one or many (a global model),
windows for the shared trainer, warm-up, one-step, recursive, sampled and direct prediction,
point and probabilistic (Gaussian / Student-t) forecasts, baselines (naive, seasonal naive,
statsmodels ARIMA, ARIMAX, VAR), errors by horizon (MSE, MAE, MASE, CRPS, coverage), model
choice by validation error at a horizon, and the forecast plot.

Names load on first use (PEP 562), so `rnnlab forecast --help` reads the configs without importing
torch or statsmodels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "ModelSpec": "rnnlab.forecast.api",
    "fit_forecaster": "rnnlab.forecast.api",
    "forecast": "rnnlab.forecast.api",
    "run_forecast": "rnnlab.forecast.api",
    "ForecastConfig": "rnnlab.forecast.config",
    "default_train_config": "rnnlab.forecast.config",
    "read_csv_series": "rnnlab.forecast.csvio",
    "read_long_csv": "rnnlab.forecast.csvio",
    "Normaliser": "rnnlab.forecast.data",
    "Series": "rnnlab.forecast.data",
    "TimeSplit": "rnnlab.forecast.data",
    "load_panel": "rnnlab.forecast.datasets",
    "load_series": "rnnlab.forecast.datasets",
    "sine_series": "rnnlab.forecast.datasets",
    "direct": "rnnlab.forecast.predict",
    "k_step": "rnnlab.forecast.predict",
    "one_step": "rnnlab.forecast.predict",
    "sample_paths": "rnnlab.forecast.predict",
    "states_at": "rnnlab.forecast.predict",
    "ForecastResult": "rnnlab.forecast.results",
    "ModelForecast": "rnnlab.forecast.results",
    "SeriesForecast": "rnnlab.forecast.results",
}

if TYPE_CHECKING:
    from rnnlab.forecast.api import ModelSpec, fit_forecaster, forecast, run_forecast
    from rnnlab.forecast.config import ForecastConfig, default_train_config
    from rnnlab.forecast.csvio import read_csv_series, read_long_csv
    from rnnlab.forecast.data import Normaliser, Series, TimeSplit
    from rnnlab.forecast.datasets import load_panel, load_series, sine_series
    from rnnlab.forecast.predict import direct, k_step, one_step, sample_paths, states_at
    from rnnlab.forecast.results import ForecastResult, ModelForecast, SeriesForecast

__all__ = [
    "ForecastConfig",
    "ForecastResult",
    "ModelForecast",
    "ModelSpec",
    "Normaliser",
    "Series",
    "SeriesForecast",
    "TimeSplit",
    "default_train_config",
    "direct",
    "fit_forecaster",
    "forecast",
    "k_step",
    "load_panel",
    "load_series",
    "one_step",
    "read_csv_series",
    "read_long_csv",
    "run_forecast",
    "sample_paths",
    "sine_series",
    "states_at",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
