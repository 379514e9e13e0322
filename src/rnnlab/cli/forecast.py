"""`rnnlab forecast`: train forecasters on a series, score them against baselines, draw and save."""

from __future__ import annotations

import argparse
from typing import Any

from rnnlab.cli.options import given
from rnnlab.errors import ConfigError
from rnnlab.forecast.config import ForecastConfig, default_train_config
from rnnlab.forecast.datasets import BUILTIN_SERIES
from rnnlab.models.configs import FORECASTERS, IMPLS, LIKELIHOODS, ForecasterConfig

MODEL_NAMES = {"ar-mlp": "mlp", **{kind: kind for kind in FORECASTERS}}

EPILOG = """examples:
  rnnlab forecast sine --model gru --horizon 16 --out out/sine         # sin(0.01 t) + N(0, 0.2), 1000 steps
  rnnlab forecast co2 --model lstm --difference --out out/co2.png       # statsmodels' CO₂, monthly
  rnnlab forecast sunspots --model gru,lstm,mlp --test-fraction 0.3 --out out/sunspots
  rnnlab forecast sales.csv --column units --date-column day --season 7 --model gru --out out/sales
  rnnlab forecast lagged --covariates x --future-covariates c --quantiles 0.1,0.5,0.9 --out out/lagged
  rnnlab forecast lagged --covariates x --model gru,ar-mlp --select-by 4 --out out/choice
  rnnlab forecast macro --column infl --covariates unemp,tbilrate --model lstm --cnn 16 --horizon 4
  rnnlab forecast stores.csv --series-column store --column sales --embedding 4 --out out/stores

DATA is a CSV file with a header row, or a built-in series: sine, sunspots, co2, macro (US
quarterly rates) and lagged (synthetic, with covariates x and c) — the real ones ship with
statsmodels, nothing is downloaded. Each series is split by time (train | valid | test); the
models learn on train, keep their best epoch on valid, and forecast from every test origin.
Past covariates (--covariates) are known up to the origin only (the models forecast them too);
future covariates are known ahead. With covariates, each model is also trained without them
(MODEL-no-covariates) and ARIMAX and VAR baselines join naive and ARIMA. --series-column reads a
long-format CSV (one row per series and time step) and trains one global model over all series.
Writes OUT/forecast.png (series, 1-step and k-step predictions, with --quantiles the median and
shaded interval, error by horizon) and OUT/metrics.json (MSE/MAE/MASE per horizon for every model
and baseline; CRPS and interval coverage for probabilistic models; per series and pooled); the
tables are printed too."""

# flag → key of ForecastConfig / TrainConfig / ForecasterConfig
FORECAST_FLAGS = {
    "horizon": "horizon", "horizons": "horizons", "valid_fraction": "valid_fraction",
    "test_fraction": "test_fraction", "window": "window", "warmup": "warmup", "difference": "difference",
    "direct": "direct", "season": "season", "arima_order": "arima_order", "seed": "seed",
    "quantiles": "quantiles", "samples": "samples", "select_by": "select_by", "exog_lags": "exog_lags",
    "calibrate": "calibrate", "covariate_weight": "covariate_weight",
}  # fmt: skip
TRAIN_FLAGS = {"epochs": "epochs", "lr": "lr", "batch": "batch_size", "seed": "seed", "device": "device",
               "max_minutes": "max_minutes"}  # fmt: skip
MODEL_FLAGS = {"tau": "tau", "hidden": "hidden_size", "layers": "num_layers", "impl": "impl",
               "likelihood": "likelihood", "embedding": "embedding_dim"}  # fmt: skip


def _model_list(text: str) -> list[str]:
    names = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in names if k not in MODEL_NAMES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {bad or text!r}; options are ar-mlp, {', '.join(FORECASTERS[1:])}"
        )
    return [MODEL_NAMES[k] for k in names]


def _name_list(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def register(subparsers: Any) -> None:
    """Add `rnnlab forecast`."""
    p = subparsers.add_parser(
        "forecast",
        help="forecast time series (with covariates, many series, intervals) against naive/ARIMA/VAR",
        description="Train forecasters on a series (with covariates) or many series (one global model), "
        "predict 1 and k steps ahead from every test origin (points or probabilistic intervals), compare "
        "with naive, seasonal-naive, ARIMA, ARIMAX and VAR baselines, and draw the result.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    f, t, m = ForecastConfig(), default_train_config(), ForecasterConfig()
    p.add_argument(
        "data", metavar="DATA", help=f"CSV path, or a built-in series: {', '.join(BUILTIN_SERIES)}"
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--column", metavar="NAME", help="CSV column to forecast (default: the only numeric one)"
    )
    data.add_argument("--date-column", metavar="NAME", help="CSV column of time labels (kept for reference)")
    data.add_argument(
        "--covariates",
        type=_name_list,
        default=[],
        metavar="A,B…",
        help="past covariates: columns known up to the forecast origin only, read as extra inputs",
    )
    data.add_argument(
        "--future-covariates",
        type=_name_list,
        default=[],
        metavar="C,…",
        help="future covariates: columns known ahead (calendar, planned inputs), read at the predicted steps",
    )
    data.add_argument(
        "--series-column",
        metavar="ID",
        help="long-format CSV: the column naming each row's series; trains one global model over all",
    )
    data.add_argument(
        "--season", type=int, metavar="M", help="seasonal period (default: the series' own, if any)"
    )
    data.add_argument(
        "--valid-fraction",
        type=float,
        metavar="F",
        help=f"share before test used to pick the best epoch (default {f.valid_fraction})",
    )
    data.add_argument(
        "--test-fraction",
        type=float,
        metavar="F",
        help=f"last share of the series where forecasts are scored (default {f.test_fraction})",
    )
    data.add_argument(
        "--difference",
        action="store_true",
        default=None,
        help="model the changes x_t − x_{t−1} (for trending series such as co2)",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        type=_model_list,
        default=["gru"],
        metavar="KIND[,KIND…]",
        help=f"one or more of ar-mlp, {', '.join(FORECASTERS[1:])}, comma-separated (default gru)",
    )
    model.add_argument("--tau", type=int, help=f"AR-MLP window of past values (default {m.tau})")
    model.add_argument("--hidden", type=int, help=f"hidden units (default {m.hidden_size})")
    model.add_argument("--layers", type=int, help=f"stacked recurrent layers (default {m.num_layers})")
    model.add_argument("--impl", choices=IMPLS, help="recurrent implementation")
    model.add_argument(
        "--likelihood",
        choices=[k for k in LIKELIHOODS if k != "point"],
        help="probabilistic head trained by negative log-likelihood (default gaussian with --quantiles)",
    )
    model.add_argument(
        "--cnn",
        type=_int_list,
        metavar="C[,C…]",
        help="causal CNN front end before the recurrent layers of rnn/gru/lstm (CNN-LSTM): channels of "
        "each Conv1d layer",
    )
    model.add_argument(
        "--cnn-kernel", type=int, default=3, metavar="K", help="window of each CNN layer (default 3)"
    )
    model.add_argument(
        "--embedding",
        type=int,
        metavar="E",
        help="with --series-column: a learned series embedding of E features (default none)",
    )
    model.add_argument(
        "--covariate-weight",
        type=float,
        metavar="W",
        help="point models: weight in (0, 1] of the predicted past covariates' squared error beside the "
        "target's (default 1; lower keeps a noisy covariate from dominating the loss)",
    )
    model.add_argument(
        "--no-ablation",
        action="store_true",
        help="with covariates, skip training each model again without them (MODEL-no-covariates)",
    )
    model.add_argument(
        "--direct",
        action="store_true",
        default=None,
        help="also train a direct multi-output head for x_{t+1…t+horizon}",
    )
    pred = p.add_argument_group("prediction and scoring")
    pred.add_argument(
        "--horizon",
        type=int,
        default=f.horizon,
        metavar="K",
        help=f"k of the drawn k-step predictions; also scored (default {f.horizon})",
    )
    pred.add_argument(
        "--horizons",
        type=_int_list,
        metavar="K,K…",
        help=f"horizons in the table (default {','.join(map(str, f.horizons))})",
    )
    pred.add_argument("--window", type=int, metavar="L", help=f"training window length (default {f.window})")
    pred.add_argument(
        "--warmup",
        type=int,
        metavar="W",
        help=f"first steps of a window that only build the state (default {f.warmup})",
    )
    pred.add_argument(
        "--quantiles",
        type=_float_list,
        metavar="Q,Q…",
        help="probabilistic forecasts: report these quantiles, CRPS and the coverage of each central "
        "interval (e.g. 0.1,0.5,0.9 → the 80%% interval); implies --likelihood gaussian",
    )
    pred.add_argument(
        "--samples",
        type=int,
        metavar="S",
        help=f"sampled paths per forecast origin of a probabilistic model (default {f.samples})",
    )
    pred.add_argument(
        "--calibrate",
        action="store_true",
        default=None,
        help="also report each probabilistic model as MODEL-calibrated: every σ scaled so its one-step "
        "validation errors have the predicted variance (intervals from NLL training alone run narrow)",
    )
    pred.add_argument(
        "--select-by",
        type=int,
        metavar="K",
        help="choose (and draw) the model with the lowest validation MSE K steps ahead, over rolling "
        "origins in the validation part",
    )
    pred.add_argument(
        "--no-arima", action="store_true", help="skip the statsmodels ARIMA/ARIMAX/VAR baselines"
    )
    pred.add_argument(
        "--exog-lags",
        type=int,
        metavar="M",
        help=f"ARIMAX regressors: past covariates at lags 1…M (default {f.exog_lags})",
    )
    pred.add_argument(
        "--arima-order",
        type=_int_list,
        metavar="P,D,Q",
        help="ARIMA (p,d,q) (default: airline model with a season, else (2,0,1))",
    )
    train = p.add_argument_group("training")
    train.add_argument(
        "--epochs", type=int, metavar="N", help=f"passes over the training windows (default {t.epochs})"
    )
    train.add_argument("--lr", type=float, help=f"peak learning rate (default {t.lr})")
    train.add_argument("--batch", type=int, metavar="B", help=f"windows per update (default {t.batch_size})")
    train.add_argument(
        "--max-minutes", type=float, metavar="M", help="training budget per model (default: none)"
    )
    train.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help=f"where to train (default {t.device})"
    )
    train.add_argument(
        "--seed", type=int, help="seed of weights, window order and the sine's noise (default 0)"
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--out",
        metavar="DIR|FILE.png",
        default="forecast-out",
        help="folder for forecast.png and metrics.json, or a .png path (default forecast-out)",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bar or training log lines")
    p.set_defaults(func=run)


def _model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = given(args, MODEL_FLAGS)
    if args.quantiles is not None and "likelihood" not in overrides:
        overrides["likelihood"] = "gaussian"
    if args.cnn is not None:
        overrides["conv"] = {"channels": args.cnn, "kernel_sizes": [args.cnn_kernel], "causal": True}
    if args.embedding is not None and args.series_column is None:
        raise ConfigError("--embedding tells series apart: it needs --series-column (a long-format CSV)")
    return overrides


def run(args: argparse.Namespace) -> int:
    """Build the configs from the flags, run the forecast, print the tables, write the files."""
    from rnnlab.forecast.api import forecast, write_outputs  # torch: only when the command runs

    config = ForecastConfig.from_dict(
        {**given(args, FORECAST_FLAGS), "without_covariates": not args.no_ablation}
    )
    train_config = default_train_config(**given(args, TRAIN_FLAGS))
    if args.horizon < 1:
        raise ConfigError(f"--horizon must be ≥ 1, got {args.horizon}")
    result = forecast(
        args.data, args.model, config.horizon, None, column=args.column, covariates=args.covariates,
        future_covariates=args.future_covariates, series_column=args.series_column,
        date_column=args.date_column, config=config, train_config=train_config,
        model_overrides=_model_overrides(args), arima=not args.no_arima, progress=not args.no_progress,
    )  # fmt: skip
    s = result.split
    many = f" (first of {len(result.parts)} series)" if len(result.parts) > 1 else ""
    print(f"{result.series.name}{many}: {s.n} values; train [0, {s.n_train}) valid [{s.n_train}, {s.n_fit}) "
          f"test [{s.n_fit}, {s.n}); {len(result.origins)} forecast origins")  # fmt: skip
    print(result.report())
    png, js = write_outputs(result, args.out)
    print(f"\nwrote {png} and {js}")
    return 0
