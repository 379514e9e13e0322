"""The encoder–decoder stepper: its logits are the model's, and reshaping rows keeps each row's own state."""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.inference.seq2seq_torch import Seq2SeqStepper
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

V = 13


def stepper(attention: str = "additive", cell: str = "gru") -> Seq2SeqStepper:
    config = Seq2SeqConfig(
        vocab_size=V, embed_size=8, encoder_hidden_size=6, hidden_size=10, attention=attention, cell=cell
    )
    return Seq2SeqStepper(Seq2Seq(config).eval())


def test_prefill_and_steps_give_the_models_logits() -> None:
    """encode → prefill(<bos>) → step… yields the logits of the model run on the whole target at once."""
    s = stepper(cell="lstm")
    source, target = [4, 5, 6, 7], [1, 8, 9, 10]
    with torch.no_grad():
        want, _ = s.model(torch.tensor(source)[:, None], None, torch.tensor(target)[:, None])
    logits, state = s.prefill(np.array([[target[0]]]), s.encode([source]))
    got = [logits]
    for token in target[1:]:
        logits, state = s.step(np.array([token]), state)
        got.append(logits)
    np.testing.assert_allclose(np.concatenate(got), want[:, 0].numpy(), rtol=1e-5, atol=1e-6)


def test_concat_of_different_source_lengths_equals_each_alone() -> None:
    """Rows whose sources differ in length, concatenated (encoder parts padded), step as they step alone."""
    s = stepper()
    a, b = s.encode([[4, 5]]), s.encode([[6, 7, 8, 9, 10]])
    _, sa = s.prefill(np.array([[1]]), a)
    _, sb = s.prefill(np.array([[1]]), b)
    both = s.concat([sa, sb])
    logits, _ = s.step(np.array([11, 12]), both)
    alone_a, _ = s.step(np.array([11]), sa)
    alone_b, _ = s.step(np.array([12]), sb)
    np.testing.assert_allclose(logits, np.concatenate([alone_a, alone_b]), rtol=1e-5, atol=1e-6)
    picked = s.select(both, np.array([1, 1, 0], dtype=np.intp))
    again, _ = s.step(np.array([12, 12, 11]), picked)
    np.testing.assert_allclose(again, np.concatenate([alone_b, alone_b, alone_a]), rtol=1e-5, atol=1e-6)


def test_attention_rows_are_distributions_over_the_source() -> None:
    """The weights for plotting have one row per target token, each summing to 1 over the source."""
    s = stepper()
    weights = s.attention(np.array([[1], [5], [6]]), s.encode([[4, 5, 6, 7]]))
    assert weights.shape == (3, 4)
    np.testing.assert_allclose(weights.sum(axis=1), np.ones(3), rtol=1e-5)
