"""train_task / evaluate_task / predict_task on tiny files: run folders, metrics, order, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnlab.errors import ConfigError, DataError
from rnnlab.tasks.api import evaluate_task, load_task_run, predict_task, train_task
from rnnlab.train.trainer import Callback, Trainer

from ._files import FAST, TINY, write_lines


def test_tag_run_trains_evaluates_and_predicts_in_order(tmp_path: Path, tag_files: tuple[Path, Path]) -> None:
    """A tagging run writes its folder, logs validation accuracy beside the loss, scores the model and
    four baselines, and predicts one tag per character in input order, other fields kept."""
    train, test = tag_files
    run = tmp_path / "run"
    result = train_task("tag", train, run, model_options=TINY, train_options=FAST, progress=False)
    assert result.step == 6
    for name in ("config.json", "vocab.json", "metrics.jsonl", "model.safetensors"):
        assert (run / name).is_file()
    valid = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"valid"' in x]
    assert valid and {"accuracy", "macro_f1"} <= set(valid[-1]["metrics"])
    evaluation = evaluate_task(run, test, device="cpu")
    assert list(evaluation.rows) == ["model", "majority", "most-frequent-tag", "hmm", "ngram"]
    assert evaluation.rows["most-frequent-tag"]["accuracy"] == 1.0  # the tiny task is a lookup
    assert evaluation.to_json()["model"]["n"] == sum(len(x) - 1 for x in evaluation_texts(test))
    out = predict_task(run, test, tmp_path / "pred.jsonl", device="cpu")
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [w["id"] for w in written] == list(range(12))
    assert all(len(w["tags"]) == len(w["text"]) and set(w["tags"]) <= {"平", "仄"} for w in written)


def evaluation_texts(path: Path) -> list[str]:
    return [json.loads(x)["text"] for x in path.read_text(encoding="utf-8").splitlines()]


def test_classifier_with_cnn_and_unknown_labels(tmp_path: Path, class_files: tuple[Path, Path]) -> None:
    """A CNN-BiLSTM classifier trains with class weights; a test label never seen in training is an
    error naming its line; predict fills "label"."""
    train, test = class_files
    run = tmp_path / "run"
    options = {**TINY, "cnn": {"channels": [8], "kernel_sizes": [3], "pool": 2}, "pooling": "attention"}
    train_task("classify", train, run, model_options=options, train_options=FAST, progress=False)
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["class_weights"] is not None and config["labels"] in (["唐", "宋"], ["宋", "唐"])
    rows = evaluate_task(run, test, device="cpu").rows
    assert list(rows) == ["model", "majority", "naive-bayes", "logreg"]
    assert rows["naive-bayes"]["accuracy"] == 1.0  # two disjoint vocabularies
    bad = write_lines(tmp_path / "bad.jsonl", [{"text": "山", "label": "唐"}, {"text": "水", "label": "元"}])
    with pytest.raises(DataError, match=r"bad.jsonl:2: label '元' was not seen in training"):
        evaluate_task(run, bad, device="cpu")
    out = predict_task(run, test, tmp_path / "p.jsonl", device="cpu")
    assert all(json.loads(x)["label"] in ("唐", "宋") for x in out.read_text(encoding="utf-8").splitlines())


def test_multi_output_run_reports_each_head(tmp_path: Path, tag_files: tuple[Path, Path]) -> None:
    """next + next-tag from one unidirectional encoder: perplexity and accuracy per head; a bidirectional
    encoder is refused (it would read the character it predicts)."""
    train, test = tag_files
    run = tmp_path / "multi"
    train_task("multi", train, run, model_options=TINY, train_options=FAST, progress=False)
    row = evaluate_task(run, test, device="cpu").rows["model"]
    assert {"next_ppl", "next_accuracy", "next-tag_accuracy", "accuracy"} <= set(row)
    assert row["accuracy"] == pytest.approx(row["next-tag_accuracy"])  # two routes to the same number
    with pytest.raises(ConfigError, match="must not read ahead"):
        train_task("multi", train, tmp_path / "bi", model_options={"bidirectional": True}, progress=False)
    only_next = tmp_path / "next"
    train_task(
        "multi",
        train,
        only_next,
        model_options=TINY,
        train_options=FAST,
        task_options={"heads": ["next"]},
        progress=False,
    )
    assert "next_ppl" in evaluate_task(only_next, test, device="cpu").rows["model"]


class StopAt(Callback):
    """Stops training after update ``step``, as Ctrl-C does (checkpoint, evaluation, clean return)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step == self.step:
            trainer.request_stop()


def test_resume_continues_exactly(tmp_path: Path, tag_files: tuple[Path, Path]) -> None:
    """6 updates, or 4, an interruption and a resume, give bit-for-bit the same weights."""
    train, _ = tag_files
    whole, split = tmp_path / "whole", tmp_path / "split"
    train_task("tag", train, whole, model_options=TINY, train_options=FAST, progress=False)
    stopped = train_task(
        "tag", train, split, model_options=TINY, train_options=FAST, callbacks=[StopAt(4)], progress=False
    )
    assert stopped.stopped == "interrupted" and stopped.step == 4
    assert train_task("tag", None, split, resume=True, progress=False).step == 6
    a, b = load_task_run(whole, "final").model, load_task_run(split, "final").model
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q), name
    with pytest.raises(ConfigError, match="cannot change"):
        train_task("tag", None, split, resume=True, resume_overrides={"lr": 1.0}, progress=False)
    with pytest.raises(ConfigError, match="already holds a run"):
        train_task("tag", train, split, progress=False)
