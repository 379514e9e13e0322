"""The sequence classifier: every pooling learns a task, padding is never pooled, class weights weigh."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.classifier import POOLINGS, ClassifierConfig, SequenceClassifier, balanced_class_weights
from rnnlab.models.conv import ConvConfig
from rnnlab.models.encoder import EncoderConfig
from rnnlab.tasks.objectives import ClassifierObjective

from ._seqtasks import VOCAB, accuracy, batches, random_sequences, train, with_garbage_padding


def has_pair(seq: np.ndarray) -> np.ndarray:
    """Label 1 when token 1 is immediately followed by token 2 somewhere: order matters, not just content."""
    return np.asarray(int(any(a == 1 and b == 2 for a, b in itertools.pairwise(seq.tolist()))))


def _data(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Balanced: half the sequences get a 1 2 planted at a random place."""
    rng = np.random.default_rng(seed + 100)
    seqs = random_sequences(n, low=4, high=12, seed=seed)
    for i, s in enumerate(seqs):
        s[s == 1] = 3  # no accidental pairs …
        if i % 2:  # … and a planted one in every other sequence
            at = int(rng.integers(0, len(s) - 1))
            s[at : at + 2] = (1, 2)
    return seqs, [has_pair(s) for s in seqs]


def _classifier(
    pooling: str, cnn: ConvConfig | None = None, weights: tuple[float, ...] | None = None
) -> SequenceClassifier:
    torch.manual_seed(0)
    encoder = EncoderConfig(vocab_size=VOCAB, embed_size=8, hidden_size=16, dropout=0.0, cnn=cnn)
    return SequenceClassifier(
        ClassifierConfig(encoder=encoder, num_classes=2, pooling=pooling, dropout=0.0, class_weights=weights)
    )


@pytest.mark.parametrize("pooling", POOLINGS)
def test_each_pooling_learns_a_sequence_classification_task(pooling: str) -> None:
    """ "Is 1 right before 2?" reaches ≥ 99% test accuracy with last, mean, max and attention pooling."""
    model = _classifier(pooling)
    seqs, labels = _data(400, seed=0)
    train(ClassifierObjective(model, ["no", "yes"]), batches(seqs, labels), steps=120, lr=2e-2)
    test, test_labels = _data(200, seed=1)
    model.eval()
    acc = accuracy(lambda x, n: model(x, n).argmax(-1), batches(test, test_labels, 50, shuffle=False))
    assert acc >= 0.99


CNNS = [
    None,
    ConvConfig(channels=(6,), kernel_sizes=(3,)),
    ConvConfig(channels=(6, 5), kernel_sizes=(3, 2), stride=2, pool=2),
]


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("cnn", CNNS, ids=["rnn", "cnn", "cnn-strided-pooled"])
def test_padding_is_never_pooled(pooling: str, cnn: ConvConfig | None) -> None:
    """Each column's logits equal those of the sequence alone, whatever garbage fills the padding."""
    model = _classifier(pooling, cnn).double().eval()
    seqs, labels = _data(5, seed=2)
    batch = next(iter(batches(seqs, labels, 5, shuffle=False)))
    assert batch.lengths is not None
    logits = model(batch.x, batch.lengths)
    torch.testing.assert_close(
        logits, model(with_garbage_padding(batch.x, batch.lengths), batch.lengths), rtol=0, atol=1e-12
    )
    for b, n in enumerate(batch.lengths.tolist()):
        alone = model(batch.x[:n, b : b + 1], batch.lengths[b : b + 1])
        torch.testing.assert_close(logits[b], alone[0], rtol=1e-12, atol=1e-12)


def test_class_weights_weigh_each_example_by_its_gold_class() -> None:
    """ℒ_sum = Σ_i w_{y_i} · NLL_i, with balanced weights N / (C · N_c)."""
    assert balanced_class_weights([6, 2]) == pytest.approx((8 / 12, 8 / 4))
    model = _classifier("mean", weights=(0.5, 3.0)).double().eval()
    seqs, labels = _data(6, seed=3)
    batch = next(iter(batches(seqs, labels, 6, shuffle=False)))
    total, logits = model.loss(batch.x, batch.lengths, batch.y)
    nll = -torch.log_softmax(logits, -1).gather(1, batch.y.unsqueeze(1)).squeeze(1)
    w = torch.tensor([0.5, 3.0], dtype=torch.float64)[batch.y]
    torch.testing.assert_close(total, (w * nll).sum())


def test_config_round_trips_and_refuses_bad_values() -> None:
    """to_dict → JSON → from_dict rebuilds the config (CNN included); wrong values name the fix."""
    import json

    config = ClassifierConfig(
        encoder=EncoderConfig(vocab_size=9, cnn=ConvConfig(channels=(4,), pool=2)),
        num_classes=3,
        pooling="attention",
    )
    assert ClassifierConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="unknown pooling"):
        ClassifierConfig(encoder=EncoderConfig(vocab_size=9), num_classes=2, pooling="sum")
    with pytest.raises(ConfigError, match="one weight per class"):
        ClassifierConfig(encoder=EncoderConfig(vocab_size=9), num_classes=2, class_weights=(1.0,))
    with pytest.raises(ConfigError, match="unknown classifier option"):
        ClassifierConfig.from_dict({"encoder": {"vocab_size": 9}, "num_classes": 2, "polling": "max"})
