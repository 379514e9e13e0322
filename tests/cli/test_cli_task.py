"""`rnnlab task …`, `rnnlab data task|get`: complete help, errors naming the line, a JSON last line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rnnlab.cli import build_parser, main
from tests.tasks._files import class_line, make_class_files, make_tag_files, tone_line, write_lines


def nested(*names: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in names:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize(
    "names", [("task", "train"), ("task", "eval"), ("task", "predict"), ("data", "task"), ("data", "get")]
)
def test_nested_commands_document_every_option_and_show_an_example(names: tuple[str, ...]) -> None:
    """Each action's options all have help text and its epilog shows `rnnlab <command> <action>`."""
    parser = nested(*names)
    assert [a.option_strings for a in parser._actions if a.option_strings and not a.help] == []
    assert f"rnnlab {' '.join(names)}" in (parser.epilog or "")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("kind", "bad", "message"),
    [
        ("tag", {"text": "山水", "tags": ["平"]}, "1 tags for 2 characters"),
        ("tag", {"text": "", "tags": []}, '"text" is empty'),
        ("classify", {"text": "山水"}, 'the "label" field is missing'),
    ],
)
def test_bad_training_files_exit_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, bad: dict[str, object], message: str
) -> None:
    """A malformed line stops `task train` before anything is written, with file:line and the fix."""
    import random

    good = tone_line(random.Random(0)) if kind == "tag" else class_line(random.Random(0))
    data = write_lines(tmp_path / "bad.jsonl", [good, good, bad])
    code, _, err = run(["task", "train", kind, "--data", str(data), "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "bad.jsonl:3: " in err and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_train_eval_predict_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """train → eval (table, then one JSON object as the last line) → predict; an unknown label at
    eval time exits 2 naming its line."""
    train, test = make_class_files(tmp_path)
    out = tmp_path / "run"
    argv = [
        "task",
        "train",
        "classify",
        "--data",
        str(train),
        "--out",
        str(out),
        "--embed",
        "8",
        "--hidden",
        "8",
    ]
    code, _, _ = run(
        [*argv, "--max-steps", "4", "--no-progress", "--threads", "1", "--device", "cpu"], capsys
    )
    assert code == 0 and (out / "model.safetensors").is_file()
    code, stdout, _ = run(
        ["task", "eval", str(out), "--data", str(test), "--no-baselines", "--device", "cpu"], capsys
    )
    last = json.loads(stdout.strip().splitlines()[-1])
    assert (
        code == 0
        and last["kind"] == "classify"
        and 0 <= last["model"]["accuracy"] <= 1
        and last["baselines"] == {}
    )
    assert "accuracy" in stdout.splitlines()[1]
    unknown = write_lines(
        tmp_path / "u.jsonl", [{"text": "山", "label": "唐"}, {"text": "花", "label": "清"}]
    )
    code, _, err = run(["task", "eval", str(out), "--data", str(unknown)], capsys)
    assert code == 2 and "u.jsonl:2: label '清' was not seen in training" in err
    pred = tmp_path / "p.jsonl"
    inputs = write_lines(tmp_path / "in.jsonl", [{"text": "山水"}, {"text": "花鸟", "note": 1}])
    code, _, _ = run(["task", "predict", str(out), "--data", str(inputs), "--out", str(pred)], capsys)
    rows = [json.loads(x) for x in pred.read_text(encoding="utf-8").splitlines()]
    assert code == 0 and [r["text"] for r in rows] == ["山水", "花鸟"] and rows[1]["note"] == 1
    assert all(r["label"] in ("唐", "宋") for r in rows)


def test_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No --out, a bidirectional multi-output model, or unknown heads are refused with the fix."""
    train, _ = make_tag_files(tmp_path)
    code, _, err = run(["task", "train", "tag", "--data", str(train)], capsys)
    assert code == 2 and "--out" in err
    code, _, err = run(
        ["task", "train", "multi", "--data", str(train), "--out", str(tmp_path / "m"), "--bidirectional"],
        capsys,
    )
    assert code == 2 and "--unidirectional" in err
    code, _, err = run(
        ["task", "train", "multi", "--data", str(train), "--out", str(tmp_path / "m"), "--heads", "next,pos"],
        capsys,
    )
    assert code == 2 and "heads must be" in err
