"""Baselines on the same origins as the neural models, in the series' own units.

* naive:           x̂_{t+k|t} = x_t                      (the last value; MASE's yardstick)
* seasonal naive:  x̂_{t+k|t} = x_{t+k−m⌈k/m⌉}            (the same point of the last season)
* ARIMA:           statsmodels' ``ARIMA`` fitted once on everything before the test part, then
                   extended with the true test observations up to each origin (no refitting, no
                   look-ahead) and asked for its k-step forecast. With a season m the default is
                   the "airline" model (0,1,1)(0,1,1)_m; without, ARMA(2,1) with a constant.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from rnnlab.errors import ConfigError


def naive_paths(x: np.ndarray, origins: np.ndarray, k: int) -> np.ndarray:
    """(B, k): every step after origin t forecast as x_t."""
    return np.repeat(np.asarray(x, dtype=np.float64)[origins][:, None], k, axis=1)


def seasonal_naive_paths(x: np.ndarray, origins: np.ndarray, k: int, season: int) -> np.ndarray:
    """(B, k): x̂_{t+j|t} = x_{t+j−m⌈j/m⌉}, the value one (or more) seasons earlier that is known at t."""
    if int(np.min(origins)) < season - 1:
        raise ConfigError(f"seasonal naive with season {season} needs origins ≥ {season - 1}")
    j = np.arange(1, k + 1)
    back = season * np.ceil(j / season).astype(np.int64)
    return np.asarray(x, dtype=np.float64)[origins[:, None] + j[None, :] - back[None, :]]


@dataclass
class ArimaSpec:
    """The statsmodels ARIMA baseline's orders; ``label`` names it in tables."""

    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def label(self) -> str:
        p, d, q = self.order
        if self.seasonal_order[3]:
            sp, sd, sq, m = self.seasonal_order
            return f"ARIMA({p},{d},{q})({sp},{sd},{sq})[{m}]"
        return f"ARIMA({p},{d},{q})"

    @classmethod
    def default(cls, season: int | None, order: list[int] | None = None) -> ArimaSpec:
        """Airline model with a season; ARMA(2,1) + constant without (or the given (p, d, q))."""
        if order is not None:
            return cls((order[0], order[1], order[2]), (0, 1, 1, season) if season else (0, 0, 0, 0))
        if season:
            return cls((0, 1, 1), (0, 1, 1, season))
        return cls((2, 0, 1))


def arima_paths(x: np.ndarray, n_fit: int, origins: np.ndarray, k: int, spec: ArimaSpec) -> np.ndarray:
    """(B, k) forecasts of an ARIMA fitted on ``x[:n_fit]``, from origins t ≥ n_fit − 1."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.arima.model import ARIMA

    x = np.asarray(x, dtype=np.float64)
    if int(np.min(origins)) < n_fit - 1:
        raise ConfigError(f"ARIMA forecasts start at the end of its fitting data (origin ≥ {n_fit - 1})")
    trend = "c" if spec.order[1] == 0 and spec.seasonal_order[1] == 0 else "n"
    with warnings.catch_warnings():
        # Short series often end the likelihood search with a convergence or frequency warning;
        # the fitted model is still the usual baseline, and the table reports its real errors.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        fitted = ARIMA(x[:n_fit], order=spec.order, seasonal_order=spec.seasonal_order, trend=trend).fit()
        rows = []
        for t in origins:
            known = x[n_fit : int(t) + 1]
            result = fitted.extend(known) if len(known) else fitted
            rows.append(np.asarray(result.forecast(k), dtype=np.float64))
    return np.stack(rows)
