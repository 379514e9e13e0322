"""Tiny generated sequence tasks and a short trainer run, shared by the task-model tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from rnnlab.data.buckets import IGNORE, BucketBatches
from rnnlab.train.config import TrainConfig
from rnnlab.train.objective import Objective
from rnnlab.train.trainer import Trainer

VOCAB = 8  # ids 0 (padding) and 1 … 7
PAD = 0


def random_sequences(n: int, low: int = 3, high: int = 12, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB, size=int(rng.integers(low, high + 1))) for _ in range(n)]


def copy_previous(seq: np.ndarray) -> np.ndarray:
    """Tag t = token t − 1 (tag 0 at the start): only a model that remembers the past solves it."""
    return np.concatenate(([0], seq[:-1])).astype(np.int64)


def copy_next(seq: np.ndarray) -> np.ndarray:
    """Tag t = token t + 1 (tag 0 at the end): only a model that reads the future solves it."""
    return np.concatenate((seq[1:], [0])).astype(np.int64)


def batches(
    sequences: Sequence[np.ndarray], targets: Sequence[np.ndarray], batch_size: int = 16, shuffle: bool = True
) -> BucketBatches:
    return BucketBatches(sequences, targets, batch_size, pad_id=PAD, shuffle=shuffle, pool=4)


def train(objective: Objective, train_batches: BucketBatches, steps: int, lr: float = 1e-2) -> None:
    """A short run through the shared Trainer (no validation, no run folder)."""
    config = TrainConfig(lr=lr, epochs=1000, max_steps=steps, warmup_steps=10, device="cpu", log_every=10_000)
    Trainer(objective, config, train_batches, progress=False).fit()


@torch.no_grad()
def accuracy(predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], source: BucketBatches) -> float:
    """Share of counted targets the model predicts: per token (ignoring IGNORE) or per example."""
    correct = total = 0
    source.set_epoch(0)
    for batch in source:
        assert batch.lengths is not None
        pred = predict(batch.x, batch.lengths)
        known = batch.y != IGNORE
        correct += int((pred[known] == batch.y[known]).sum())
        total += int(known.sum())
    return correct / total


def with_garbage_padding(x: torch.Tensor, lengths: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """x with every padded position replaced by a random real token id."""
    g = torch.Generator().manual_seed(seed)
    pad = torch.arange(x.shape[0]).unsqueeze(1) >= lengths.unsqueeze(0)
    noise = torch.randint(1, VOCAB, x.shape, generator=g)
    return torch.where(pad, noise, x)


def eval_mode(model: nn.Module) -> nn.Module:
    return model.eval()
