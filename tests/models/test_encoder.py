"""The shared sequence encoder: a padded batch gives each sequence its own outputs and final state."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.conv import ConvConfig
from rnnlab.models.encoder import EncoderConfig, SequenceEncoder

from ._seqtasks import VOCAB, with_garbage_padding


@pytest.mark.parametrize(
    ("cell", "layers", "bidirectional", "input", "impl"),
    [
        ("lstm", 1, True, "embedding", "auto"),
        ("gru", 2, True, "onehot", "auto"),
        ("rnn", 3, False, "embedding", "auto"),
        ("lstm", 2, True, "embedding", "reference"),
    ],
)
def test_outputs_and_state_of_a_padded_batch_match_each_sequence_alone(
    cell: str, layers: int, bidirectional: bool, input: str, impl: str
) -> None:
    """Real steps equal the sequence run alone, padded steps are 0, last_hidden is each sequence's own."""
    torch.manual_seed(0)
    config = EncoderConfig(
        vocab_size=VOCAB, input=input, embed_size=5, cell=cell, hidden_size=4, num_layers=layers,
        bidirectional=bidirectional, dropout=0.0, impl=impl,
    )  # fmt: skip
    encoder = SequenceEncoder(config).double().eval()
    lengths = torch.tensor([6, 2, 4, 1])
    x = with_garbage_padding(torch.randint(1, VOCAB, (6, 4)), lengths)
    out, out_lengths, state = encoder(x, lengths)
    last = encoder.last_hidden(state)
    assert out.shape == (6, 4, config.output_size) and torch.equal(out_lengths, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, _, alone_state = encoder(x[:n, b : b + 1], lengths[b : b + 1])
        torch.testing.assert_close(out[:n, b], alone[:, 0], rtol=1e-12, atol=1e-12)
        assert bool((out[n:, b] == 0).all())
        torch.testing.assert_close(last[b], encoder.last_hidden(alone_state)[0], rtol=1e-12, atol=1e-12)


def test_causal_flag_and_json_round_trip() -> None:
    """causal = unidirectional and no centred CNN; configs survive JSON with their CNN."""
    assert EncoderConfig(vocab_size=5, bidirectional=False).causal
    assert not EncoderConfig(vocab_size=5, bidirectional=True).causal
    centred = EncoderConfig(vocab_size=5, bidirectional=False, cnn=ConvConfig())
    assert not centred.causal
    causal = EncoderConfig(vocab_size=5, bidirectional=False, cnn=ConvConfig(causal=True))
    assert causal.causal
    assert EncoderConfig.from_dict(json.loads(json.dumps(causal.to_dict()))) == causal


def test_bad_configs_and_ids_are_refused() -> None:
    """Unknown cells/inputs, bad dropout and out-of-range ids raise errors that name the fix."""
    with pytest.raises(ConfigError, match="unknown cell"):
        EncoderConfig(vocab_size=5, cell="lstmm")
    with pytest.raises(ConfigError, match="unknown input"):
        EncoderConfig(vocab_size=5, input="bytes")
    with pytest.raises(ConfigError, match="probability"):
        EncoderConfig(vocab_size=5, dropout=1.0)
    with pytest.raises(ConfigError, match="unknown encoder option"):
        EncoderConfig.from_dict({"vocab_size": 5, "hidden": 3})
    encoder = SequenceEncoder(EncoderConfig(vocab_size=5))
    with pytest.raises(ShapeError, match="run's own vocabulary"):
        encoder(torch.tensor([[7]]))
