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
from rnnlab.forecast.api import ForecastResult
from rnnlab.forecast.plots import plot_forecast

RECURRENT = ("rnn", "gru", "lstm")
# What each series needs besides the defaults: CO₂ trends out of its training range, so the models
# forecast its monthly changes.
SERIES_SETTINGS: dict[str, dict[str, Any]] = {"sine": {}, "co2": {"difference": True}, "sunspots": {}}


def verdict(result: ForecastResult) -> dict[str, Any]:
    """Best recurrent model by validation MSE, and per horizon whether it beats naive / ARIMA."""
    trained = {n: f.train for n, f in result.forecasts.items() if n in RECURRENT and f.train is not None}
    best = min(trained, key=lambda n: trained[n].best_val_loss)
    rows: dict[str, Any] = {}
    for k in result.horizons:
        cell = result.metrics[best][str(k)]
        if cell["mse"] is None:
            continue
        rows[str(k)] = {
            "beats_naive": cell["mse"] < result.metrics["naive"][str(k)]["mse"],
            "beats_arima": cell["mse"] < result.metrics["arima"][str(k)]["mse"]
            if "arima" in result.metrics
            else None,
        }
    return {"best_recurrent": best, "chosen_by": "validation MSE", "by_horizon": rows,
            "beats_naive_everywhere": all(r["beats_naive"] for r in rows.values())}  # fmt: skip


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
              f"{seconds:.0f} s; ARIMA = {result.forecasts['arima'].description})")  # fmt: skip
        for note in result.notes:
            print(f"note: {note}")
        for metric in ("mse", "mae", "mase"):
            print()
            print(result.table(metric))
        v = verdict(result)
        beats = [k for k, r in v["by_horizon"].items() if r["beats_arima"]]
        print(
            f"\nbest recurrent model (by validation MSE): {v['best_recurrent']}; "
            f"beats naive at every horizon: {v['beats_naive_everywhere']}; "
            f"beats ARIMA at k = {beats or 'none'}"
        )
        report[name] = {**result.to_json(), "verdict": v, "seconds": round(seconds, 1)}
        if args.png and i == 0:
            plot_forecast(result, args.png, model="gru" if "gru" in result.forecasts else None)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {args.json}")


if __name__ == "__main__":
    main()
