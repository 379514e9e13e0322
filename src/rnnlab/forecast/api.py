"""Forecasting in a few lines: load a series (or many), train forecasters through the shared
``Trainer``, score them against the baselines on the same test origins, and write the PNG and JSON.

    from rnnlab.forecast import forecast
    result = forecast("sine", models=["gru"], horizon=16, out="out/sine")
    print(result.table("mse"))

    result = forecast("lagged", models=["gru"], covariates=["x"], future_covariates=["c"],
                      config=ForecastConfig(quantiles=[0.1, 0.5, 0.9]),
                      model_overrides={"likelihood": "gaussian"})
    result.metrics["gru"]["4"]["crps"], result.metrics["gru-no-covariates"]["4"]["mse"]
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
from rnnlab.forecast import baselines, metrics, predict, selection
from rnnlab.forecast.calibration import spread_factor
from rnnlab.forecast.config import ForecastConfig, default_train_config
from rnnlab.forecast.data import Series, TimeSplit
from rnnlab.forecast.datasets import load_panel
from rnnlab.forecast.encoding import EncodedSeries, SeriesScaler, input_matrix
from rnnlab.forecast.objective import objective_for
from rnnlab.forecast.results import ForecastResult, ModelForecast, SeriesForecast
from rnnlab.forecast.scoring import pad, pooled, score, validation_errors
from rnnlab.forecast.windows import panel_validation, panel_windows
from rnnlab.models.forecasters import FORECASTERS, Forecaster, ForecasterConfig, build_forecaster, set_spread
from rnnlab.train.config import TrainConfig
from rnnlab.train.distributed import is_main_process
from rnnlab.train.trainer import Callback, Trainer, TrainResult

MODEL_LABELS = {kind: "ar-mlp" if kind == "mlp" else kind for kind in FORECASTERS}
KIND_ALIASES = {"ar-mlp": "mlp"}  # the label a user sees is accepted as a kind too


@dataclass
class ModelSpec:
    """One model to train: its label in the tables, its kind, and options on top of the shared ones."""

    label: str
    kind: str
    overrides: dict[str, Any] = field(default_factory=dict)
    covariates: bool = True  # False: the same model on the target alone (the "-no-covariates" twin)

    @classmethod
    def of(cls, model: str | ModelSpec) -> ModelSpec:
        if isinstance(model, ModelSpec):
            return model
        kind = KIND_ALIASES.get(model, model)
        if kind not in FORECASTERS:
            raise ConfigError(
                f"unknown model {model!r}; options are {[MODEL_LABELS[k] for k in FORECASTERS]}"
            )
        return cls(MODEL_LABELS[kind], kind)


class _KeepBest(Callback):
    """Keeps the weights of the best validation evaluation in memory, so the run ends on them."""

    def __init__(self) -> None:
        self.best: dict[str, torch.Tensor] | None = None

    def on_evaluate(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if record.get("best"):
            self.best = copy.deepcopy(trainer.model.state_dict())


def fit_forecaster(
    data: np.ndarray | Sequence[EncodedSeries],
    split: TimeSplit | None,
    model_config: ForecasterConfig,
    config: ForecastConfig,
    train_config: TrainConfig,
    *,
    progress: bool = True,
) -> tuple[Forecaster, TrainResult]:
    """Train one forecaster with the shared ``Trainer`` on the training windows of every series.

    ``data`` is one univariate model-space series z (N,) cut by ``split``, or encoded series
    (each with its own split). Validation is the one-step error of the target on the validation
    parts with the state carried from the first observation (as at test time); the weights of
    the best validation pass are kept.
    """
    if isinstance(data, np.ndarray):
        if split is None:
            raise ConfigError("fit_forecaster needs the split of a plain series")
        data = [EncodedSeries(data, 1, split)]
    torch.manual_seed(train_config.seed)
    model = build_forecaster(model_config)
    warmup = max(config.warmup, model_config.context - 1)  # the MLP needs τ − 1 real inputs first
    if warmup >= config.window:
        raise ConfigError(f"window ({config.window}) must exceed the warm-up ({warmup}); raise --window")
    train_batches = panel_windows(data, length=config.window, warmup=warmup, outputs=model_config.outputs,
                                  batch_size=train_config.batch_size, seed=train_config.seed)  # fmt: skip
    valid = panel_validation(data, outputs=model_config.outputs)
    keep = _KeepBest()
    objective = objective_for(model, config.covariate_weight)
    trainer = Trainer(objective, train_config, train_batches, valid, callbacks=[keep], progress=progress)
    result = trainer.fit()
    if keep.best is not None:
        model.load_state_dict(keep.best)
    return model.cpu().eval(), result


def _decode_one_step(scaler: SeriesScaler, x: np.ndarray, z_hat: np.ndarray, warmup: int) -> np.ndarray:
    """x̂_{t+1|t} placed at index t + 1 (N,), NaN for the first ``warmup`` + 1 positions."""
    levels = scaler.target.decode(z_hat[:, None], x)[:, 0]  # prediction made at origin t
    out = np.full(len(x), np.nan)
    out[1:] = levels[:-1]
    out[: warmup + 1] = np.nan
    return out


def _decode_samples(scaler: SeriesScaler, z: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Model-space samples (B, S, K) → the series' units, each path integrated from its origin's level."""
    b, s, k = z.shape
    return scaler.target.decode(z.reshape(b * s, k), np.repeat(last, s)).reshape(b, s, k)


@dataclass
class _Prepared:
    """One series before any model: its split, scaler, origins and truth."""

    series: Series
    split: TimeSplit
    scaler: SeriesScaler
    part: SeriesForecast
    index: int


def _prepare(series: Series, index: int, config: ForecastConfig, k_max: int) -> _Prepared:
    x = series.values
    try:
        split = TimeSplit.by_fraction(len(x), config.valid_fraction, config.test_fraction)
    except DataError as err:
        raise DataError(f"series {series.key or series.name}: {err}") from None
    scaler = SeriesScaler.fit(series, split.n_train, difference=config.difference)
    origins = np.arange(split.n_fit - 1, len(x) - 1)  # the first forecast targets the first test value
    k = min(k_max, len(x) - split.n_fit)
    part = SeriesForecast(series, split, scaler, origins, metrics.true_paths(x, origins, k),
                          metrics.naive_scale(x[: split.n_train]))  # fmt: skip
    return _Prepared(series, split, scaler, part, index)


def _baselines(
    p: _Prepared, config: ForecastConfig, season: int | None, arima: bool, intervals: bool
) -> dict[str, str]:
    """Naive, seasonal naive, ARIMA, ARIMAX and VAR forecasts of one series; returns their descriptions.

    With ``intervals``, ARIMA and ARIMAX also give their Gaussian predictive quantiles and samples.
    """
    s, part, k = p.series, p.part, p.part.actual.shape[1]
    x, o = s.values, part.origins
    part.forecasts["naive"] = ModelForecast("naive", baselines.naive_paths(x, o, k))
    described = {"naive": "x̂_{t+k} = x_t"}
    if season:
        part.forecasts["seasonal-naive"] = ModelForecast(
            "seasonal-naive", baselines.seasonal_naive_paths(x, o, k, season)
        )
        described["seasonal-naive"] = f"x̂_{{t+k}} = x_{{t+k−{season}⌈k/{season}⌉}}"
    if not arima:
        return described
    spec = baselines.ArimaSpec.default(season, config.arima_order)
    n_fit = p.split.n_fit
    mean, std = baselines.arima_paths(x, n_fit, o, k, spec)
    part.forecasts["arima"] = _gaussian_forecast("arima", mean, std, config, intervals)
    described["arima"] = f"statsmodels {spec.label}, fitted on train+valid, extended with test observations"
    if s.has_covariates:
        mean, std = baselines.arima_paths(x, n_fit, o, k, spec, past=s.past, future=s.future,
                                          lags=config.exog_lags)  # fmt: skip
        part.forecasts["arimax"] = _gaussian_forecast("arimax", mean, std, config, intervals)
        described["arimax"] = (
            f"statsmodels {spec.label} with regressors: past covariates at lags 1…{config.exog_lags} "
            "(held at their last value after the origin), future covariates at t"
        )
    if s.past.shape[1]:
        var_max, diff = config.var_max_lags, config.difference
        paths, lags = baselines.var_paths(x, s.past, n_fit, o, k, future=s.future, max_lags=var_max,
                                          difference=diff)  # fmt: skip
        part.forecasts["var"] = ModelForecast("var", paths)
        target = "target changes" if config.difference else "target"
        described["var"] = (
            f"statsmodels VAR({lags}) of the {target} and past covariates, lag order by AIC "
            f"(≤ {config.var_max_lags})"
        )
    return described


def _gaussian_forecast(
    name: str, mean: np.ndarray, std: np.ndarray, config: ForecastConfig, intervals: bool
) -> ModelForecast:
    """A baseline's forecast; with ``intervals``, also its Gaussian quantiles and samples."""
    f = ModelForecast(name, mean)
    if intervals:
        from scipy import special  # only for probabilistic reports

        f.quantiles = {q: mean + std * special.ndtri(q) for q in config.quantile_levels}
        noise = np.random.default_rng(config.seed).standard_normal(
            (mean.shape[0], config.samples, mean.shape[1])
        )
        f.samples = mean[:, None, :] + std[:, None, :] * noise
    return f


def _specs(
    models: Sequence[str | ModelSpec], series: Sequence[Series], config: ForecastConfig
) -> list[ModelSpec]:
    specs = [ModelSpec.of(m) for m in models]
    if not specs:
        raise ConfigError("give at least one model to train (e.g. --model gru)")
    if series[0].has_covariates and config.without_covariates:
        specs += [ModelSpec(f"{s.label}-no-covariates", s.kind, s.overrides, covariates=False)
                  for s in specs if s.covariates]  # fmt: skip
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"two models share a label in {labels}; give each model once")
    return specs


def _model_config(spec: ModelSpec, overrides: dict[str, Any], series: Series, n_series: int,
                  config: ForecastConfig) -> ForecasterConfig:  # fmt: skip
    settings = {**overrides, **spec.overrides, "kind": spec.kind,
                "outputs": config.horizon if config.direct else 1}  # fmt: skip
    if spec.covariates:
        settings.update(past_covariates=len(series.past_names), future_covariates=len(series.future_names))
    if settings.get("embedding_dim"):
        settings["n_series"] = n_series
    if spec.kind == "mlp":
        settings.pop("conv", None)  # the CNN front end is an option of the recurrent models only
    mcfg = ForecasterConfig.from_dict(settings)
    if mcfg.probabilistic and config.direct and config.difference:
        raise ConfigError(
            "a direct probabilistic head with --difference gives each step's change separately, not "
            "the distribution of their sum; drop --direct or --difference"
        )
    return mcfg


def _forecast_series(
    model: Forecaster, label: str, p: _Prepared, x_in: np.ndarray, config: ForecastConfig,
    trained: TrainResult,
) -> list[ModelForecast]:  # fmt: skip
    """The test (and validation) forecasts of one trained model for one series."""
    mcfg, part, x = model.config, p.part, p.series.values
    k = part.actual.shape[1]
    o, levels = part.origins, config.quantile_levels
    warmup = max(config.warmup, mcfg.context - 1)
    one = _decode_one_step(p.scaler, x, predict.one_step(model, x_in), warmup)
    valid_o = selection.validation_origins(p.split)
    k_valid = max(1, min(max(config.all_horizons), p.split.n_fit - p.split.n_train))
    out = []
    if mcfg.probabilistic:

        def sampled(origins: np.ndarray, steps: int) -> np.ndarray:
            z = predict.sample_paths(model, x_in, origins, steps, config.samples, seed=config.seed)
            return _decode_samples(p.scaler, z, x[origins])

        samples = sampled(o, k)
        median = np.median(samples, axis=1)
        qs = dict(zip(levels, np.quantile(samples, levels, axis=1), strict=True))
        valid = np.median(sampled(valid_o, k_valid), axis=1) if len(valid_o) else None
        out.append(ModelForecast(label, median, one, trained, samples=samples, quantiles=qs,
                                 valid_paths=valid))  # fmt: skip
    else:
        paths = p.scaler.target.decode(predict.k_step(model, x_in, o, k), x[o])
        valid = (p.scaler.target.decode(predict.k_step(model, x_in, valid_o, k_valid), x[valid_o])
                 if len(valid_o) else None)  # fmt: skip
        out.append(ModelForecast(label, paths, one, trained, valid_paths=valid))
    if config.direct:
        theta = predict.direct_parameters(model, x_in, o)  # (B, H, S), model space
        t = p.scaler.target
        centre = pad(t.decode(theta[..., 0], x[o]), k)
        direct = ModelForecast(f"{label}-direct", centre)
        if mcfg.probabilistic:
            from rnnlab.models.likelihoods import quantiles as analytic_quantiles

            zq = analytic_quantiles(mcfg.likelihood, theta, levels)  # (B, H, Q)
            direct.quantiles = {q: pad(t.decode(zq[..., i], x[o]), k) for i, q in enumerate(levels)}
            draws = predict.direct_samples(theta, mcfg.likelihood, config.samples, seed=config.seed)
            direct.samples = np.stack(
                [pad(t.decode(draws[:, s], x[o]), k) for s in range(config.samples)], axis=1
            )
        out.append(direct)
    return out


def run_forecast(
    series: Series | Sequence[Series],
    models: Sequence[str | ModelSpec] = ("gru",),
    config: ForecastConfig | None = None,
    train_config: TrainConfig | None = None,
    model_overrides: dict[str, Any] | None = None,
    *,
    arima: bool = True,
    progress: bool = True,
) -> ForecastResult:
    """Train ``models`` on ``series`` (one, or many for one global model), forecast from every test
    origin, score them and the baselines, and (with ``config.select_by``) choose by validation."""
    config = config or ForecastConfig()
    train_config = train_config or default_train_config()
    panel = [series] if isinstance(series, Series) else list(series)
    if not panel:
        raise DataError("no series to forecast")
    specs = _specs(models, panel, config)
    horizons = config.all_horizons
    prepared = [_prepare(s, i, config, max(horizons)) for i, s in enumerate(panel)]
    season = config.season or panel[0].season
    notes = [panel[0].note] if panel[0].note else []
    short = min(p.part.actual.shape[1] for p in prepared)
    if short < max(horizons):
        notes.append(f"the test part has {short} values, so horizons above {short} are not scored")
    overrides = dict(model_overrides or {})
    configs = [_model_config(spec, overrides, panel[0], len(panel), config) for spec in specs]
    intervals = config.quantiles is not None or any(c.probabilistic for c in configs)
    descriptions: dict[str, str] = {}
    for p in prepared:
        descriptions.update(_baselines(p, config, season, arima, intervals))
    training: dict[str, TrainResult] = {}
    for spec, mcfg in zip(specs, configs, strict=True):
        inputs = [input_matrix(p.series, p.scaler, covariates=spec.covariates, leads=mcfg.outputs,
                               index=p.index if mcfg.embedding_dim else None) for p in prepared]  # fmt: skip
        encoded = [EncodedSeries(x, mcfg.channels, p.split) for x, p in zip(inputs, prepared, strict=True)]
        model, trained = fit_forecaster(encoded, None, mcfg, config, train_config, progress=progress)
        training[spec.label] = trained
        strategy = "ancestral sampling" if mcfg.probabilistic else "recursive"
        descriptions[spec.label] = f"{mcfg.to_dict()} ({strategy})"
        if config.direct:
            descriptions[f"{spec.label}-direct"] = f"{spec.label} multi-output head, H={mcfg.outputs}"
        variants = [(spec.label, 1.0)]
        if config.calibrate and mcfg.probabilistic:
            factor = spread_factor(model, encoded)
            variants.append((f"{spec.label}-calibrated", factor))
            descriptions[variants[-1][0]] = (
                f"{spec.label} with every σ ×{factor:.3f}, the factor that maximises the likelihood of its "
                "one-step validation targets"
            )
        for label, factor in variants:
            set_spread(model, factor)
            for p, x_in in zip(prepared, inputs, strict=True):
                for f in _forecast_series(model, label, p, x_in, config, trained):
                    p.part.forecasts[f.name] = f
        set_spread(model, 1.0)
    parts = [p.part for p in prepared]
    for part in parts:
        for name, f in part.forecasts.items():
            f.description = descriptions.get(name, "")
        score(part, horizons)
    table = pooled(parts, horizons)
    valid_errors = validation_errors(parts, horizons)
    report = selection.selection_report(valid_errors, horizons, config.select_by) if valid_errors else None
    if config.select_by is not None and report is None:
        raise ConfigError("--select-by needs a validation part: set --valid-fraction above 0")
    chosen = report["chosen"] if report is not None and "chosen" in report else specs[0].label
    settings = {"forecast": config.to_dict(), "train": train_config.to_dict(), "model": overrides,
                "season": season, "scaling": [p.scaler.to_dict() for p in prepared]}  # fmt: skip
    return ForecastResult(parts, config, table, chosen, report, notes, settings, descriptions, training)


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
    """Draw ``forecast.png`` (``model``, default the chosen one) and save ``metrics.json``.

    Under torchrun every rank holds the same result and only rank 0 writes the files.
    """
    from rnnlab.forecast.plots import plot_forecast  # matplotlib only when drawing

    writes = is_main_process()
    png, js = output_paths(out, create=writes)
    if not writes:
        return png, js
    plot_forecast(result, png, model=model or result.chosen)
    js.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return png, js


def forecast(
    data: str | Path,
    models: Sequence[str | ModelSpec] = ("gru",),
    horizon: int = 16,
    out: str | Path | None = None,
    *,
    column: str | None = None,
    covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    series_column: str | None = None,
    date_column: str | None = None,
    config: ForecastConfig | None = None,
    train_config: TrainConfig | None = None,
    model_overrides: dict[str, Any] | None = None,
    arima: bool = True,
    progress: bool = True,
) -> ForecastResult:
    """Load ``data`` (a built-in name or a CSV path), train, score and (with ``out``) draw.

    ``horizon`` is the k of the drawn k-step predictions (and is scored besides 1, 4, 16, 64).
    ``series_column`` reads a long-format CSV of many series and trains one global model.
    """
    config = config or ForecastConfig(horizon=horizon)
    config.horizon = horizon
    config.validate()
    panel = load_panel(data, series_column=series_column, column=column, covariates=covariates,
                       future_covariates=future_covariates, date_column=date_column, season=config.season,
                       seed=config.seed)  # fmt: skip
    result = run_forecast(
        panel, models, config, train_config, model_overrides, arima=arima, progress=progress
    )
    if out is not None:
        write_outputs(result, out)
    return result
