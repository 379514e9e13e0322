"""Time-series forecasting: data and splits, windows for the shared trainer, warm-up, one-step,
recursive k-step and direct prediction, baselines (naive, seasonal naive, statsmodels ARIMA),
errors by horizon, and the forecast plot.

Names load on first use (PEP 562), so `rnnlab forecast --help` reads the configs without
importing torch or statsmodels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "ForecastResult": "rnnlab.forecast.api",
    "ModelForecast": "rnnlab.forecast.api",
    "fit_forecaster": "rnnlab.forecast.api",
    "forecast": "rnnlab.forecast.api",
    "run_forecast": "rnnlab.forecast.api",
    "ForecastConfig": "rnnlab.forecast.config",
    "default_train_config": "rnnlab.forecast.config",
    "Normaliser": "rnnlab.forecast.data",
    "Series": "rnnlab.forecast.data",
    "TimeSplit": "rnnlab.forecast.data",
    "load_series": "rnnlab.forecast.data",
    "read_csv_series": "rnnlab.forecast.data",
    "sine_series": "rnnlab.forecast.data",
    "direct": "rnnlab.forecast.predict",
    "k_step": "rnnlab.forecast.predict",
    "one_step": "rnnlab.forecast.predict",
    "states_at": "rnnlab.forecast.predict",
}

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
