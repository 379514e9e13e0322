"""The multi-output model: one encoder learns two heads at once; padding and ignored targets never count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.data.buckets import IGNORE
from rnnlab.errors import ConfigError
from rnnlab.models.conv import ConvConfig
from rnnlab.models.encoder import EncoderConfig
from rnnlab.models.multihead import MultiOutputConfig, MultiOutputModel
from rnnlab.tasks.objectives import MultiOutputObjective

from ._seqtasks import VOCAB, accuracy, batches, with_garbage_padding


def counting(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sequences that count up mod 7 (1 … 7) from a random start: the next token and its parity are
    determined by the current one, so a causal model can learn both heads exactly."""
    rng = np.random.default_rng(seed)
    seqs, targets = [], []
    for _ in range(n):
        start, length = int(rng.integers(0, 7)), int(rng.integers(3, 12))
        seq = (start + np.arange(length + 1)) % 7 + 1
        x, nxt = seq[:-1], seq[1:]
        targets.append(np.stack([nxt, nxt % 2], axis=1))
        seqs.append(x)
    return seqs, targets


def _model(cnn: ConvConfig | None = None) -> MultiOutputModel:
    torch.manual_seed(0)
    encoder = EncoderConfig(
        vocab_size=VOCAB, embed_size=8, hidden_size=16, bidirectional=False, dropout=0.0, cnn=cnn
    )
    return MultiOutputModel(MultiOutputConfig(encoder=encoder, heads={"next": VOCAB, "parity": 2}))


def test_a_shared_encoder_learns_both_heads() -> None:
    """Next token and its parity, from one encoder and a summed loss, each ≥ 99% accurate."""
    model = _model()
    seqs, targets = counting(300, seed=0)
    from ._seqtasks import train

    train(MultiOutputObjective(model), batches(seqs, targets), steps=200)
    model.eval()
    test, test_targets = counting(100, seed=1)
    for h, head in enumerate(model.heads):
        source = batches(test, [t[:, h] for t in test_targets], 50, shuffle=False)
        assert accuracy(lambda x, n, head=head: model(x, n)[head].argmax(-1), source) >= 0.99


@pytest.mark.parametrize(
    "cnn", [None, ConvConfig(channels=(6,), kernel_sizes=(3,), causal=True)], ids=["rnn", "cnn"]
)
def test_padding_and_ignored_targets_change_no_loss(cnn: ConvConfig | None) -> None:
    """Garbage in the padding changes neither logits nor losses; an IGNORE target counts nowhere."""
    model = _model(cnn).double().eval()
    seqs, targets = counting(5, seed=2)
    targets[0][1, 1] = IGNORE
    batch = next(iter(batches(seqs, targets, 5, shuffle=False)))
    assert batch.lengths is not None
    total, n, per_head, logits = model.loss(batch.x, batch.lengths, batch.y)
    noisy = model.loss(with_garbage_padding(batch.x, batch.lengths), batch.lengths, batch.y)
    torch.testing.assert_close(total, noisy[0], rtol=0, atol=1e-10)
    assert n == int(batch.lengths.sum())
    assert per_head["next"][1] == n and per_head["parity"][1] == n - 1
    manual = torch.zeros((), dtype=torch.float64)
    for h, head in enumerate(model.heads):
        for b, length in enumerate(batch.lengths.tolist()):
            for t in range(length):
                y = int(batch.y[t, b, h])
                if y != IGNORE:
                    manual = manual - torch.log_softmax(logits[head][t, b], -1)[y]
    torch.testing.assert_close(total, manual)


def test_config_checks_heads_and_weights() -> None:
    """No head, a one-class head or weights for unknown heads are refused with the valid choices."""
    encoder = EncoderConfig(vocab_size=VOCAB, bidirectional=False)
    with pytest.raises(ConfigError, match="at least one head"):
        MultiOutputConfig(encoder=encoder, heads={})
    with pytest.raises(ConfigError, match="at least 2 classes"):
        MultiOutputConfig(encoder=encoder, heads={"x": 1})
    with pytest.raises(ConfigError, match="unknown heads"):
        MultiOutputConfig(encoder=encoder, heads={"next": 5}, loss_weights={"tag": 1.0})
    config = MultiOutputConfig(encoder=encoder, heads={"next": 5, "tag": 2}, loss_weights={"tag": 0.5})
    assert MultiOutputConfig.from_dict(config.to_dict()) == config and config.weight("next") == 1.0
