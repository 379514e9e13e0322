"""Scoring forecasts: errors by horizon per series, pooled over many series, and on validation.

Each series' forecasts are scored on its own test origins (:func:`score`); a global model's
errors are also pooled over the test origins of every series (:func:`pooled`, each MASE by its
own series' scale); and every trained model's forecasts from the rolling *validation* origins
give the errors that model choice uses (:func:`validation_errors`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.forecast import metrics, selection
from rnnlab.forecast.results import SeriesForecast


def pad(paths: np.ndarray, k: int) -> np.ndarray:
    if paths.shape[1] >= k:
        return paths[:, :k]
    return np.concatenate([paths, np.full((paths.shape[0], k - paths.shape[1]), np.nan)], axis=1)


def score(part: SeriesForecast, horizons: list[int]) -> None:
    for f in part.forecasts.values():
        if f.samples is not None:
            f.crps = metrics.crps_from_samples(f.samples, part.actual)
    part.metrics = {
        name: metrics.horizon_errors(part.actual, f.paths, horizons, part.scale, crps=f.crps,
                                     quantiles=f.quantiles)
        for name, f in part.forecasts.items()
    }  # fmt: skip


def pooled(parts: list[SeriesForecast], horizons: list[int]) -> dict[str, dict[str, dict[str, Any]]]:
    """Errors over the rows of every series together (each row's MASE by its own series' scale)."""
    if len(parts) == 1:
        return parts[0].metrics
    k = max(p.actual.shape[1] for p in parts)
    actual = np.concatenate([pad(p.actual, k) for p in parts])
    scale = np.concatenate([np.full(len(p.origins), p.scale) for p in parts])
    table = {}
    for name in parts[0].forecasts:
        fs = [p.forecasts[name] for p in parts]
        paths = np.concatenate([pad(f.paths, k) for f in fs])
        crps = quantiles = None
        if fs[0].crps is not None:
            crps = np.concatenate([pad(f.crps, k) for f in fs if f.crps is not None])
            quantiles = {q: np.concatenate([pad(f.quantiles[q], k) for f in fs if f.quantiles is not None])
                         for q in (fs[0].quantiles or {})}  # fmt: skip
        table[name] = metrics.horizon_errors(actual, paths, horizons, scale, crps=crps, quantiles=quantiles)
    return table


def validation_errors(parts: list[SeriesForecast], horizons: list[int]) -> dict[str, dict[str, float | None]]:
    """Validation MSE by horizon of every trained model, pooled over the series' rolling origins."""
    names = [n for n, f in parts[0].forecasts.items() if f.valid_paths is not None]
    errors = {}
    for name in names:
        k = max(p.forecasts[name].valid_paths.shape[1] for p in parts)  # type: ignore[union-attr]
        actual, paths = [], []
        for p in parts:
            f = p.forecasts[name]
            if f.valid_paths is None:
                continue
            o = selection.validation_origins(p.split)
            actual.append(
                pad(metrics.true_paths(p.series.values[: p.split.n_fit], o, f.valid_paths.shape[1]), k)
            )
            paths.append(pad(f.valid_paths, k))
        errors[name] = selection.validation_mse(np.concatenate(actual), np.concatenate(paths), horizons)
    return errors
