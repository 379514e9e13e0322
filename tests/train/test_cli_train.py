"""`rnnlab train`, `rnnlab eval` and `rnnlab plot` end to end on a tiny text file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.train.corpus import load_lm_corpus

TINY = ["--embed", "8", "--hidden", "16", "--layers", "1", "--batch", "4", "--bptt", "12", "--no-progress",
        "--device", "cpu"]  # fmt: skip


def test_train_eval_plot_end_to_end(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """train writes the run folder and final weights; eval prints a table whose last line is
    `perplexity X` with X = exp(bits/char · ln 2) from the same row; plot writes a PNG."""
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_corpus), "--out", str(out), "--cell", "gru", "--epochs", "1",
                 "--seed", "3", *TINY]) == 0  # fmt: skip
    for name in ("config.json", "vocab.json", "metrics.jsonl", "model.safetensors"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "best" / "trainer_state.json").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["cell"] == "gru" and config["train"]["seed"] == 3
    capsys.readouterr()
    assert main(["eval", str(out), "--data", str(tiny_corpus), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("perplexity ")
    ppl = float(lines[-1].split()[1])
    row = next(line for line in lines if line.startswith("run "))
    bits = float(row.split()[-2])
    assert ppl == pytest.approx(2**bits, rel=1e-2)
    assert 1 < ppl < len(load_lm_corpus(tiny_corpus).vocab)
    assert main(["plot", str(out)]) == 0
    png = Path(capsys.readouterr().out.strip())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_run_is_not_overwritten(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Training into a folder that already holds a run exits with code 2 and points to --resume."""
    out = tmp_path / "run"
    args = ["train", "--data", str(tiny_corpus), "--out", str(out), "--max-steps", "2", *TINY]
    assert main(args) == 0
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err


def test_no_keep_memory_reaches_the_saved_config(tiny_corpus: Path, tmp_path: Path) -> None:
    """--no-keep-memory is saved as train.keep_memory = false; without it the default (true) is saved."""
    for flag, expected in (([], True), (["--no-keep-memory"], False)):
        out = tmp_path / f"run{int(expected)}"
        args = ["train", "--data", str(tiny_corpus), "--out", str(out), "--max-steps", "1", *flag, *TINY]
        assert main(args) == 0
        assert json.loads((out / "config.json").read_text())["train"]["keep_memory"] is expected


def test_cell_and_impl_choices_match_the_layers() -> None:
    """The CLI's spelled-out --cell and --impl choices are exactly rnnlab.layers' CELLS and IMPLS."""
    from rnnlab.cli import train as train_cli
    from rnnlab.layers import CELLS, IMPLS

    assert set(train_cli.CELL_CHOICES) == set(CELLS)
    assert set(train_cli.IMPL_CHOICES) == set(IMPLS)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_train_a_min_cell_model(tiny_corpus: Path, tmp_path: Path, cell: str) -> None:
    """`rnnlab train --cell mingru|minlstm` trains and records the cell in the run's config."""
    out = tmp_path / cell
    assert main(["train", "--data", str(tiny_corpus), "--out", str(out), "--cell", cell, "--max-steps", "3",
                 *TINY]) == 0  # fmt: skip
    assert json.loads((out / "config.json").read_text())["model"]["cell"] == cell
    assert (out / "model.safetensors").is_file()
