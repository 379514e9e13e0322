"""Errors by horizon on the sine series and a real series: naive, seasonal naive, statsmodels
ARIMA, AR-MLP, RNN, GRU and LSTM, all on the same time split and the same test origins.

For each series it prints MSE / MAE / MASE tables for k = 1, 4, 16, 64, saves them to
``--json``, and says plainly whether the best recurrent model — chosen by *validation* MSE, not
by the test numbers — beats naive at every horizon, and how it compares with ARIMA.

    PYTHONPATH=src python benchmarks/forecast.py                       # sine and co2 (~5 min, 1 thread)
    PYTHONPATH=src python benchmarks/forecast.py --series sunspots --test-fraction 0.3
    PYTHONPATH=src python benchmarks/forecast.py --png docs/forecast.png   # also draw the sine GRU
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from rnnlab.forecast import ForecastConfig, default_train_config, load_series, run_forecast
from rnnlab.forecast.plots import plot_forecast
from rnnlab.forecast.results import ForecastResult

RECURRENT = ("rnn", "gru", "lstm")
# What each series needs besides the defaults: CO₂ trends out of its training range, so the models
# forecast its monthly changes.
SERIES_SETTINGS: dict[str, dict[str, Any]] = {"sine": {}, "co2": {"difference": True}, "sunspots": {}}


def _beats(result: ForecastResult, model: str, other: str) -> dict[str, bool]:
    """Per scored horizon: does ``model`` have a lower test MSE than ``other``?"""
    out: dict[str, bool] = {}
    for k in result.horizons:
        mine, theirs = result.metrics[model][str(k)]["mse"], result.metrics.get(other, {}).get(str(k), {})
        if mine is not None and theirs.get("mse") is not None:
            out[str(k)] = mine < theirs["mse"]
    return out


def verdict(result: ForecastResult) -> dict[str, Any]:
    """For each recurrent model: does it beat naive / ARIMA at each horizon? And which one is best.

    Two choices of "best" are reported, because they can differ: by validation one-step MSE (an
    honest, test-free choice, but one-step errors of good models all sit at the noise floor) and
    by mean test MASE over the horizons (what the table shows, chosen after seeing it).
    """
    recurrent = [n for n in RECURRENT if n in result.forecasts]
    per_model = {
        n: {"beats_naive": _beats(result, n, "naive"), "beats_arima": _beats(result, n, "arima")}
        for n in recurrent
    }
    by_valid = min(recurrent, key=lambda n: _valid_loss(result, n))
    by_test = min(recurrent, key=lambda n: _mean_mase(result, n))
    return {
        "best_by_validation_mse": by_valid,
        "best_by_test_mase": by_test,
        "per_model": per_model,
        "beats_naive_everywhere": {n: all(v["beats_naive"].values()) for n, v in per_model.items()},
    }


def _valid_loss(result: ForecastResult, name: str) -> float:
    train = result.forecasts[name].train
    return train.best_val_loss if train is not None else float("inf")


def _mean_mase(result: ForecastResult, name: str) -> float:
    values = [c["mase"] for c in result.metrics[name].values() if c["mase"] is not None]
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", nargs="+", default=["sine", "co2"], help="built-in series to run")
    parser.add_argument("--models", nargs="+", default=["mlp", "rnn", "gru", "lstm"], help="forecasters")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs per model")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="last share of each series scored")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, windows and the sine noise")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/forecast.json"), help="output")
    parser.add_argument("--png", type=Path, help="also draw the first series' GRU forecast here")
    args = parser.parse_args()
    torch.set_num_threads(1)  # shared machine; small models gain nothing from more threads
    report: dict[str, Any] = {}
    for i, name in enumerate(args.series):
        start = time.perf_counter()
        config = ForecastConfig(
            test_fraction=args.test_fraction, seed=args.seed, **SERIES_SETTINGS.get(name, {})
        )
        train = default_train_config(epochs=args.epochs, seed=args.seed)
        result = run_forecast(load_series(name, seed=args.seed), args.models, config, train, progress=False)
        seconds = time.perf_counter() - start
        print(f"\n## {result.series.name}  ({len(result.series)} values, {len(result.origins)} test origins, "
              f"{seconds:.0f} s; ARIMA = {result.descriptions['arima']})")  # fmt: skip
        print(result.report())
        v = verdict(result)
        print()
        for n, flags in v["per_model"].items():
            naive_ok = v["beats_naive_everywhere"][n]
            arima_ks = [k for k, ok in flags["beats_arima"].items() if ok]
            print(
                f"{n:>5}: beats naive at every horizon: {naive_ok}; beats ARIMA at k = {arima_ks or 'none'}"
            )
        print(f"best recurrent model by validation MSE: {v['best_by_validation_mse']}; "
              f"by mean test MASE: {v['best_by_test_mase']}")  # fmt: skip
        report[name] = {**result.to_json(), "verdict": v, "seconds": round(seconds, 1)}
        if args.png and i == 0:
            plot_forecast(result, args.png, model="gru" if "gru" in result.forecasts else None)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {args.json}")


if __name__ == "__main__":
    main()
