"""`rnnlab couplet` and `rnnlab seq2seq train|eval`, called through rnnlab.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.cli import main

from ..tasks._couplets import train_tiny_couplets, write_couplets


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_couplets(tmp_path_factory.mktemp("cli") / "run", steps=10)


def test_one_line_and_several(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One upper line gives --num lower lines of its length; the same seed gives the same lines."""
    assert main(["couplet", "海内存知己", "--model", str(run), "--num", "3", "--seed", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(len(line) == 5 for line in lines)
    main(["couplet", "海内存知己", "--model", str(run), "--num", "3", "--seed", "4", "--engine", "torch"])
    assert capsys.readouterr().out.splitlines() == lines


def test_file_gives_one_line_per_input_line(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--file answers each line in order (a blank line stays blank), batched, with beam search too."""
    uppers = tmp_path / "uppers.txt"
    uppers.write_text("海内存知己\n\n两个黄鹂鸣翠柳\n明月，松间照\n", encoding="utf-8")
    assert main(["couplet", "--file", str(uppers), "--model", str(run), "--beam", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [len(line) for line in out] == [5, 0, 7, 6] and out[3][2] == "，"


def test_attention_png(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--attention writes a PNG heat map of where the model looked."""
    png = tmp_path / "attn.png"
    assert main(["couplet", "海内存知己", "--model", str(run), "--attention", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "heat map" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["海内存龘己"], "does not know: 龘"),
        (["moon"], "Chinese characters"),
        (["海内存知己", "--file", "x.txt"], "not both"),
        (["海内存知己", "--num", "4", "--beam", "2"], "--num ≤ --beam"),
        (["海" * 41], "at most 40"),
    ],
)
def test_errors_are_one_clear_line(
    run: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Bad input exits with status 2 and one message, as the poem command does."""
    assert main(["couplet", *args, "--model", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab couplet: error:") and message in err


def test_file_errors_name_the_line(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line in --file is reported with its line number, and nothing is printed before it."""
    uppers = tmp_path / "uppers.txt"
    uppers.write_text("海内存知己\nabc\n", encoding="utf-8")
    assert main(["couplet", "--file", str(uppers), "--model", str(run)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"{uppers}:2:" in captured.err


def test_seq2seq_train_and_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`seq2seq train` writes a run; `seq2seq eval` prints the table and, last, one JSON object."""
    data = write_couplets(tmp_path / "pairs.jsonl")
    out = tmp_path / "run"
    tiny = ["--embed", "8", "--encoder-hidden", "8", "--hidden", "16", "--no-progress"]
    train = ["seq2seq", "train", "--data", str(data), "--out", str(out), "--max-steps", "5", "--batch", "8"]
    assert main([*train, *tiny]) == 0
    assert (out / "model.safetensors").is_file()
    capsys.readouterr()
    preds = tmp_path / "preds.jsonl"
    assert main(["seq2seq", "eval", str(out), "--data", str(data), "--baselines", "--limit", "6",
                 "--constrained", "--out", str(preds)]) == 0  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {"data", "run (greedy, constrained)", "copy", "retrieval"}
    assert summary["copy"]["n"] == 6
    records = [json.loads(line) for line in preds.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 6 and all(len(r["prediction"]) == len(r["source"]) for r in records)
    assert main(["seq2seq", "train", "--resume", str(out), "--max-steps", "8", "--no-progress"]) == 0
    assert main(["seq2seq", "train", "--data", str(data)]) == 2
    assert "--out" in capsys.readouterr().err


def test_the_bundled_couplet_path_imports_no_torch() -> None:
    """`rnnlab couplet` with the bundled model (NumPy engine) loads neither torch nor the web stack."""
    from tests.imports import imported_after

    code = (
        "import contextlib, io\n"
        "from rnnlab.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['couplet', '海内存知己', '--seed', '1']) == 0\n"
        "assert len(out.getvalue().strip()) == 5"
    )
    assert imported_after(code) == []
