"""RNNLM: shapes, weight tying, inputs, and the refusal of bidirectional language models."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru", "minlstm"])
@pytest.mark.parametrize("inputs", ["embedding", "onehot"])
def test_logits_and_state_shapes(cell: str, inputs: str) -> None:
    """ids (T, B) give logits (T, B, V) and a state that feeds the next call."""
    model = RNNLM(RNNLMConfig(vocab_size=11, cell=cell, input=inputs, embed_size=6, hidden_size=8))
    ids = torch.randint(0, 11, (5, 3))
    logits, state = model(ids)
    assert logits.shape == (5, 3, 11)
    logits2, _ = model(ids, state)
    assert logits2.shape == (5, 3, 11)
    assert model.double()(ids)[0].dtype == torch.float64  # the input follows the model's dtype


def test_tied_weights_share_one_matrix_and_project_when_sizes_differ() -> None:
    """tie_weights makes the decoder use the embedding matrix; H ≠ E inserts an H→E projection."""
    model = RNNLM(RNNLMConfig(vocab_size=11, embed_size=6, hidden_size=8, tie_weights=True))
    assert model.decoder.weight is model.embedding.weight  # type: ignore[union-attr]
    assert model.projection is not None
    untied = RNNLM(RNNLMConfig(vocab_size=11, embed_size=6, hidden_size=8))
    assert model.num_parameters() == untied.num_parameters() - 11 * 8 + 8 * 6  # V·H out, H·E in


def test_bidirectional_language_model_is_refused_with_the_reason() -> None:
    """A bidirectional LM would see the token it predicts; the error says so and names the fix."""
    with pytest.raises(ConfigError, match=r"cannot be bidirectional.*bidirectional=False"):
        RNNLMConfig(vocab_size=10, bidirectional=True)


def test_config_round_trips_through_json() -> None:
    """The JSON form of a config rebuilds a model with the same parameter names and shapes."""
    config = RNNLMConfig(
        vocab_size=9, cell="gru", num_layers=3, weight_drop=0.1, tie_weights=True, embed_size=8
    )
    model = RNNLM.from_config(json.loads(json.dumps(config.to_dict())))
    assert model.config == config
    model.load_state_dict(RNNLM(config).state_dict())
    with pytest.raises(ConfigError, match="valid options"):
        RNNLMConfig.from_dict({"vocab_size": 9, "hiden": 3})


def test_ids_outside_the_vocabulary_are_rejected() -> None:
    """An id ≥ V raises ConfigError naming the valid range instead of an opaque index error."""
    model = RNNLM(RNNLMConfig(vocab_size=5, embed_size=4, hidden_size=4, num_layers=1))
    with pytest.raises(ConfigError, match=r"\[0, 5\)"):
        model(torch.tensor([[1], [7]]))


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_min_cell_language_model_generates_step_by_step_like_the_whole_sequence(cell: str) -> None:
    """A min-cell RNNLM's logits for a sequence equal those of feeding it one token at a time."""
    model = RNNLM(RNNLMConfig(vocab_size=11, cell=cell, embed_size=6, hidden_size=8)).eval()
    ids = torch.randint(0, 11, (40, 2))
    whole, _ = model(ids)
    state = None
    for t in range(40):
        step, state = model(ids[t : t + 1], state)
        torch.testing.assert_close(step[0], whole[t], atol=1e-5, rtol=1e-5)
