"""The NumPy encoder–decoder against the torch model it was trained as: same logits, same attention."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import CheckpointError, ConfigError
from rnnlab.inference.seq2seq_numpy import NumpySeq2Seq
from rnnlab.inference.seq2seq_torch import Seq2SeqStepper
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.train.checkpoint import model_tensors

V = 15
CONFIGS = [
    {"cell": "gru", "attention": "additive"},
    {"cell": "lstm", "attention": "general", "encoder_layers": 2, "decoder_layers": 2},
    {"cell": "rnn", "attention": "none", "bidirectional": False},
    {"cell": "gru", "attention": "dot", "encoder_hidden_size": 6, "hidden_size": 12, "embed_size": 12},
    {"cell": "lstm", "attention": "additive", "bridge": "zero", "tie_weights": False},
]


def engines(options: dict[str, object]) -> tuple[Seq2SeqStepper, NumpySeq2Seq]:
    base = {"vocab_size": V, "embed_size": 8, "encoder_hidden_size": 7, "hidden_size": 10}
    model = Seq2Seq(Seq2SeqConfig(**{**base, **options})).eval()  # type: ignore[arg-type]
    tensors = {k: v.detach().numpy() for k, v in model_tensors(model).items()}
    return Seq2SeqStepper(model), NumpySeq2Seq(model.config.to_dict(), tensors)


@pytest.mark.parametrize("options", CONFIGS)
def test_numpy_engine_matches_torch(options: dict[str, object]) -> None:
    """Sources of different lengths in one batch: each step's logits agree with torch's (float32)."""
    torch_engine, numpy_engine = engines(options)
    sources = [[4, 5, 6, 7, 8], [9, 10], [11, 12, 13]]
    a, b = torch_engine.encode(sources), numpy_engine.encode(sources)
    la, a = torch_engine.prefill(np.array([[1, 1, 1]]), a)
    lb, b = numpy_engine.prefill(np.array([[1, 1, 1]]), b)
    np.testing.assert_allclose(lb, la, rtol=1e-4, atol=1e-5)
    rows = np.array([2, 0, 0], dtype=np.intp)  # reorder and repeat rows, as beam search does
    a, b = torch_engine.select(a, rows), numpy_engine.select(b, rows)
    for tokens in ([3, 4, 5], [6, 7, 8]):
        la, a = torch_engine.step(np.array(tokens), a)
        lb, b = numpy_engine.step(np.array(tokens), b)
        np.testing.assert_allclose(lb, la, rtol=1e-4, atol=1e-5)


def test_concat_and_attention_match_torch() -> None:
    """Joining rows of different source lengths, and the attention weights for plotting, agree with torch."""
    torch_engine, numpy_engine = engines(CONFIGS[0])
    ta = torch_engine.concat([torch_engine.encode([[4, 5]]), torch_engine.encode([[6, 7, 8, 9]])])
    na = numpy_engine.concat([numpy_engine.encode([[4, 5]]), numpy_engine.encode([[6, 7, 8, 9]])])
    la, _ = torch_engine.prefill(np.array([[1, 1], [5, 6]]), ta)
    lb, _ = numpy_engine.prefill(np.array([[1, 1], [5, 6]]), na)
    np.testing.assert_allclose(lb, la, rtol=1e-4, atol=1e-5)
    ids = np.array([[1], [10], [11]])
    np.testing.assert_allclose(
        numpy_engine.attention(ids, numpy_engine.encode([[4, 5, 6]])),
        torch_engine.attention(ids, torch_engine.encode([[4, 5, 6]])),
        rtol=1e-4,
        atol=1e-6,
    )


def test_weights_that_do_not_fit_are_refused() -> None:
    """Missing or extra tensors and unknown cells raise errors that say what to do."""
    model = Seq2Seq(Seq2SeqConfig(vocab_size=V, embed_size=8, encoder_hidden_size=7, hidden_size=10))
    tensors = {k: v.detach().numpy() for k, v in model_tensors(model).items()}
    config = model.config.to_dict()
    with pytest.raises(CheckpointError, match="lack"):
        NumpySeq2Seq(config, {k: v for k, v in tensors.items() if k != "combine.bias"})
    with pytest.raises(CheckpointError, match="does not use"):
        NumpySeq2Seq(config, {**tensors, "extra.weight": np.zeros(2, dtype=np.float32)})
    with pytest.raises(ConfigError, match="engine='torch'"):
        NumpySeq2Seq({**config, "cell": "mgu"}, tensors)
