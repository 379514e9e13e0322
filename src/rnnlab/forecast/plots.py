"""The forecast figure: the series with one-step and k-step predictions, a test close-up (with the
median and the shaded central interval of a probabilistic model), and the error by horizon for
every model and baseline — one PNG. With many series, the first is drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np

from rnnlab.forecast.metrics import central_intervals, error_curve
from rnnlab.forecast.results import ForecastResult


def k_ahead(
    result: ForecastResult, name: str, k: int, paths: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(target index, x̂_{t|t−k}) of ``name`` (or of ``paths``): each test value as forecast k steps before."""
    paths = result.forecasts[name].paths if paths is None else paths
    k = min(k, paths.shape[1])
    targets = result.origins + k
    keep = targets < len(result.series)
    return targets[keep], paths[keep, k - 1]


def _draw_interval(ax: plt.Axes, result: ForecastResult, model: str, k: int) -> None:
    """Median and the widest central interval of ``model``'s k-step-ahead forecasts, shaded."""
    f = result.forecasts[model]
    intervals = central_intervals(list(f.quantiles or {}))
    if f.quantiles is None or not intervals:
        return
    label, lo, hi = intervals[0]
    kt, low = k_ahead(result, model, k, f.quantiles[lo])
    _, high = k_ahead(result, model, k, f.quantiles[hi])
    ax.fill_between(kt, low, high, color="tab:red", alpha=0.18, lw=0,
                    label=f"{model}: central {float(label):.0%} interval, {k}-step")  # fmt: skip


def plot_forecast(result: ForecastResult, path: str | Path, model: str | None = None) -> Path:
    """Draw ``result`` into ``path`` (PNG); ``model`` picks the model whose predictions are drawn."""
    x = result.series.values
    t = np.arange(len(x))
    trained = [n for n, f in result.forecasts.items() if f.one_step is not None]
    model = model if model in result.forecasts else (trained[0] if trained else "naive")
    k = result.config.horizon
    fig = plt.figure(figsize=(13, 8.5), constrained_layout=True)
    grid = fig.add_gridspec(2, 2)
    top, zoom, errs = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    split = result.split
    for ax in (top, zoom):
        ax.axvspan(split.n_train, split.n_fit, color="tab:orange", alpha=0.08, lw=0)
        ax.axvspan(split.n_fit, split.n, color="tab:green", alpha=0.08, lw=0)
        ax.plot(t, x, color="0.55", lw=0.9, label="data")
    one = result.forecasts[model].one_step
    probabilistic = result.forecasts[model].quantiles is not None
    how = "median" if probabilistic else "recursive"
    _draw_interval(zoom, result, model, k)
    for ax in (top, zoom):
        if one is not None:
            ax.plot(t, one, color="tab:blue", lw=1.0, label=f"{model}: 1-step")
        kt, kv = k_ahead(result, model, k)
        ax.plot(kt, kv, color="tab:red", lw=1.2, label=f"{model}: {k}-step ({how})")
    if "arima" in result.forecasts:
        kt, kv = k_ahead(result, "arima", k)
        zoom.plot(kt, kv, color="tab:purple", lw=1.0, ls="--", label=f"ARIMA: {k}-step")
    many = f" (series 1 of {len(result.parts)})" if len(result.parts) > 1 else ""
    top.set_title(f"{result.series.name}{many}: train | valid (orange) | test (green)")
    top.set_xlabel("t")
    top.legend(loc="upper left", fontsize=8, ncol=3)
    zoom.set_xlim(split.n_fit - min(50, split.n_fit // 4), split.n)
    zoom.set_title("test part, close-up")
    zoom.set_xlabel("t")
    zoom.legend(loc="upper left", fontsize=8)
    ks = np.arange(1, result.actual.shape[1] + 1)
    for name, f in result.forecasts.items():
        style = "-" if f.one_step is not None else "--"
        errs.plot(ks, error_curve(result.actual, f.paths), style, lw=1.3, label=name)
    for h in result.horizons:
        errs.axvline(h, color="0.85", lw=0.8, zorder=0)
    errs.set_xscale("log", base=2)
    errs.set_yscale("log")
    errs.set_xlabel("horizon k (steps ahead)")
    errs.set_ylabel("test MSE")
    errs.set_title("error by horizon (errors compound with k)")
    errs.legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
