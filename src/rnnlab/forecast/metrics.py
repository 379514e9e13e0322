"""Errors by horizon: MSE, MAE and MASE of k-step forecasts over the test origins; CRPS and
interval coverage of probabilistic ones.

For origin t and horizon k the error is e = x_{t+k} − x̂_{t+k|t}; a horizon is scored over the
origins whose target exists (t + k < N), so longer horizons have fewer origins. MASE divides the
MAE by the in-sample MAE of the one-step naive forecast on the *training* part,
q = mean_t |x_t − x_{t−1}| (Hyndman & Koehler 2006): MASE < 1 beats the naive forecast's
typical one-step training error. Pooled over many series, every error is divided by its own
series' q, so MASE stays comparable; MSE and MAE then mix the series' units.

A probabilistic forecast is K sampled values per origin and horizon. Its CRPS (continuous ranked
probability score, Gneiting & Raftery 2007) is

    CRPS(F, y) = E|X − y| − ½ E|X − X′|,   X, X′ ~ F independent,

estimated without bias from the samples as mean_i |x_i − y| − Σ_{i,j} |x_i − x_j| / (2K(K − 1)),
with Σ_{i,j} |x_i − x_j| = 2 Σ_i (2i − K − 1) x_(i) over the sorted samples. It is in the units
of the series, equals the MAE for a point forecast, and lower is better. The coverage of the
central interval between the q and 1 − q quantiles is the share of true values inside it; a
calibrated 80 % interval (q = 0.1) covers 80 % of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.errors import ConfigError, DataError


def true_paths(x: np.ndarray, origins: np.ndarray, k: int) -> np.ndarray:
    """(B, k): x_{t+j} for j = 1 … k, NaN where the series has ended."""
    x = np.asarray(x, dtype=np.float64)
    index = origins[:, None] + np.arange(1, k + 1)[None, :]
    out = np.full(index.shape, np.nan)
    inside = index < len(x)
    out[inside] = x[index[inside]]
    return out


def naive_scale(train: np.ndarray) -> float:
    """q = mean |x_t − x_{t−1}| over the training part (the MASE denominator)."""
    train = np.asarray(train, dtype=np.float64)
    if len(train) < 2:
        raise DataError("MASE needs at least two training values")
    q = float(np.mean(np.abs(np.diff(train))))
    return q if q > 0 else 1.0  # a constant training part: report MAE in MASE's place


def crps_from_samples(samples: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """CRPS (B, k) of sampled forecasts ``samples`` (B, K, k) against ``actual`` (B, k); NaN if no value."""
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=1)
    n = x.shape[1]
    if n < 2:
        raise ConfigError("the CRPS estimate needs at least 2 samples per forecast")
    spread_weights = (2 * np.arange(1, n + 1) - n - 1)[None, :, None]
    pair_sum = 2.0 * np.sum(spread_weights * x, axis=1)  # Σ_{i,j} |x_i − x_j|
    with np.errstate(invalid="ignore"):
        return np.mean(np.abs(x - actual[:, None, :]), axis=1) - pair_sum / (2.0 * n * (n - 1))


def central_intervals(levels: list[float]) -> list[tuple[str, float, float]]:
    """(label, q, 1 − q) of every symmetric pair of quantile levels, widest first; label = "1 − 2q"."""
    out = []
    for q in sorted(levels):
        partner = [other for other in levels if abs((1 - q) - other) < 1e-9]
        if q < 0.5 and partner:
            out.append((f"{1 - 2 * q:.6g}", q, partner[0]))
    return out


def check_quantiles(levels: list[float]) -> list[float]:
    """Sorted distinct levels in (0, 1), or a ConfigError naming the bad one."""
    bad = [q for q in levels if not 0 < q < 1]
    if not levels or bad:
        raise ConfigError(
            f"quantiles must be levels strictly between 0 and 1, e.g. 0.1,0.5,0.9; got {levels}"
        )
    return sorted(set(levels))


def horizon_errors(
    actual: np.ndarray,
    predicted: np.ndarray,
    horizons: list[int],
    scale: float | np.ndarray,
    *,
    crps: np.ndarray | None = None,
    quantiles: dict[float, np.ndarray] | None = None,
) -> dict[str, dict[str, Any]]:
    """{"k": {"mse", "mae", "mase", "n"[, "crps", "coverage"]}} per horizon k; None where no origin reaches k.

    ``scale`` is MASE's q, one for all rows or one per row (B,) when rows come from several
    series. With ``crps`` (B, K) and ``quantiles`` {level: (B, K)} the entry gains "crps" and
    "coverage": {"0.8": share inside the central 80 % interval, …} for each symmetric pair.
    """
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (actual.shape[0],))
    intervals = central_intervals(list(quantiles)) if quantiles else []
    table: dict[str, dict[str, Any]] = {}
    for k in horizons:
        empty: dict[str, Any] = {"mse": None, "mae": None, "mase": None, "n": 0}
        if crps is not None:
            empty.update(crps=None, coverage={label: None for label, _, _ in intervals})
        if k > actual.shape[1]:
            table[str(k)] = empty
            continue
        err = actual[:, k - 1] - predicted[:, k - 1]
        keep = np.isfinite(err)
        if not keep.any():
            table[str(k)] = empty
            continue
        e = err[keep]
        entry: dict[str, Any] = {
            "mse": float(np.mean(e**2)),
            "mae": float(np.mean(np.abs(e))),
            "mase": float(np.mean(np.abs(e) / scale[keep])),
            "n": int(keep.sum()),
        }
        if crps is not None:
            entry["crps"] = float(np.mean(crps[keep, k - 1]))
            y = actual[keep, k - 1]
            entry["coverage"] = {
                label: float(np.mean((y >= quantiles[lo][keep, k - 1]) & (y <= quantiles[hi][keep, k - 1])))
                for label, lo, hi in intervals
                if quantiles is not None
            }
        table[str(k)] = entry
    return table


def error_curve(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """MSE for every k = 1 … K (K,), NaN where no origin reaches k (for the error-by-horizon plot)."""
    err2 = (actual - predicted) ** 2
    counts = np.isfinite(err2).sum(axis=0)
    sums = np.nansum(err2, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def format_table(metrics: dict[str, dict[str, dict[str, Any]]], horizons: list[int], metric: str) -> str:
    """A fixed-width table: one row per model, one column per horizon, for ``metric``."""
    """``metric`` is an entry's key ("mse", "crps", …) or "coverage:0.8"; rows without it are left out."""
    width = max(12, *(len(name) for name in metrics))
    head = f"{metric.upper():<{width}}" + "".join(f"{'k=' + str(k):>10}" for k in horizons)
    lines = [head, "-" * len(head)]
    for name, table in metrics.items():
        values = [_cell(table.get(str(k), {}), metric) for k in horizons]
        if not any(metric in entry or metric.startswith("coverage:") for entry in table.values()):
            continue
        if metric.startswith("coverage:") and all(v is None for v in values):
            continue
        cells = [f"{v:>10.4f}" if v is not None else f"{'—':>10}" for v in values]
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)


def _cell(entry: dict[str, Any], metric: str) -> float | None:
    if metric.startswith("coverage:"):
        value = (entry.get("coverage") or {}).get(metric.split(":", 1)[1])
    else:
        value = entry.get(metric)
    return None if value is None else float(value)
