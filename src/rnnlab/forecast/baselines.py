"""Baselines on the same origins as the neural models, in the series' own units.

* naive:           x̂_{t+k|t} = x_t                      (the last value; MASE's yardstick)
* seasonal naive:  x̂_{t+k|t} = x_{t+k−m⌈k/m⌉}            (the same point of the last season)
* ARIMA:           statsmodels' ``ARIMA`` fitted once on everything before the test part, then
                   extended with the true test observations up to each origin (no refitting, no
                   look-ahead) and asked for its k-step forecast. With a season m the default is
                   the "airline" model (0,1,1)(0,1,1)_m; without, ARMA(2,1) with a constant.
* ARIMAX:          the same ARIMA with regressors (``exog``): the past covariates at lags
                   1 … m (p_{t−1}, …, p_{t−m}) and the future covariates at t (f_t). Its forecast
                   needs the regressors over the horizon: future covariates are known; past
                   covariates after the origin are not, so they are held at their last known
                   value (a naive forecast of each covariate) — stated, because it handicaps
                   ARIMAX at horizons beyond the shortest useful lag.
* VAR:             statsmodels' vector autoregression of the target and the past covariates
                   together (future covariates as exogenous), lag order by AIC, fitted once on
                   train + valid; it forecasts the covariates jointly with the target, so it
                   needs no held values. With ``difference`` the target enters as its changes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from rnnlab.errors import ConfigError, DataError


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


def exog_rows(
    past: np.ndarray, future: np.ndarray, lags: int, rows: np.ndarray, origin: int | None = None
) -> np.ndarray:
    """ARIMAX regressors (len(rows), P·lags + F): [p_{r−1}, …, p_{r−lags}, f_r] for each row r.

    With ``origin`` t, a past covariate is known up to t only: p_{r−l} with r − l > t is held at
    p_t. Future covariates past the data's end repeat its last value.
    """
    n = len(future)
    parts = []
    for lag in range(1, lags + 1):
        index = rows - lag
        if origin is not None:
            index = np.minimum(index, origin)
        parts.append(past[index])
    parts.append(future[np.minimum(rows, n - 1)])
    return np.concatenate(parts, axis=1)


@contextmanager
def _quiet_statsmodels() -> Iterator[None]:
    # Short series often end the likelihood search with a convergence or frequency warning;
    # the fitted model is still the usual baseline, and the table reports its real errors.
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def arima_paths(
    x: np.ndarray,
    n_fit: int,
    origins: np.ndarray,
    k: int,
    spec: ArimaSpec,
    *,
    past: np.ndarray | None = None,
    future: np.ndarray | None = None,
    lags: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std), each (B, k): forecasts of an ARIMA(X) fitted on ``x[:n_fit]``, from origins
    t ≥ n_fit − 1, and the standard deviations of its Gaussian predictive distributions.

    With ``past`` (N, P) and/or ``future`` (N, F) covariates it is the ARIMAX of the module
    docstring (fitted from row ``lags`` on, where every lag exists). The standard deviations
    treat the held covariate values as known, so ARIMAX intervals are too narrow beyond the lag.
    """
    from statsmodels.tsa.arima.model import ARIMA

    x = np.asarray(x, dtype=np.float64)
    if int(np.min(origins)) < n_fit - 1:
        raise ConfigError(f"ARIMA forecasts start at the end of its fitting data (origin ≥ {n_fit - 1})")
    n = len(x)
    past = np.zeros((n, 0)) if past is None else np.asarray(past, dtype=np.float64)
    future = np.zeros((n, 0)) if future is None else np.asarray(future, dtype=np.float64)
    exog = past.shape[1] + future.shape[1] > 0
    start = lags if past.shape[1] else 0
    if exog and n_fit - start < 10:
        raise DataError(f"ARIMAX needs more than {start + 10} values before the test part, got {n_fit}")

    def regressors(rows: np.ndarray, origin: int | None = None) -> np.ndarray | None:
        return exog_rows(past, future, lags if past.shape[1] else 0, rows, origin) if exog else None

    trend = "c" if spec.order[1] == 0 and spec.seasonal_order[1] == 0 else "n"
    with _quiet_statsmodels():
        fitted = ARIMA(x[start:n_fit], exog=regressors(np.arange(start, n_fit)), order=spec.order,
                       seasonal_order=spec.seasonal_order, trend=trend).fit()  # fmt: skip
        means, stds = [], []
        for t in (int(o) for o in origins):
            known = np.arange(n_fit, t + 1)
            result = fitted.extend(x[known], exog=regressors(known)) if len(known) else fitted
            ahead = result.get_forecast(k, exog=regressors(np.arange(t + 1, t + 1 + k), origin=t))
            means.append(np.asarray(ahead.predicted_mean, dtype=np.float64))
            stds.append(np.asarray(ahead.se_mean, dtype=np.float64))
    return np.stack(means), np.stack(stds)


def var_paths(
    x: np.ndarray,
    past: np.ndarray,
    n_fit: int,
    origins: np.ndarray,
    k: int,
    *,
    future: np.ndarray | None = None,
    max_lags: int = 8,
    difference: bool = False,
) -> tuple[np.ndarray, int]:
    """(B, k) target forecasts of a VAR of [x (or Δx), past covariates], and its lag order p.

    Fitted on the rows before ``n_fit`` with p ≤ ``max_lags`` chosen by AIC; from origin t it
    reads the last p true rows up to t and iterates k steps (future covariates as exogenous).
    """
    from statsmodels.tsa.api import VAR

    x = np.asarray(x, dtype=np.float64)
    if past.shape[1] == 0:
        raise ConfigError("a VAR needs at least one past covariate beside the target")
    u = np.concatenate(([np.nan], np.diff(x))) if difference else x
    endog = np.concatenate([u[:, None], np.asarray(past, dtype=np.float64)], axis=1)
    start = 1 if difference else 0
    n = len(x)
    exog = None if future is None or future.shape[1] == 0 else np.asarray(future, dtype=np.float64)
    with _quiet_statsmodels():
        fitted = VAR(endog[start:n_fit], exog=None if exog is None else exog[start:n_fit]).fit(
            maxlags=min(max_lags, (n_fit - start) // 4), ic="aic"
        )
        p = int(fitted.k_ar)
        out = []
        for t in (int(o) for o in origins):
            ahead = None if exog is None else exog[np.minimum(np.arange(t + 1, t + 1 + k), n - 1)]
            path = fitted.forecast(endog[t + 1 - max(p, 1) : t + 1], k, exog_future=ahead)[:, 0]
            out.append(x[t] + np.cumsum(path) if difference else path)
    return np.stack(out), p
