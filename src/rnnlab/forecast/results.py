"""What a forecasting run produces: each model's forecasts of each series, their errors, and the
whole result with its ``metrics.json`` form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnlab.forecast import metrics
from rnnlab.forecast.config import ForecastConfig
from rnnlab.forecast.data import Series, TimeSplit
from rnnlab.forecast.encoding import SeriesScaler
from rnnlab.train.trainer import TrainResult


@dataclass
class ModelForecast:
    """One model's (or baseline's) predictions for one series, in the series' units."""

    name: str
    paths: np.ndarray  # (B, K): x̂_{t+j|t} for the test origins t, j = 1 … K (NaN where not made)
    one_step: np.ndarray | None = None  # (N,): x̂_{t|t−1} at index t, NaN during warm-up (models only)
    train: TrainResult | None = None  # how training ended (models only)
    description: str = ""
    samples: np.ndarray | None = None  # (B, S, K) sampled values (probabilistic models)
    crps: np.ndarray | None = None  # (B, K) CRPS of the samples against the truth (once scored)
    quantiles: dict[float, np.ndarray] | None = None  # level → (B, K) (probabilistic models)
    valid_paths: np.ndarray | None = None  # (B_v, K_v) forecasts from the validation origins


@dataclass
class SeriesForecast:
    """Everything forecast for one series: its split, test origins, truth, forecasts and errors."""

    series: Series
    split: TimeSplit
    scaler: SeriesScaler
    origins: np.ndarray  # (B,) test origins
    actual: np.ndarray  # (B, K) true values after each origin, NaN past the end
    scale: float  # MASE denominator
    forecasts: dict[str, ModelForecast] = field(default_factory=dict)
    metrics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass
class ForecastResult:
    """Everything a forecasting run produced; ``to_json`` is what ``metrics.json`` holds.

    ``metrics`` are those of the one series, or pooled over all series of a global model
    (``parts`` holds each series' own); ``chosen`` is the model drawn and, with
    ``select_by``, the one the validation error at that horizon picked.
    """

    parts: list[SeriesForecast]
    config: ForecastConfig
    metrics: dict[str, dict[str, dict[str, Any]]]
    chosen: str | None = None
    selection: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    training: dict[str, TrainResult] = field(default_factory=dict)

    # The single-series view (the first series of a panel).
    @property
    def series(self) -> Series:
        return self.parts[0].series

    @property
    def split(self) -> TimeSplit:
        return self.parts[0].split

    @property
    def origins(self) -> np.ndarray:
        return self.parts[0].origins

    @property
    def actual(self) -> np.ndarray:
        return self.parts[0].actual

    @property
    def forecasts(self) -> dict[str, ModelForecast]:
        return self.parts[0].forecasts

    @property
    def scale(self) -> float:
        return self.parts[0].scale

    @property
    def horizons(self) -> list[int]:
        return self.config.all_horizons

    def table(self, metric: str = "mse") -> str:
        return metrics.format_table(self.metrics, self.horizons, metric)

    def report(self, metric_names: Sequence[str] = ("mse", "mae", "mase")) -> str:
        """The notes (one ``note: …`` line each) and one error-by-horizon table per metric."""
        names = list(metric_names)
        probabilistic = [e for m in self.metrics.values() for e in m.values() if "crps" in e]
        if probabilistic:
            names.append("crps")
            names += [f"coverage:{label}" for label in probabilistic[0]["coverage"]]
        parts = [f"note: {note}" for note in self.notes]
        parts += ["\n" + self.table(name) for name in names]
        if self.selection is not None and self.selection.get("chosen_by_horizon"):
            picks = ", ".join(f"k={k}: {m}" for k, m in self.selection["chosen_by_horizon"].items())
            parts.append(f"\nlowest validation MSE (rolling origins) by horizon: {picks}")
        if self.selection is not None and "chosen" in self.selection:
            parts.append(f"chosen by validation MSE at k={self.selection['select_by']}: {self.chosen}")
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        first = self.parts[0]
        split = first.split
        out: dict[str, Any] = {
            "series": first.series.name if len(self.parts) == 1 else [p.series.key for p in self.parts],
            "n": len(first.series) if len(self.parts) == 1 else [len(p.series) for p in self.parts],
            "split": {"train": [0, split.n_train], "valid": [split.n_train, split.n_fit],
                      "test": [split.n_fit, split.n]},
            "horizons": self.horizons,
            "origins": sum(len(p.origins) for p in self.parts),
            "mase_scale": first.scale if len(self.parts) == 1 else [p.scale for p in self.parts],
            "covariates": {"past": first.series.past_names, "future": first.series.future_names},
            "metrics": self.metrics,
            "models": self.descriptions,
            "chosen": self.chosen,
            "training": {
                name: {"stopped": t.stopped, "updates": t.step, "best_valid_loss": t.best_val_loss,
                       "seconds": round(t.elapsed_s, 2)}
                for name, t in self.training.items()
            },
            "settings": self.settings,
            "notes": self.notes,
        }  # fmt: skip
        if self.selection is not None:
            out["selection"] = self.selection
        if len(self.parts) > 1:
            out["series_metrics"] = {str(p.series.key): p.metrics for p in self.parts}
        return out
