"""The sequence tagger: it learns what its direction lets it see, and padding never matters."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.conv import ConvConfig
from rnnlab.models.encoder import EncoderConfig
from rnnlab.models.tagger import SequenceTagger, TaggerConfig
from rnnlab.tasks.objectives import TaggerObjective

from ._seqtasks import (
    VOCAB,
    accuracy,
    batches,
    copy_next,
    copy_previous,
    random_sequences,
    train,
    with_garbage_padding,
)


def _tagger(
    bidirectional: bool, crf: bool = False, cell: str = "lstm", cnn: ConvConfig | None = None
) -> SequenceTagger:
    torch.manual_seed(0)
    encoder = EncoderConfig(
        vocab_size=VOCAB,
        embed_size=8,
        hidden_size=24,
        bidirectional=bidirectional,
        dropout=0.0,
        cell=cell,
        cnn=cnn,
    )
    return SequenceTagger(TaggerConfig(encoder=encoder, num_tags=VOCAB, crf=crf))


def _learn(model: SequenceTagger, make_tags, steps: int = 300) -> float:
    seqs = random_sequences(400)
    train(
        TaggerObjective(model, [str(i) for i in range(VOCAB)]),
        batches(seqs, [make_tags(s) for s in seqs]),
        steps,
    )
    test = random_sequences(100, seed=1)
    model.eval()
    return accuracy(
        lambda x, n: model.decode(model(x, n), n), batches(test, [make_tags(s) for s in test], 32, False)
    )


@pytest.mark.parametrize("crf", [False, True], ids=["softmax", "crf"])
def test_a_unidirectional_tagger_learns_to_copy_the_previous_token(crf: bool) -> None:
    """Tag t = x_{t−1} needs memory; a left-to-right LSTM tagger reaches ≥ 99% (per-step softmax or CRF)."""
    assert _learn(_tagger(bidirectional=False, crf=crf), copy_previous) >= 0.99


def test_only_a_bidirectional_tagger_learns_the_right_context_task() -> None:
    """Tag t = x_{t+1}: the bidirectional tagger reaches ≥ 99%, the unidirectional one stays near chance."""
    assert _learn(_tagger(bidirectional=True), copy_next) >= 0.99
    assert _learn(_tagger(bidirectional=False), copy_next, steps=200) < 0.5


def test_a_cnn_front_end_tagger_learns_the_right_context_task() -> None:
    """With a centred Conv1d front end (width 3) a GRU tagger sees x_{t+1} and learns the task too."""
    model = _tagger(bidirectional=False, cell="gru", cnn=ConvConfig(channels=(24,), kernel_sizes=(3,)))
    assert _learn(model, copy_next) >= 0.99


@pytest.mark.parametrize("crf", [False, True], ids=["softmax", "crf"])
@pytest.mark.parametrize("cnn", [None, ConvConfig(channels=(6,), kernel_sizes=(5,))], ids=["rnn", "cnn"])
def test_padding_never_changes_emissions_losses_or_decoding(crf: bool, cnn: ConvConfig | None) -> None:
    """Garbage in the padded positions changes no emission, no loss and no decoded tag of a real step."""
    model = _tagger(True, crf, cnn=cnn).double().eval()
    seqs = random_sequences(6, seed=3)
    batch = next(iter(batches(seqs, [copy_previous(s) for s in seqs], 6, shuffle=False)))
    assert batch.lengths is not None
    noisy = with_garbage_padding(batch.x, batch.lengths)
    mask = torch.arange(batch.x.shape[0]).unsqueeze(1) < batch.lengths.unsqueeze(0)
    e1, e2 = model(batch.x, batch.lengths), model(noisy, batch.lengths)
    torch.testing.assert_close(e1[mask], e2[mask], rtol=0, atol=1e-12)
    l1, n1, _ = model.loss(batch.x, batch.lengths, batch.y)
    l2, n2, _ = model.loss(noisy, batch.lengths, batch.y)
    assert n1 == n2 == int(batch.lengths.sum())
    torch.testing.assert_close(l1, l2, rtol=0, atol=1e-10)
    assert torch.equal(model.decode(e1, batch.lengths), model.decode(e2, batch.lengths))
    # The batch loss is the sum of each sequence's loss alone.
    alone = sum(
        model.loss(batch.x[:n, b : b + 1], batch.lengths[b : b + 1], batch.y[:n, b : b + 1])[0]
        for b, n in enumerate(batch.lengths.tolist())
    )
    torch.testing.assert_close(l1, alone, rtol=1e-10, atol=1e-10)


def test_a_tagger_refuses_a_length_changing_cnn() -> None:
    """A strided or pooling front end would leave characters without an output: ConfigError."""
    encoder = EncoderConfig(vocab_size=VOCAB, cnn=ConvConfig(channels=(4,), pool=2))
    with pytest.raises(ConfigError, match="stride=1 and pool=1"):
        TaggerConfig(encoder=encoder, num_tags=3)
