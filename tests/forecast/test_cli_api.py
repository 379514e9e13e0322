"""`rnnlab forecast` and the API end to end, with tiny settings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.forecast import ForecastConfig, default_train_config, fit_forecaster
from rnnlab.forecast.data import Normaliser, TimeSplit, sine_series
from rnnlab.models.forecasters import ForecasterConfig
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


def test_training_goes_through_the_trainer_and_learns() -> None:
    """A small GRU trained by the shared Trainer beats the naive forecast's one-step validation MSE."""
    x = sine_series(300).values
    split = TimeSplit.by_fraction(300, 0.2, 0.2)
    z = Normaliser.fit(x, split.n_train).encode(x)
    config = ForecastConfig(window=48, warmup=8)
    train = default_train_config(epochs=10, warmup_steps=0)
    gru = ForecasterConfig(kind="gru", hidden_size=8)
    _model, result = fit_forecaster(z, split, gru, config, train, progress=False)
    assert result.stopped == "completed" and result.step > 0
    valid = z[split.n_train - 1 : split.n_fit]
    assert result.best_val_loss < 0.8 * float(np.mean(np.diff(valid) ** 2))
