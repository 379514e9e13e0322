"""`rnnlab forecast` end to end with tiny settings: files, the metrics.json layout, covariates,
probabilistic forecasts, many series, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.forecast.datasets import lagged_table
from tests.test_cli import subcommand_parser

TINY = [
    "--epochs",
    "1",
    "--window",
    "24",
    "--warmup",
    "4",
    "--hidden",
    "4",
    "--no-progress",
    "--device",
    "cpu",
]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _csv(tmp_path: Path) -> Path:
    t = np.arange(120)
    rows = "\n".join(f"2020-{i},{math.sin(i / 5):.4f},x" for i in t)
    path = tmp_path / "wave.csv"
    path.write_text("day,level,tag\n" + rows + "\n", encoding="utf-8")
    return path


def test_cli_writes_png_and_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`forecast CSV --column --model --horizon --out DIR` writes DIR/forecast.png and DIR/metrics.json
    holding MSE/MAE/MASE per horizon for the model and every baseline; the tables are printed."""
    out = tmp_path / "out"
    args = ["forecast", str(_csv(tmp_path)), "--column", "level", "--date-column", "day", "--model", "gru",
            "--horizon", "4", "--horizons", "1,4,64", "--out", str(out), *TINY]  # fmt: skip
    assert main(args) == 0
    assert (out / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "metrics.json").read_text())
    assert set(data["metrics"]) == {"naive", "arima", "gru"}
    assert data["horizons"] == [1, 4, 64]
    row = data["metrics"]["gru"]["4"]
    assert set(row) == {"mse", "mae", "mase", "n"} and row["mse"] >= 0
    assert data["metrics"]["naive"]["64"]["mse"] is None  # the 24-value test part is shorter than 64
    printed = capsys.readouterr().out
    assert "MASE" in printed and "k=4" in printed


def test_cli_png_path_and_csv_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out FILE.png writes that PNG with metrics.json beside it; a wrong column exits 2 listing columns."""
    png = tmp_path / "plots" / "mlp.png"
    args = ["forecast", str(_csv(tmp_path)), "--column", "level", "--model", "mlp", "--horizon", "2",
            "--horizons", "1,2", "--no-arima", "--tau", "3", "--out", str(png), *TINY]  # fmt: skip
    assert main(args) == 0
    assert png.is_file() and (png.parent / "metrics.json").is_file()
    assert main(["forecast", str(_csv(tmp_path)), "--column", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "available columns: ['day', 'level', 'tag']" in capsys.readouterr().err


def test_forecast_help_shows_the_sine_example() -> None:
    """The help carries the built-in sine example (every option's help is checked in tests/test_cli.py)."""
    assert "rnnlab forecast sine" in (subcommand_parser("forecast").epilog or "")


def test_cli_covariates_and_quantiles_metrics_layout(tmp_path: Path) -> None:
    """With --covariates, --future-covariates and --quantiles: metrics.json keeps metrics[MODEL][k] =
    {mse, mae, mase, n} for every model and baseline, adds gru-no-covariates, arimax and var, and each
    entry of the (probabilistic) gru gains "crps" and "coverage" {"0.8": share}; --calibrate adds
    MODEL-calibrated entries; the PNG is written."""
    table = lagged_table(n=120)
    rows = "\n".join(f"{y:.5f},{x:.5f},{c:.0f}" for y, x, c in zip(*table.columns.values(), strict=True))
    path = tmp_path / "lagged.csv"
    path.write_text("y,x,c\n" + rows + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["forecast", str(path), "--column", "y", "--covariates", "x", "--future-covariates", "c",
            "--model", "gru", "--horizon", "3", "--horizons", "1,3", "--quantiles", "0.1,0.5,0.9",
            "--samples", "20", "--arima-order", "1,0,0", "--exog-lags", "1", "--calibrate", "--out", str(out),
            *TINY]  # fmt: skip
    assert main(args) == 0
    assert (out / "forecast.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((out / "metrics.json").read_text())
    assert set(data["metrics"]) == {"naive", "arima", "arimax", "var", "gru", "gru-no-covariates",
                                    "gru-calibrated", "gru-no-covariates-calibrated"}  # fmt: skip
    for name in ("naive", "arimax", "var", "gru-no-covariates"):
        assert {"mse", "mae", "mase", "n"} <= set(data["metrics"][name]["3"])
    entry = data["metrics"]["gru"]["3"]
    assert set(entry) == {"mse", "mae", "mase", "n", "crps", "coverage"}
    assert set(entry["coverage"]) == {"0.8"} and 0 <= entry["coverage"]["0.8"] <= 1 and entry["crps"] > 0
    assert data["covariates"] == {"past": ["x"], "future": ["c"]}
    assert data["settings"]["model"]["likelihood"] == "gaussian"


def test_cli_many_series_and_select_by(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--series-column trains one global model (with --embedding) and reports per-series and pooled
    metrics; --select-by names the chosen model; --cnn gives the recurrent model a causal front end."""
    lines = ["shop,t,sales"]
    for shop, scale in (("a", 1.0), ("b", 50.0)):
        lines += [f"{shop},{i},{scale * math.sin(i / 4) + scale:.4f}" for i in range(90)]
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "many"
    args = ["forecast", str(path), "--series-column", "shop", "--column", "sales", "--date-column", "t",
            "--model", "gru,ar-mlp", "--cnn", "4", "--embedding", "2", "--tau", "3", "--horizon", "2",
            "--horizons", "1,2", "--select-by", "2", "--valid-fraction", "0.2", "--no-arima",
            "--out", str(out), *TINY]  # fmt: skip
    assert main(args) == 0
    data = json.loads((out / "metrics.json").read_text())
    assert data["series"] == ["a", "b"] and set(data["series_metrics"]) == {"a", "b"}
    assert data["metrics"]["gru"]["2"]["n"] == sum(data["series_metrics"][s]["gru"]["2"]["n"] for s in "ab")
    assert data["chosen"] == data["selection"]["chosen"] in {"gru", "ar-mlp"}
    assert "'conv': {'channels': (4,)" in data["models"]["gru"]
    assert "chosen by validation MSE at k=2" in capsys.readouterr().out


def test_cli_long_format_and_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing series column lists the columns; --embedding without --series-column says what it needs."""
    path = tmp_path / "long.csv"
    path.write_text("id,v\na,1\na,2\n", encoding="utf-8")
    assert main(["forecast", str(path), "--series-column", "shop", "--out", str(tmp_path / "x")]) == 2
    assert (
        "no series column (--series-column) 'shop'; available columns: ['id', 'v']" in capsys.readouterr().err
    )
    assert main(["forecast", "sine", "--embedding", "2", "--out", str(tmp_path / "y")]) == 2
    assert "--series-column" in capsys.readouterr().err
