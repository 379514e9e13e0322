"""`rnnlab forecast`: train forecasters on a series, score them against baselines, draw and save."""

from __future__ import annotations

import argparse
from typing import Any

from rnnlab.cli.options import given
from rnnlab.errors import ConfigError
from rnnlab.forecast.config import ForecastConfig, default_train_config
from rnnlab.forecast.data import BUILTIN_SERIES
from rnnlab.models.configs import FORECASTERS, ForecasterConfig

EPILOG = """examples:
  rnnlab forecast sine --model gru --horizon 16 --out out/sine         # sin(0.01 t) + N(0, 0.2), 1000 steps
  rnnlab forecast co2 --model lstm --difference --out out/co2.png       # statsmodels' CO₂, monthly
  rnnlab forecast sunspots --model gru,lstm,mlp --test-fraction 0.3 --out out/sunspots
  rnnlab forecast sales.csv --column units --date-column day --season 7 --model gru --out out/sales

DATA is a CSV file with a header row, or a built-in series: sine, sunspots, co2 (bundled with
statsmodels; no download). The series is split by time (train | valid | test); the models
learn on train, keep their best epoch on valid, and forecast from every test origin.
Writes OUT/forecast.png (series, 1-step and k-step predictions, error by horizon) and
OUT/metrics.json (MSE/MAE/MASE per horizon for every model and baseline); the tables are
printed too."""

# flag → key of ForecastConfig / TrainConfig / ForecasterConfig
FORECAST_FLAGS = {
    "horizon": "horizon", "horizons": "horizons", "valid_fraction": "valid_fraction",
    "test_fraction": "test_fraction", "window": "window", "warmup": "warmup", "difference": "difference",
    "direct": "direct", "season": "season", "arima_order": "arima_order", "seed": "seed",
}  # fmt: skip
TRAIN_FLAGS = {"epochs": "epochs", "lr": "lr", "batch": "batch_size", "seed": "seed", "device": "device",
               "max_minutes": "max_minutes"}  # fmt: skip
MODEL_FLAGS = {"tau": "tau", "hidden": "hidden_size", "layers": "num_layers", "impl": "impl"}


def _model_list(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in FORECASTERS]
    if not kinds or bad:
        raise argparse.ArgumentTypeError(f"unknown model(s) {bad or text!r}; options are {list(FORECASTERS)}")
    return kinds


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def register(subparsers: Any) -> None:
    """Add `rnnlab forecast`."""
    p = subparsers.add_parser(
        "forecast",
        help="forecast a time series with AR-MLP/RNN/GRU/LSTM against naive and ARIMA baselines",
        description="Train forecasters on a univariate series, predict 1 and k steps ahead from every test "
        "origin, compare with naive, seasonal-naive and statsmodels ARIMA baselines, and draw the result.",
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
        help=f"one or more of {', '.join(FORECASTERS)}, comma-separated (default gru)",
    )
    model.add_argument("--tau", type=int, help=f"AR-MLP window of past values (default {m.tau})")
    model.add_argument("--hidden", type=int, help=f"hidden units (default {m.hidden_size})")
    model.add_argument("--layers", type=int, help=f"stacked recurrent layers (default {m.num_layers})")
    model.add_argument("--impl", choices=("auto", "fused", "reference"), help="recurrent implementation")
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
    pred.add_argument("--no-arima", action="store_true", help="skip the statsmodels ARIMA baseline")
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


def run(args: argparse.Namespace) -> int:
    """Build the configs from the flags, run the forecast, print the tables, write the files."""
    from rnnlab.forecast.api import MODEL_LABELS, forecast, write_outputs  # torch, statsmodels

    config = ForecastConfig.from_dict(given(args, FORECAST_FLAGS))
    train_config = default_train_config(**given(args, TRAIN_FLAGS))
    if args.horizon < 1:
        raise ConfigError(f"--horizon must be ≥ 1, got {args.horizon}")
    result = forecast(
        args.data, args.model, config.horizon, None, column=args.column, date_column=args.date_column,
        config=config, train_config=train_config, model_overrides=given(args, MODEL_FLAGS),
        arima=not args.no_arima, progress=not args.no_progress,
    )  # fmt: skip
    s = result.split
    print(f"{result.series.name}: {s.n} values; train [0, {s.n_train}) valid [{s.n_train}, {s.n_fit}) "
          f"test [{s.n_fit}, {s.n}); {len(result.origins)} forecast origins")  # fmt: skip
    print(result.report())
    png, js = write_outputs(result, args.out, model=MODEL_LABELS[args.model[0]])
    print(f"\nwrote {png} and {js}")
    return 0
