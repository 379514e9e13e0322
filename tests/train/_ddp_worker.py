"""Run by torchrun from ``test_distributed.py`` (and in-process as its single-process reference).

Each rank trains a GRU forecaster through the generic ``Trainer`` — an objective that is not a
language model, on windows whose last global batch has one column (so rank 1 gets none) and a
one-column validation sequence — into ``OUT/run-rank{R}``, opens a token cache through
``build_once``, and loads a language-model corpus as ``rnnlab train`` does
(``load_training_corpus``), and trains a tagger through ``rnnlab.tasks.train_task`` (a task
model, 35 examples: a last global batch of 3 columns) into the one folder ``OUT/task``. It then
writes what it saw to ``OUT/rank{R}.json`` (and rank 0 its weights), for the test to compare
with a single process.

    torchrun --standalone --nproc-per-node 2 tests/train/_ddp_worker.py OUT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from rnnlab.data import Vocab, token_cache
from rnnlab.forecast.objective import ForecastObjective
from rnnlab.forecast.windows import training_windows, validation_sequence
from rnnlab.models.forecasters import ForecasterConfig, build_forecaster
from rnnlab.tasks.api import train_task
from rnnlab.train import TrainConfig, Trainer
from rnnlab.train import distributed as ddp
from rnnlab.train.lm import load_training_corpus
from tests.tasks._files import TINY, make_tag_files
from tests.train._tiny import write_tiny_corpus

N_TRAIN, N_FIT, WINDOW = 201, 260, 24  # 177 = 22·8 + 1 training windows: a last batch of one


def series() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(300)
    return (np.sin(0.2 * t) + 0.1 * rng.standard_normal(300)).astype(np.float32)


def train_forecaster(run_dir: Path | None, batch_size: int) -> tuple[Trainer, dict[str, Any]]:
    """``batch_size`` per process; 2 processes × 4 must equal 1 process × 8."""
    torch.manual_seed(0)
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=8))
    z = series()
    train = training_windows(z, N_TRAIN, length=WINDOW, warmup=4, outputs=1, batch_size=batch_size, seed=1)
    valid = validation_sequence(z, N_TRAIN, N_FIT, outputs=1)
    config = TrainConfig(
        optimizer="adam", lr=1e-2, weight_decay=0.0, warmup_steps=2, batch_size=batch_size, epochs=2,
        log_every=10, device="cpu", seed=0,
    )  # fmt: skip
    trainer = Trainer(ForecastObjective(model), config, train, valid, run_dir=run_dir, progress=False)
    result = trainer.fit()
    summary = {
        "steps": result.step,
        "final_val_loss": result.final_val_loss,
        "best_val_loss": result.best_val_loss,
        "tokens_seen": trainer.tokens_seen,
    }
    return trainer, summary


TASK_TRAIN = {"max_steps": 6, "eval_every": 3, "warmup_steps": 2, "lr": 1e-2, "device": "cpu", "seed": 0}


def tag_files(out: Path) -> tuple[Path, Path]:
    """35 training examples (global batches 8, 8, 8, 8, 3) and 12 for validation."""
    out.mkdir(parents=True, exist_ok=True)
    train, valid = make_tag_files(out)
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)[:35]
    train.write_text("".join(lines), encoding="utf-8")
    return train, valid


def train_tagger(out: Path, run: Path, batch_size: int) -> dict[str, Any]:
    """``batch_size`` per process, as ``rnnlab task train`` takes it under torchrun."""
    train, valid = tag_files(out)
    result = train_task(
        "tag", train, run, valid=valid, model_options={**TINY, "dropout": 0.0},
        train_options={**TASK_TRAIN, "batch_size": batch_size}, progress=False,
    )  # fmt: skip  (no dropout: each rank draws its own masks, so only without it are runs equal)
    return {"task_steps": result.step, "task_val_loss": result.final_val_loss}


def main(out: Path) -> None:
    rank = int(os.environ["RANK"])
    trainer, summary = train_forecaster(out / f"run-rank{rank}", batch_size=4)
    text, lines = out / "corpus.txt", out / "lines.txt"
    if rank == 0:
        text.write_text("abcabcabd\n" * 50, encoding="utf-8")
        write_tiny_corpus(lines)
    ddp.barrier(trainer.world)
    cache = ddp.build_once(
        trainer.world, lambda: token_cache(text, Vocab.build("abcd"), cache_dir=out / "cache", progress=False)
    )
    loaded = load_training_corpus(trainer.world, lines, 0.05, cache_dir=out / "lm-cache")
    corpus = loaded.corpus
    summary.update(
        rank=rank,
        world_size=trainer.world.size,
        cache_reused=cache.reused,
        cache_tokens=len(cache),
        corpus_reused=loaded.reused,
        corpus_manifest=str(loaded.manifest),
        corpus_lines=[[int(i) for i in line] for line in corpus.train + corpus.valid],
        corpus_vocab=corpus.vocab.tokens,
    )
    summary.update(train_tagger(out / f"task-data{rank}", out / "task", batch_size=4))
    (out / f"rank{rank}.json").write_text(json.dumps(summary), encoding="utf-8")
    if rank == 0:
        save_file(
            {k: v.contiguous() for k, v in trainer.model.state_dict().items()},
            str(out / "weights.safetensors"),
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
