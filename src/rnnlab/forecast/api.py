"""Forecasting in a few lines: load a series, train forecasters through the shared ``Trainer``,
score them against the baselines on the same test origins, and write the PNG and JSON.

    from rnnlab.forecast import forecast
    result = forecast("sine", models=["gru"], horizon=16, out="out/sine")
    print(result.table("mse"))
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.forecast import baselines, metrics, predict
from rnnlab.forecast.config import ForecastConfig, default_train_config
from rnnlab.forecast.data import Normaliser, Series, TimeSplit, load_series
from rnnlab.forecast.objective import ForecastObjective
from rnnlab.forecast.windows import training_windows, validation_sequence
from rnnlab.models.forecasters import FORECASTERS, Forecaster, ForecasterConfig, build_forecaster
from rnnlab.train.config import TrainConfig
from rnnlab.train.distributed import is_main_process
from rnnlab.train.trainer import Callback, Trainer, TrainResult

MODEL_LABELS = {"mlp": "ar-mlp", "rnn": "rnn", "gru": "gru", "lstm": "lstm"}


@dataclass
class ModelForecast:
    """One model's (or baseline's) predictions in the series' units."""

    name: str
    paths: np.ndarray  # (B, K): x̂_{t+j|t} for the test origins t, j = 1 … K (NaN where not made)
    one_step: np.ndarray | None = None  # (N,): x̂_{t|t−1} at index t, NaN during warm-up (models only)
    train: TrainResult | None = None  # how training ended (models only)
    description: str = ""


@dataclass
class ForecastResult:
    """Everything a forecasting run produced; ``to_json`` is what ``metrics.json`` holds."""

    series: Series
    split: TimeSplit
    config: ForecastConfig
    origins: np.ndarray  # (B,) test origins
    actual: np.ndarray  # (B, K) true values after each origin, NaN past the end
    forecasts: dict[str, ModelForecast]
    metrics: dict[str, dict[str, dict[str, Any]]]
    scale: float  # MASE denominator
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def horizons(self) -> list[int]:
        return self.config.all_horizons

    def table(self, metric: str = "mse") -> str:
        return metrics.format_table(self.metrics, self.horizons, metric)

    def report(self, metric_names: Sequence[str] = ("mse", "mae", "mase")) -> str:
        """The notes (one ``note: …`` line each) and one error-by-horizon table per metric."""
        parts = [f"note: {note}" for note in self.notes]
        parts += ["\n" + self.table(name) for name in metric_names]
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "series": self.series.name,
            "n": len(self.series),
            "split": {"train": [0, self.split.n_train], "valid": [self.split.n_train, self.split.n_fit],
                      "test": [self.split.n_fit, self.split.n]},
            "horizons": self.horizons,
            "origins": len(self.origins),
            "mase_scale": self.scale,
            "metrics": self.metrics,
            "models": {name: f.description for name, f in self.forecasts.items()},
            "training": {
                name: {"stopped": f.train.stopped, "updates": f.train.step,
                       "best_valid_mse": f.train.best_val_loss, "seconds": round(f.train.elapsed_s, 2)}
                for name, f in self.forecasts.items() if f.train is not None
            },
            "settings": self.settings,
            "notes": self.notes,
        }  # fmt: skip


class _KeepBest(Callback):
    """Keeps the weights of the best validation evaluation in memory, so the run ends on them."""

    def __init__(self) -> None:
        self.best: dict[str, torch.Tensor] | None = None

    def on_evaluate(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if record.get("best"):
            self.best = copy.deepcopy(trainer.model.state_dict())


def fit_forecaster(
    z: np.ndarray,
    split: TimeSplit,
    model_config: ForecasterConfig,
    config: ForecastConfig,
    train_config: TrainConfig,
    *,
    progress: bool = True,
) -> tuple[Forecaster, TrainResult]:
    """Train one forecaster on the training windows of ``z`` with the shared ``Trainer``.

    Validation is the one-step MSE on the validation part with the state carried from z_0 (as
    at test time); the weights of the best validation pass are kept.
    """
    torch.manual_seed(train_config.seed)
    model = build_forecaster(model_config)
    warmup = max(config.warmup, model_config.context - 1)  # the MLP needs τ − 1 real inputs first
    if warmup >= config.window:
        raise ConfigError(f"window ({config.window}) must exceed the warm-up ({warmup}); raise --window")
    train_batches = training_windows(
        z, split.n_train, length=config.window, warmup=warmup, outputs=model_config.outputs,
        batch_size=train_config.batch_size, seed=train_config.seed,
    )  # fmt: skip
    valid = None
    if split.n_fit > split.n_train:
        valid = validation_sequence(z, split.n_train, split.n_fit, outputs=model_config.outputs)
    keep = _KeepBest()
    trainer = Trainer(ForecastObjective(model), train_config, train_batches, valid, callbacks=[keep],
                      progress=progress)  # fmt: skip
    result = trainer.fit()
    if keep.best is not None:
        model.load_state_dict(keep.best)
    return model.cpu().eval(), result


def _decode_one_step(norm: Normaliser, x: np.ndarray, z_hat: np.ndarray, warmup: int) -> np.ndarray:
    """x̂_{t+1|t} placed at index t + 1 (N,), NaN for the first ``warmup`` + 1 positions."""
    levels = norm.decode(z_hat[:, None], x)[:, 0]  # prediction made at origin t
    out = np.full(len(x), np.nan)
    out[1:] = levels[:-1]
    out[: warmup + 1] = np.nan
    return out


def _pad(paths: np.ndarray, k: int) -> np.ndarray:
    if paths.shape[1] >= k:
        return paths[:, :k]
    return np.concatenate([paths, np.full((paths.shape[0], k - paths.shape[1]), np.nan)], axis=1)


def run_forecast(
    series: Series,
    models: Sequence[str] = ("gru",),
    config: ForecastConfig | None = None,
    train_config: TrainConfig | None = None,
    model_overrides: dict[str, Any] | None = None,
    *,
    arima: bool = True,
    progress: bool = True,
) -> ForecastResult:
    """Train ``models`` on ``series``, forecast from every test origin, score them and the baselines."""
    config = config or ForecastConfig()
    train_config = train_config or default_train_config()
    unknown = [m for m in models if m not in FORECASTERS]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; options are {list(FORECASTERS)}")
    x = series.values
    split = TimeSplit.by_fraction(len(x), config.valid_fraction, config.test_fraction)
    season = config.season or series.season
    norm = Normaliser.fit(x, split.n_train, difference=config.difference)
    z = norm.encode(x)
    origins = np.arange(split.n_fit - 1, len(x) - 1)  # the first forecast targets the first test value
    k_max = max(config.all_horizons)
    k = min(k_max, len(x) - split.n_fit)
    notes = [series.note] if series.note else []
    if k < k_max:
        notes.append(f"the test part has {len(x) - split.n_fit} values, so horizons above {k} are not scored")
    actual = metrics.true_paths(x, origins, k)
    forecasts: dict[str, ModelForecast] = {
        "naive": ModelForecast("naive", baselines.naive_paths(x, origins, k), description="x̂_{t+k} = x_t")
    }
    if season:
        forecasts["seasonal-naive"] = ModelForecast(
            "seasonal-naive", baselines.seasonal_naive_paths(x, origins, k, season),
            description=f"x̂_{{t+k}} = x_{{t+k−{season}⌈k/{season}⌉}}",
        )  # fmt: skip
    if arima:
        spec = baselines.ArimaSpec.default(season, config.arima_order)
        forecasts["arima"] = ModelForecast(
            "arima", baselines.arima_paths(x, split.n_fit, origins, k, spec),
            description=f"statsmodels {spec.label}, fitted on train+valid, extended with test observations",
        )  # fmt: skip
    overrides = dict(model_overrides or {})
    for kind in models:
        outputs = config.horizon if config.direct else 1
        mcfg = ForecasterConfig.from_dict({**overrides, "kind": kind, "outputs": outputs})
        model, trained = fit_forecaster(z, split, mcfg, config, train_config, progress=progress)
        label = MODEL_LABELS[kind]
        paths = norm.decode(predict.k_step(model, z, origins, k), x[origins])
        one = _decode_one_step(norm, x, predict.one_step(model, z), max(config.warmup, mcfg.context - 1))
        forecasts[label] = ModelForecast(label, paths, one, trained, f"{mcfg.to_dict()} (recursive)")
        if config.direct:
            direct = norm.decode(predict.direct(model, z, origins), x[origins])
            forecasts[f"{label}-direct"] = ModelForecast(
                f"{label}-direct", _pad(direct, k), description=f"{label} multi-output head, H={outputs}"
            )
    scale = metrics.naive_scale(x[: split.n_train])
    table = {name: metrics.horizon_errors(actual, f.paths, config.all_horizons, scale)
             for name, f in forecasts.items()}  # fmt: skip
    settings = {"forecast": config.to_dict(), "train": train_config.to_dict(), "model": overrides,
                "season": season, "normaliser": {"mean": norm.mean, "std": norm.std,
                                                 "difference": norm.difference}}  # fmt: skip
    return ForecastResult(series, split, config, origins, actual, forecasts, table, scale, notes, settings)


def output_paths(out: str | Path, create: bool = True) -> tuple[Path, Path]:
    """(png, json): ``out`` is a folder (created) or a ``.png`` path with metrics.json beside it."""
    out = Path(out)
    if out.suffix.lower() == ".png":
        if create:
            out.parent.mkdir(parents=True, exist_ok=True)
        return out, out.parent / "metrics.json"
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; give a folder (or a path ending in .png)")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out / "forecast.png", out / "metrics.json"


def write_outputs(result: ForecastResult, out: str | Path, model: str | None = None) -> tuple[Path, Path]:
    """Draw ``forecast.png`` and save ``metrics.json``; returns their paths.

    Under torchrun every rank holds the same result and only rank 0 writes the files.
    """
    from rnnlab.forecast.plots import plot_forecast  # matplotlib only when drawing

    writes = is_main_process()
    png, js = output_paths(out, create=writes)
    if not writes:
        return png, js
    plot_forecast(result, png, model=model)
    js.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return png, js


def forecast(
    data: str | Path,
    models: Sequence[str] = ("gru",),
    horizon: int = 16,
    out: str | Path | None = None,
    *,
    column: str | None = None,
    date_column: str | None = None,
    config: ForecastConfig | None = None,
    train_config: TrainConfig | None = None,
    model_overrides: dict[str, Any] | None = None,
    arima: bool = True,
    progress: bool = True,
) -> ForecastResult:
    """Load ``data`` (``sine``, ``sunspots``, ``co2`` or a CSV path), train, score and (with ``out``) draw.

    ``horizon`` is the k of the drawn k-step predictions (and is scored besides 1, 4, 16, 64).
    """
    config = config or ForecastConfig(horizon=horizon)
    config.horizon = horizon
    config.validate()
    series = load_series(data, column=column, date_column=date_column, season=config.season, seed=config.seed)
    result = run_forecast(
        series, models, config, train_config, model_overrides, arima=arima, progress=progress
    )
    if out is not None:
        write_outputs(result, out, model=MODEL_LABELS[models[0]] if models else None)
    return result
