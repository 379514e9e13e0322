"""The encoder–decoder: stepping equals teacher forcing, padding is irrelevant, configs fail clearly."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.seq2seq import DecoderState, Seq2Seq, Seq2SeqConfig

V = 11


def tiny(**options: object) -> Seq2Seq:
    base = {"vocab_size": V, "embed_size": 8, "encoder_hidden_size": 6, "hidden_size": 10, "dropout": 0.0}
    return Seq2Seq(Seq2SeqConfig(**{**base, **options})).eval()  # type: ignore[arg-type]


CONFIGS = [
    {"cell": "gru", "attention": "additive"},
    {"cell": "lstm", "attention": "general", "encoder_layers": 2, "decoder_layers": 2},
    {"cell": "rnn", "attention": "none", "bidirectional": False},
    {"cell": "gru", "attention": "dot", "encoder_hidden_size": 5},
    {"cell": "lstm", "attention": "additive", "bridge": "zero", "tie_weights": False},
]


@pytest.mark.parametrize("options", CONFIGS)
def test_one_step_at_a_time_equals_teacher_forcing(options: dict[str, object]) -> None:
    """Feeding the target one token per call gives the logits and attention of one whole-sequence call."""
    model = tiny(**options)
    source, target = torch.randint(4, V, (6, 3)), torch.randint(4, V, (5, 3))
    lengths = torch.tensor([6, 4, 2])
    with torch.no_grad():
        logits, weights = model(source, lengths, target)
        encoded, s0 = model.encode(source, lengths)
        state = DecoderState(s0, encoded)
        steps = []
        for t in range(target.shape[0]):
            step_logits, state, step_weights = model.decode(target[t : t + 1], state)
            steps.append((step_logits, step_weights))
    torch.testing.assert_close(torch.cat([s[0] for s in steps]), logits)
    if weights is not None:
        torch.testing.assert_close(torch.cat([s[1] for s in steps]), weights)


@pytest.mark.parametrize("options", CONFIGS[:3])
def test_a_source_decodes_the_same_alone_or_padded_in_a_batch(options: dict[str, object]) -> None:
    """A short source batched with a long one (padded, junk in the padding) gets the logits it gets alone."""
    model = tiny(**options)
    short, long = torch.randint(4, V, (3, 1)), torch.randint(4, V, (7, 1))
    target = torch.randint(4, V, (4, 1))
    with torch.no_grad():
        alone, _ = model(short, torch.tensor([3]), target)
        padded = torch.cat([short, torch.randint(4, V, (4, 1))])  # junk where padding would be
        both, _ = model(torch.cat([padded, long], dim=1), torch.tensor([3, 7]), target.repeat(1, 2))
    torch.testing.assert_close(both[:, :1], alone)


def test_attention_weights_sum_to_one_over_the_real_source() -> None:
    """Weights are a distribution over each source's real positions and exactly 0 on its padding."""
    model = tiny(attention="additive")
    with torch.no_grad():
        _, weights = model(torch.randint(4, V, (5, 2)), torch.tensor([5, 3]), torch.randint(4, V, (4, 2)))
    assert weights is not None
    assert torch.equal(weights[:, 1, 3:], torch.zeros(4, 2))
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 2))


def test_scheduled_sampling_at_rate_zero_is_teacher_forcing() -> None:
    """The step-by-step training loop with ε = 0 gives teacher forcing's logits; with ε = 1 it does not."""
    model = tiny(attention="additive")
    model.train()
    source, target = torch.randint(4, V, (5, 2)), torch.randint(4, V, (6, 2))
    encoded, s0 = model.encode(source, None)
    forced, _ = model.decode(target, DecoderState(s0, encoded))[0], None
    looped, _ = model._scheduled_sampling(target, DecoderState(s0, encoded), 0.0)
    torch.testing.assert_close(looped, forced)
    torch.manual_seed(1)
    own, _ = model(source, None, target, sampling_rate=1.0)
    assert not torch.allclose(own[1:], forced[1:])  # inputs after the first came from the model


def test_tied_output_shares_the_embedding() -> None:
    """With tie_weights the output layer is the embedding matrix (counted once)."""
    model = tiny(hidden_size=8, embed_size=8)
    assert model.output.weight is model.embedding.weight
    assert model.projection is None
    untied = tiny(hidden_size=8, embed_size=8, tie_weights=False)
    assert untied.num_parameters() == model.num_parameters() + V * 8


def test_config_round_trip_and_errors() -> None:
    """The config survives JSON; bad values raise ConfigError naming the option; bad ids raise ShapeError."""
    config = Seq2SeqConfig(vocab_size=V, attention="general", cell="lstm")
    assert Seq2SeqConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown seq2seq option"):
        Seq2SeqConfig.from_dict({"vocab_size": V, "atention": "dot"})
    with pytest.raises(ConfigError, match="attention"):
        Seq2SeqConfig(vocab_size=V, attention="luong")
    with pytest.raises(ConfigError, match="hidden_size"):
        Seq2SeqConfig(vocab_size=V, attention="dot", hidden_size=100, encoder_hidden_size=30)
    with pytest.raises(ConfigError, match="bridge"):
        Seq2SeqConfig(vocab_size=V, attention="none", bridge="zero")
    with pytest.raises(ConfigError, match="dropout"):
        Seq2SeqConfig(vocab_size=V, dropout=1.5)
    model = tiny()
    with pytest.raises(ShapeError, match="vocabulary"):
        model(torch.full((3, 1), V), None, torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"\(T, B\)"):
        model(torch.zeros(3, dtype=torch.long), None, torch.zeros(2, 1, dtype=torch.long))
