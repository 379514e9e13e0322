"""The trainer: learning, NaN policies, exact resume (also after SIGKILL), Ctrl-C, random-length BPTT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import Tensor

from rnnlab.data.sampling import Batch
from rnnlab.errors import TrainingError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train import Callback, TrainConfig, Trainer, evaluate, train_language_model
from rnnlab.train import checkpoint as ckpt
from rnnlab.train.batches import RandomLengthStreams, evaluation_batches, training_batches
from rnnlab.train.corpus import load_lm_corpus
from rnnlab.train.metrics import read_metrics
from rnnlab.train.objective import LanguageModelObjective
from tests.train._tiny import TINY_MODEL

SRC = Path(__file__).resolve().parents[2] / "src"
FAST = {"batch_size": 4, "bptt": 12, "log_every": 5, "device": "cpu", "warmup_steps": 2}


def _config(**kw: Any) -> TrainConfig:
    return TrainConfig(**{**FAST, **kw})


def test_training_on_a_tiny_corpus_drives_the_loss_down(tiny_corpus: Path, tmp_path: Path) -> None:
    """Two epochs take held-out perplexity from about V (an untrained model) to well under half of it."""
    result = train_language_model(
        tiny_corpus, tmp_path / "run", _config(epochs=2), TINY_MODEL, progress=False
    )
    records = ckpt.RunDir(tmp_path / "run").metrics.read_text().splitlines()
    assert result.stopped == "completed"
    vocab = len(load_lm_corpus(tiny_corpus).vocab)
    assert result.final_val_ppl < 0.5 * vocab
    assert len(records) > 3
    assert (tmp_path / "run" / "model.safetensors").is_file()


class NaNAt:
    """An objective that returns a NaN loss on its k-th training call (1-based), else delegates."""

    def __init__(self, inner: LanguageModelObjective, k: int) -> None:
        self.inner, self.k, self.calls = inner, k, 0
        self.model = inner.model

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]:
        sum_nll, n, new_state = self.inner.loss(batch, state)
        if self.model.training:
            self.calls += 1
            if self.calls == self.k:
                sum_nll = sum_nll * float("nan")
        return sum_nll, n, new_state

    def init_state(self, batch_size: int) -> Any:
        return self.inner.init_state(batch_size)

    def detach_state(self, state: Any) -> Any:
        return self.inner.detach_state(state)


def _nan_trainer(tiny_corpus: Path, run_dir: Path, policy: str) -> Trainer:
    corpus = load_lm_corpus(tiny_corpus)
    config = _config(epochs=1, eval_every=2, nan_policy=policy)
    model = RNNLM(RNNLMConfig(vocab_size=len(corpus.vocab), **TINY_MODEL))
    ids = {"pad_id": 1, "bos_id": 2, "eos_id": 3}
    return Trainer(
        NaNAt(LanguageModelObjective(model), k=5), config, training_batches(config, corpus.train, **ids),
        evaluation_batches(config, corpus.valid, **ids), run_dir=run_dir, progress=False,
    )  # fmt: skip


def test_nan_loss_stops_with_the_step_and_the_last_good_checkpoint(tiny_corpus: Path, tmp_path: Path) -> None:
    """nan_policy="stop": a NaN at update 5 raises TrainingError naming update 5 and checkpoints/latest,
    which still holds the step-4 checkpoint and loads; no final weights are written."""
    trainer = _nan_trainer(tiny_corpus, tmp_path, "stop")
    with pytest.raises(TrainingError, match=r"at update 5 .*Last good checkpoint: .*checkpoints/latest"):
        trainer.fit()
    _, state = ckpt.read_checkpoint(tmp_path / "checkpoints" / "latest", trainer.model)
    assert state["step"] == 4
    assert not (tmp_path / "model.safetensors").exists()


def test_nan_loss_with_skip_policy_drops_the_batch_and_counts_it(tiny_corpus: Path, tmp_path: Path) -> None:
    """nan_policy="skip": training finishes, one batch is counted as skipped, the weights stay finite."""
    trainer = _nan_trainer(tiny_corpus, tmp_path, "skip")
    result = trainer.fit()
    assert result.skipped_batches == 1
    assert result.step == len(trainer.train_batches) - 1
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())


def _weights(run: Path) -> dict[str, Tensor]:
    return load_file(str(run / "model.safetensors"))


class StopAt(Callback):
    """Asks the trainer to stop (as Ctrl-C does) after update k."""

    def __init__(self, k: int) -> None:
        self.k = k

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step == self.k:
            trainer.request_stop()


def test_resume_after_a_stop_gives_the_same_weights(tiny_corpus: Path, tmp_path: Path) -> None:
    """Stopping mid-epoch at update 7 (state carried, dropout on, between checkpoints) and resuming ends
    with exactly the weights of an uninterrupted run."""
    config = _config(epochs=2, eval_every=3)
    train_language_model(tiny_corpus, tmp_path / "a", config, TINY_MODEL, progress=False)
    train_language_model(
        tiny_corpus, tmp_path / "b", config, TINY_MODEL, progress=False, callbacks=[StopAt(7)]
    )
    train_language_model(None, tmp_path / "b", resume=True, progress=False)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


KILL_SCRIPT = """
import os, signal, sys
from rnnlab.train import Callback, TrainConfig, train_language_model

class KillAfter(Callback):
    def on_step_end(self, trainer):
        if trainer.step == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)

train_language_model({data!r}, {out!r}, TrainConfig(**{config!r}), {model!r}, progress=False,
                     callbacks=[KillAfter()])
"""


def test_resume_after_sigkill_is_bit_for_bit(tiny_corpus: Path, tmp_path: Path) -> None:
    """A run SIGKILLed two updates after its step-4 checkpoint, then resumed through `rnnlab train
    --resume`, writes a model.safetensors byte-identical to an uninterrupted run's."""
    from rnnlab.cli import main

    config = {**FAST, "epochs": 2, "eval_every": 4, "sampling": "sequential", "optimizer": "adam"}
    script = KILL_SCRIPT.format(kill_at=6, data=str(tiny_corpus), out=str(tmp_path / "killed"),
                                config=config, model=TINY_MODEL)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not (tmp_path / "killed" / "model.safetensors").exists()
    assert main(["train", "--resume", str(tmp_path / "killed"), "--no-progress"]) == 0
    train_language_model(tiny_corpus, tmp_path / "whole", TrainConfig(**config), TINY_MODEL, progress=False)
    assert (tmp_path / "killed" / "model.safetensors").read_bytes() == (
        tmp_path / "whole" / "model.safetensors"
    ).read_bytes()


def test_ctrl_c_saves_a_checkpoint_evaluates_and_exits_cleanly(tiny_corpus: Path, tmp_path: Path) -> None:
    """SIGINT during training: exit code 0, 'interrupted' reported, final weights and a checkpoint at the
    last update written, and a final validation record logged."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rnnlab", "train", "--data", str(tiny_corpus), "--out", str(out),
           "--epochs", "10000", "--eval-every", "3", "--batch", "4", "--bptt", "12", "--embed", "8",
           "--hidden", "16", "--layers", "1", "--no-progress", "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(SRC)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoints" / "latest" / ckpt.STATE_FILE).exists():
            assert proc.poll() is None and time.monotonic() < deadline, "training never checkpointed"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert b"stopped: interrupted" in stdout
    model = RNNLM(RNNLMConfig.from_dict(ckpt.RunDir(out).read_config()["model"]))
    _, state = ckpt.read_checkpoint(out / "checkpoints" / "latest", model)
    records = read_metrics(out / "metrics.jsonl")
    last_valid = [r for r in records if r["kind"] == "valid"][-1]
    assert last_valid["step"] == state["step"]
    assert (out / "model.safetensors").is_file()


def test_random_length_batches_tile_each_row_and_resume_mid_epoch() -> None:
    """AWD-LSTM random lengths: the chunks of an epoch cover each of the B rows contiguously and exactly
    once (compared with the rows cut by hand), and a sampler restored from a mid-epoch state yields the
    remaining batches unchanged."""
    stream = np.arange(1000, dtype=np.int64)
    sampler = RandomLengthStreams(lambda e: stream, len(stream), batch_size=3, bptt=20, seed=5)
    batches = list(sampler)
    rows = (len(stream) - 1) // 3
    x = torch.cat([b.x for b in batches])
    y = torch.cat([b.y for b in batches])
    for b in range(3):
        assert torch.equal(x[:, b], torch.arange(b * rows, (b + 1) * rows))
        assert torch.equal(y[:, b], torch.arange(b * rows + 1, (b + 1) * rows + 1))
    lengths = [len(b.x) for b in batches]
    assert len(set(lengths)) > 3 and min(lengths[:-1]) >= 5  # lengths do vary
    assert [b.reset_state for b in batches] == [True] + [False] * (len(batches) - 1)
    again = iter(sampler)  # epoch 1
    for _ in range(4):
        next(again)
    restored = RandomLengthStreams(lambda e: stream, len(stream), batch_size=3, bptt=20, seed=5)
    restored.load_state_dict(sampler.state_dict())
    assert all(torch.equal(a.x, b.x) for a, b in zip(again, restored, strict=True))


def test_evaluate_is_independent_of_the_batch_size(tiny_corpus: Path) -> None:
    """Held-out NLL with the state carried across lines is the same for 1 or 5 parallel streams
    only when the model ignores history; for a real model the token count, not the value, must match."""
    corpus = load_lm_corpus(tiny_corpus)
    model = RNNLM(RNNLMConfig(vocab_size=len(corpus.vocab), **TINY_MODEL))
    objective = LanguageModelObjective(model)
    ids = {"pad_id": 1, "bos_id": 2, "eos_id": 3}
    counts = [
        evaluate(
            objective, evaluation_batches(_config(batch_size=b), corpus.valid, **ids), torch.device("cpu")
        )
        for b in (1, 5)
    ]
    assert counts[0].n_tokens == counts[1].n_tokens == sum(len(s) + 1 for s in corpus.valid)
