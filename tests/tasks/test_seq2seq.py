"""Encoder–decoder runs: training through the shared trainer, exact resume, evaluation, and learning for real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.tasks.seq2seq import evaluate_seq2seq, load_seq2seq_run, train_seq2seq
from rnnlab.train import checkpoint as ckpt
from rnnlab.train.config import TrainConfig

from ._couplets import TINY_SEQ2SEQ, train_tiny_couplets, write_couplets


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_couplets(tmp_path_factory.mktemp("seq2seq") / "run")


def test_a_run_folder_rebuilds_the_model(run: Path) -> None:
    """The run holds config (kind seq2seq), vocabulary, metrics and weights; loading gives the same model."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert config["kind"] == "seq2seq" and config["model"]["attention"] == "additive"
    model, vocab, _ = load_seq2seq_run(run)
    assert "海" in vocab and not model.training
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(r["kind"] == "valid" for r in records)


def test_resume_continues_exactly(tmp_path: Path) -> None:
    """A run stopped at 10 updates and resumed to 20 has the weights of one trained to 20 at once."""
    data = write_couplets(tmp_path / "pairs.jsonl")
    base = TrainConfig(batch_size=8, epochs=20, lr=1e-2, log_every=5, device="cpu", seed=3)
    whole = tmp_path / "whole"
    train_seq2seq(data, whole, TrainConfig.from_dict({**base.to_dict(), "max_steps": 20}), TINY_SEQ2SEQ, progress=False)
    part = tmp_path / "part"
    train_seq2seq(data, part, TrainConfig.from_dict({**base.to_dict(), "max_steps": 10}), TINY_SEQ2SEQ, progress=False)
    train_seq2seq(None, part, resume=True, resume_overrides={"max_steps": 20}, progress=False)
    a, b = ckpt.load_tensors(whole / "model.safetensors"), ckpt.load_tensors(part / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_evaluation_scores_the_model_and_baselines(run: Path, tmp_path: Path) -> None:
    """Eval decodes every source, and with baselines adds copy and retrieval; constrained outputs keep length."""
    data = write_couplets(tmp_path / "test.jsonl", repeat=1)
    result = evaluate_seq2seq(run, data, constrained=True, baselines=True)
    names = [name for name, _ in result.rows]
    assert names[1:] == ["copy", "retrieval"]
    assert result.rows[0][1].length_match == 1.0
    assert all(len(p) == len(pair.source) for p, pair in zip(result.predictions, result.pairs, strict=True))
    summary = result.summary()
    assert json.loads(json.dumps(summary, ensure_ascii=False))["copy"]["exact"] == 0.0
    beam = evaluate_seq2seq(run, data, beam=3, constrained=True, limit=4)
    assert len(beam.predictions) == 4


def test_errors(run: Path, tmp_path: Path) -> None:
    """Existing runs, missing data, wrong run kinds, non-couplet files under --constrained are refused clearly."""
    data = write_couplets(tmp_path / "pairs.jsonl")
    with pytest.raises(ConfigError, match="already holds a run"):
        train_seq2seq(data, run)
    with pytest.raises(ConfigError, match="--data"):
        train_seq2seq(None, tmp_path / "new")
    with pytest.raises(ConfigError, match="vocab_size"):
        train_seq2seq(data, tmp_path / "new", model_options={"vocab_size": 3})
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "config.json").write_text(json.dumps({"model": {}, "train": {}}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="not an encoder–decoder"):
        load_seq2seq_run(lm)
    titles = tmp_path / "titles.jsonl"
    titles.write_text(json.dumps({"source": "床前明月光", "target": "静夜思"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a couplet file"):
        evaluate_seq2seq(run, titles, constrained=True)


# ---------------------------------------------------------------------------------------------
# Learning for real: copy and reverse.

SYMBOLS, PAD, BOS, EOS = 20, 0, 1, 2


def sequences(rng: np.random.Generator, n: int, low: int, high: int) -> list[np.ndarray]:
    """Distinct symbols in random order, lengths low…high."""
    return [rng.permutation(SYMBOLS)[: rng.integers(low, high + 1)] + 3 for _ in range(n)]
