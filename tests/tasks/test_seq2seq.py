"""Encoder–decoder runs: training by the shared trainer, exact resume, evaluation, learning for real."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    train_seq2seq(
        data, whole, TrainConfig.from_dict({**base.to_dict(), "max_steps": 20}), TINY_SEQ2SEQ, progress=False
    )
    part = tmp_path / "part"
    train_seq2seq(
        data, part, TrainConfig.from_dict({**base.to_dict(), "max_steps": 10}), TINY_SEQ2SEQ, progress=False
    )
    train_seq2seq(None, part, resume=True, resume_overrides={"max_steps": 20}, progress=False)
    a, b = ckpt.load_tensors(whole / "model.safetensors"), ckpt.load_tensors(part / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_evaluation_scores_the_model_and_baselines(run: Path, tmp_path: Path) -> None:
    """Eval decodes every source, with baselines adds copy and retrieval; constrained outputs keep length."""
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
    """Existing runs, missing data, wrong run kinds, non-couplets under --constrained are refused clearly."""
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
    titles.write_text(
        json.dumps({"source": "床前明月光", "target": "静夜思"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="not a couplet file"):
        evaluate_seq2seq(run, titles, constrained=True)


# ---------------------------------------------------------------------------------------------
# Learning for real: copy and reverse.

SYMBOLS, PAD, BOS, EOS = 20, 0, 1, 2


def sequences(rng: np.random.Generator, n: int, low: int, high: int) -> list[np.ndarray]:
    """Distinct symbols in random order, lengths low…high."""
    return [rng.permutation(SYMBOLS)[: rng.integers(low, high + 1)] + 3 for _ in range(n)]


def learn(task: str, steps: int = 800, seed: int = 0, longest: int = 12) -> tuple[float, float]:
    """Train a dot-attention model on ``task`` at lengths 2…longest; exact match there and 2 beyond."""
    import math

    from rnnlab.data.pair_batches import collate_pairs
    from rnnlab.generate.processors import BanTokens
    from rnnlab.generate.seq2seq import translate
    from rnnlab.inference.seq2seq_torch import Seq2SeqStepper
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnlab.tasks.seq2seq import Seq2SeqObjective

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    answer = (lambda s: s) if task == "copy" else (lambda s: s[::-1])
    # No bridge: the decoder's only view of the source is attention, which must find each symbol.
    config = Seq2SeqConfig(
        vocab_size=SYMBOLS + 3, embed_size=32, encoder_hidden_size=32, hidden_size=64,
        attention="dot", bridge="zero", dropout=0.0, tie_weights=False,
    )  # fmt: skip
    model = Seq2Seq(config)
    objective = Seq2SeqObjective(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        for group in optimizer.param_groups:  # cosine from 1e-2 to 1e-3: the attention sharpens at the end
            group["lr"] = 1e-3 + 0.5 * 9e-3 * (1 + math.cos(math.pi * step / steps))
        sources = sequences(rng, 128, 2, longest)
        pairs = collate_pairs(sources, [answer(s) for s in sources], pad_id=PAD, bos_id=BOS, eos_id=EOS)
        loss, n, _ = objective.loss(pairs, None)
        optimizer.zero_grad()
        (loss / n).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()

    def exact(low: int, high: int) -> float:
        sources = sequences(rng, 300, low, high)
        outputs = translate(
            Seq2SeqStepper(model),
            [s.tolist() for s in sources],
            bos_id=BOS,
            eos_id=EOS,
            max_new_tokens=[len(s) for s in sources],  # the answer's length is the source's
            processors=lambda i: [BanTokens((PAD, BOS, EOS))],
        )
        return float(np.mean([out[0] == answer(s).tolist() for out, s in zip(outputs, sources, strict=True)]))

    return exact(2, longest), exact(longest + 1, longest + 2)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and a busy machine's cores are not fought over)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_attention_learns_copy_and_reverse_beyond_the_training_lengths(task: str) -> None:
    """With (Luong dot) attention, copying and reversing sequences of distinct symbols is learnt to
    ≥ 99% exact match, at the training lengths 2–12 and at 13–14, longer than any seen in training
    (decoded greedily with the answer's length given, as a couplet's is)."""
    seen, longer = learn(task)
    assert seen >= 0.99, seen
    assert longer >= 0.99, longer
