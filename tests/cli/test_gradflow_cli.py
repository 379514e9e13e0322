"""`rnnlab gradflow` writes the picture and the JSON, and reports bad options as errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.cli import main

CELLS = ["rnn-tanh", "rnn-sigmoid", "rnn-relu", "lstm", "gru"]


def test_gradflow_writes_png_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0, a PNG, a JSON {cell: {distance: norm}} for all five cells, and the table on stdout."""
    png, js = tmp_path / "grad.png", tmp_path / "grad.json"
    code = main(
        [
            "gradflow",
            "--out",
            str(png),
            "--json",
            str(js),
            "--length",
            "12",
            "--hidden",
            "8",
            "--samples",
            "4",
        ]
    )
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert list(data) == CELLS
    for norms in data.values():
        assert list(norms) == [str(d) for d in range(13)]
        assert all(v > 0 for v in norms.values())
    out = capsys.readouterr().out
    assert "d=1" in out and "d=10" in out and "rnn-sigmoid" in out


def test_gradflow_rejects_unknown_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown cell name is reported with the valid options and exit code 2, and no file is written."""
    png = tmp_path / "x.png"
    assert main(["gradflow", "--out", str(png), "--cells", "lstm,transformer"]) == 2
    assert "options are" in capsys.readouterr().err
    assert not png.exists()


def test_gradflow_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`rnnlab gradflow --help` documents every option and shows an example."""
    with pytest.raises(SystemExit) as exit_info:
        main(["gradflow", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--json", "--length", "--hidden", "--scale", "--seed", "--samples"):
        assert option in text
    assert "example:" in text
