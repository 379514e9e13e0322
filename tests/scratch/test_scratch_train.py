"""The tiny NumPy training loop learns a short text."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import DataError
from rnnlab.scratch.train import TrainConfig, batchify, sample, train_char_model

TEXT = "the quick brown fox jumps over the lazy dog. " * 12


@pytest.mark.parametrize(("cell", "optimizer", "lr"), [("lstm", "adam", 1e-2), ("rnn", "sgd", 0.2)])
def test_loss_falls(cell: str, optimizer: str, lr: float) -> None:
    """After 60 updates the per-character loss is well below its starting value (≈ log V)."""
    config = TrainConfig(
        cell=cell, hidden_size=24, seq_len=12, batch_size=4, steps=60, optimizer=optimizer, lr=lr
    )
    result = train_char_model(TEXT, config, progress=False)
    first, last = np.mean(result.losses[:5]), np.mean(result.losses[-10:])
    assert first == pytest.approx(np.log(len(result.vocab)), rel=0.1)
    assert last < 0.7 * first
    assert all(np.isfinite(result.grad_norms))
    text = sample(result.model, result.vocab, "the ", 20)
    assert len(text) == 24 and set(text) <= set(result.vocab)


def test_batchify_layout_and_errors() -> None:
    """Streams are the columns of a time-major array; a text too short for the batch is a DataError."""
    data = batchify(np.arange(10), batch_size=2)
    np.testing.assert_array_equal(data[:, 0], np.arange(5))
    np.testing.assert_array_equal(data[:, 1], np.arange(5, 10))
    with pytest.raises(DataError, match="smaller batch_size"):
        batchify(np.arange(3), batch_size=2)
    with pytest.raises(DataError, match="seq_len"):
        train_char_model("abcdefgh", TrainConfig(batch_size=2, seq_len=10), progress=False)
