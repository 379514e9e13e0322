"""Forecasting with covariates, probabilistic forecasts and model choice, against classical models.

On a synthetic series whose target depends on a lagged covariate (``lagged``: y_t = 0.5 y_{t−1} +
tanh(1.5 x_{t−3}) + c_t + 0.1 ε_t, x a past covariate, c a known-ahead on/off input) and on real
quarterly US macro data (statsmodels' macrodata: inflation with unemployment and the T-bill rate;
unemployment with GDP growth and inflation), all on the same split and test origins:

* classical: naive, ARIMA, ARIMAX (covariates as regressors), VAR (target + past covariates);
* univariate GRU / LSTM (``-no-covariates``), GRU / LSTM with covariates, CNN-LSTM (causal
  Conv1d front end) with covariates;
* probabilistic GRU (Gaussian and Student-t heads, trained by NLL, forecast by ancestral sampling):
  CRPS and 80 % interval coverage, as trained and with σ recalibrated on the validation part
  (``-calibrated``), beside ARIMA(X)'s own Gaussian intervals.

It prints MSE / MASE / CRPS / coverage tables by horizon, which model each selection rule picks
(lowest validation MSE at k over rolling origins: the one-step rule is k = 1), and plainly which
family wins at each horizon; saves everything to ``--json`` and draws the probabilistic GRU on
the first dataset to ``--png``.

    PYTHONPATH=src nice -n 10 python benchmarks/forecast_covariates.py     # ~30 min on 1 busy thread
    PYTHONPATH=src python benchmarks/forecast_covariates.py --datasets macro-infl --epochs 10
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.forecast import ForecastConfig, ModelSpec, default_train_config, load_series, run_forecast
from rnnlab.forecast.data import Series
from rnnlab.forecast.metrics import format_table
from rnnlab.forecast.plots import plot_forecast
from rnnlab.forecast.results import ForecastResult

CLASSICAL = ("naive", "seasonal-naive", "arima", "arimax", "var")
CNN = {"channels": [16], "kernel_sizes": [3], "causal": True}
MODELS = [
    ModelSpec("gru-no-covariates", "gru", covariates=False),
    ModelSpec("lstm-no-covariates", "lstm", covariates=False),
    ModelSpec("gru", "gru"),
    ModelSpec("lstm", "lstm"),
    ModelSpec("cnn-lstm", "lstm", {"conv": CNN}),
    ModelSpec("gru-gaussian", "gru", {"likelihood": "gaussian"}),
    ModelSpec("gru-student-t", "gru", {"likelihood": "student-t"}),
]


def dataset(name: str, seed: int) -> tuple[Series, dict[str, Any]]:
    """The series and the ForecastConfig settings of each benchmark dataset."""
    if name == "lagged":
        series = load_series("lagged", covariates=["x"], future_covariates=["c"], seed=seed)
        return series, {"horizons": [1, 3, 4, 16], "horizon": 4}
    quarterly = {"horizons": [1, 2, 4, 8], "horizon": 4, "window": 32, "warmup": 8, "valid_fraction": 0.15}
    if name == "macro-infl":
        return load_series("macro", column="infl", covariates=["unemp", "tbilrate"]), quarterly
    if name == "macro-unemp":
        return load_series("macro", column="unemp", covariates=["gdp_growth", "infl"]), quarterly
    raise SystemExit(f"unknown dataset {name!r}; options: lagged, macro-infl, macro-unemp")


def mean_metrics(results: list[ForecastResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """metrics[model][k] averaged over seeds (coverage per level too), with the MSE's sd across seeds."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, table in results[0].metrics.items():
        out[name] = {}
        for k, entry in table.items():
            rows = [r.metrics[name][k] for r in results]
            avg: dict[str, Any] = {"n": entry["n"]}
            for key in ("mse", "mae", "mase", "crps"):
                if entry.get(key) is not None:
                    avg[key] = float(np.mean([r[key] for r in rows]))
            if entry.get("mse") is not None:
                avg["mse_sd"] = float(np.std([r["mse"] for r in rows]))
            if entry.get("coverage"):
                avg["coverage"] = {
                    q: float(np.mean([r["coverage"][q] for r in rows])) for q in entry["coverage"]
                }
            out[name][k] = avg
    return out


def verdict(metrics: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per horizon: the best classical and the best neural model by (mean) test MSE, and which wins."""
    out: dict[str, Any] = {}
    for k in next(iter(metrics.values())):
        scored = {n: t[k]["mse"] for n, t in metrics.items() if t[k].get("mse") is not None}
        classical = {n: v for n, v in scored.items() if n in CLASSICAL}
        neural = {n: v for n, v in scored.items() if n not in CLASSICAL}
        if not classical or not neural:
            continue
        best_c, best_n = min(classical, key=classical.__getitem__), min(neural, key=neural.__getitem__)
        out[k] = {
            "best_classical": best_c,
            "best_classical_mse": classical[best_c],
            "best_neural": best_n,
            "best_neural_mse": neural[best_n],
            "winner": "classical" if classical[best_c] <= neural[best_n] else "neural",
            "covariates_help": {
                kind: scored[kind] < scored[f"{kind}-no-covariates"]
                for kind in ("gru", "lstm")
                if kind in scored and f"{kind}-no-covariates" in scored
            },
        }
    return out


def chosen_by_validation(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per horizon k: the test MSE of the model each seed's validation rule at k chose, averaged over
    seeds — the honest neural entry (the table's best neural row is picked after seeing the test)."""
    out: dict[str, dict[str, Any]] = {}
    for k in runs[0]["selection"]["chosen_by_horizon"]:
        picks = [run["selection"]["chosen_by_horizon"][k] for run in runs]
        mses = [run["metrics"][pick][k]["mse"] for run, pick in zip(runs, picks, strict=True)]
        out[k] = {"models": picks, "test_mse": float(np.mean(mses))}
    return out


def run_dataset(name: str, seed: int, args: argparse.Namespace) -> ForecastResult:
    series, settings = dataset(name, seed)
    config = ForecastConfig(quantiles=[0.1, 0.5, 0.9], samples=args.samples, seed=seed,
                            without_covariates=False, calibrate=True,
                            covariate_weight=args.covariate_weight, **settings)  # fmt: skip
    train = default_train_config(epochs=args.epochs, seed=seed)
    start = time.perf_counter()
    result = run_forecast(series, MODELS, config, train, progress=False)
    s = result.split
    seconds = time.perf_counter() - start
    parts = f"train/valid/test {s.n_train}/{s.n_fit - s.n_train}/{s.n - s.n_fit}"
    print(f"\n## {name}, seed {seed}: {series.name}, {len(series)} steps, covariates past "
          f"{series.past_names} future {series.future_names}; {parts}, {len(result.origins)} test "
          f"origins, {seconds:.0f} s")  # fmt: skip
    print(result.report(("mse",)))
    times = {n: round(t.elapsed_s, 1) for n, t in result.training.items()}
    print(f"training seconds (loaded machine): {times}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["lagged", "macro-infl", "macro-unemp"],
                        help="lagged, macro-infl, macro-unemp")  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds of weights, windows and samples (and of the synthetic data)")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=30, help="training epochs per model")
    parser.add_argument("--samples", type=int, default=200, help="sampled paths per origin (probabilistic)")
    parser.add_argument("--covariate-weight", type=float, default=1.0,
                        help="point models: weight of the predicted covariates in the loss")  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/forecast_covariates.json"),
                        help="where the results go")  # fmt: skip
    parser.add_argument("--png", type=Path, help="draw the calibrated Gaussian GRU (first dataset and seed)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # shared machine; small models gain nothing from more threads
    report: dict[str, Any] = {
        "settings": {
            "epochs": args.epochs,
            "samples": args.samples,
            "seeds": args.seeds,
            "covariate_weight": args.covariate_weight,
        }
    }
    for i, name in enumerate(args.datasets):
        results = [run_dataset(name, seed, args) for seed in args.seeds]
        if args.png and i == 0:
            plot_forecast(results[0], args.png, model="gru-gaussian-calibrated")
            print(f"drew {args.png}")
        metrics = mean_metrics(results)
        v = verdict(metrics)
        picks = [r.selection["chosen_by_horizon"] if r.selection else {} for r in results]
        print(f"\n## {name}: mean over seeds {args.seeds}")
        for metric in ("mse", "mse_sd", "mase", "crps", "coverage:0.8"):
            print("\n" + format_table(metrics, results[0].horizons, metric))
        print()
        for k, row in v.items():
            print(f"k={k:>3}: best classical {row['best_classical']} ({row['best_classical_mse']:.4f}), "
                  f"best neural {row['best_neural']} ({row['best_neural_mse']:.4f}) → {row['winner']} wins; "
                  f"covariates help: {row['covariates_help']}")  # fmt: skip
        for seed, pick in zip(args.seeds, picks, strict=True):
            print(f"seed {seed}: lowest validation MSE (rolling origins) by horizon: {pick}")
        runs = [r.to_json() for r in results]
        honest = chosen_by_validation(runs)
        for k, row in honest.items():
            print(f"k={k:>3}: chosen by validation MSE at k: {row['models']}, test MSE {row['test_mse']:.4f}")
        report[name] = {
            "mean_metrics": metrics,
            "verdict": v,
            "chosen_by_horizon": picks,
            "chosen_by_validation": honest,
            "runs": runs,
        }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {args.json}")


if __name__ == "__main__":
    main()
