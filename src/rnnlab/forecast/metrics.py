"""Errors by horizon: MSE, MAE and MASE of k-step forecasts over the test origins.

For origin t and horizon k the error is e = x_{t+k} − x̂_{t+k|t}; a horizon is scored over the
origins whose target exists (t + k < N), so longer horizons have fewer origins. MASE divides the
MAE by the in-sample MAE of the one-step naive forecast on the *training* part,
q = mean_t |x_t − x_{t−1}| (Hyndman & Koehler 2006): MASE < 1 beats the naive forecast's
typical one-step training error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.errors import DataError


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


def horizon_errors(
    actual: np.ndarray, predicted: np.ndarray, horizons: list[int], scale: float
) -> dict[str, dict[str, Any]]:
    """{"k": {"mse", "mae", "mase", "n"}} for each horizon k; None where no origin reaches k."""
    table: dict[str, dict[str, Any]] = {}
    for k in horizons:
        if k > actual.shape[1]:
            table[str(k)] = {"mse": None, "mae": None, "mase": None, "n": 0}
            continue
        err = actual[:, k - 1] - predicted[:, k - 1]
        err = err[np.isfinite(err)]
        if len(err) == 0:
            table[str(k)] = {"mse": None, "mae": None, "mase": None, "n": 0}
            continue
        mae = float(np.mean(np.abs(err)))
        table[str(k)] = {"mse": float(np.mean(err**2)), "mae": mae, "mase": mae / scale, "n": len(err)}
    return table


def error_curve(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """MSE for every k = 1 … K (K,), NaN where no origin reaches k (for the error-by-horizon plot)."""
    err2 = (actual - predicted) ** 2
    counts = np.isfinite(err2).sum(axis=0)
    sums = np.nansum(err2, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def format_table(metrics: dict[str, dict[str, dict[str, Any]]], horizons: list[int], metric: str) -> str:
    """A fixed-width table: one row per model, one column per horizon, for ``metric``."""
    width = max(12, *(len(name) for name in metrics))
    head = f"{metric.upper():<{width}}" + "".join(f"{'k=' + str(k):>10}" for k in horizons)
    lines = [head, "-" * len(head)]
    for name, table in metrics.items():
        cells = []
        for k in horizons:
            value = table.get(str(k), {}).get(metric)
            cells.append(f"{value:>10.4f}" if value is not None else f"{'—':>10}")
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)
