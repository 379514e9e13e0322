"""TrainConfig round trip and validation; perplexity and bits per token against their definitions."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rnnlab.data.sampling import PackedPoemStreams
from rnnlab.errors import ConfigError
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train.config import TrainConfig
from rnnlab.train.metrics import format_line
from rnnlab.train.objective import LanguageModelObjective
from rnnlab.train.schedule import LRSchedule
from rnnlab.train.trainer import evaluate


def test_config_round_trips_through_json() -> None:
    """A non-default config survives to_dict → JSON → from_dict unchanged."""
    config = TrainConfig(optimizer="sgd", lr=5.0, schedule="plateau", sampling="padded", loss_on_padding=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_unknown_keys_are_rejected_with_the_valid_list() -> None:
    """A misspelt key raises ConfigError listing the valid option names."""
    with pytest.raises(ConfigError, match=r"unknown training option\(s\) \['lrr'\].*valid options.*'lr'"):
        TrainConfig.from_dict({"lrr": 0.1})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"optimizer": "adagrad"}, r"options are \['sgd', 'adam', 'adamw'\]"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"bptt_mode": "random-length", "sampling": "random"}, "needs sampling 'sequential' or 'packed'"),
        ({"loss_on_padding": True}, "only applies to sampling='padded'"),
    ],
)
def test_invalid_values_name_the_problem(changes: dict[str, object], message: str) -> None:
    """Each invalid setting raises ConfigError with a message naming it and the valid choices."""
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)  # type: ignore[arg-type]


def test_uniform_model_has_perplexity_equal_to_the_vocabulary_size() -> None:
    """Zero logits give p = 1/V for every target, so exp(mean NLL) is exactly V and bits = log2 V."""
    vocab = 13
    model = RNNLM(RNNLMConfig(vocab_size=vocab, embed_size=4, hidden_size=5, num_layers=1))
    with torch.no_grad():
        model.decoder.weight.zero_()
        model.decoder.bias.zero_()
    poems = [torch.randint(4, vocab, (n,)).numpy() for n in (5, 9, 3, 7)]
    batches = PackedPoemStreams(poems, 3, 4, eos_id=3, shuffle=False)
    meter = evaluate(LanguageModelObjective(model), batches, torch.device("cpu"))
    assert meter.n_tokens == sum(len(p) + 1 for p in poems)  # every character and every <eos>
    assert meter.ppl == pytest.approx(vocab, rel=1e-6)
    assert meter.bits == pytest.approx(math.log2(vocab), rel=1e-6)


def test_objective_loss_matches_torch_cross_entropy_over_the_mask() -> None:
    """The summed NLL equals torch's mean cross-entropy over the counted positions times their number."""
    model = RNNLM(RNNLMConfig(vocab_size=7, embed_size=4, hidden_size=5, num_layers=1)).eval()
    from rnnlab.data.sampling import Batch

    x, y = torch.randint(0, 7, (6, 2)), torch.randint(0, 7, (6, 2))
    mask = torch.zeros(6, 2, dtype=torch.bool)
    mask[2:, 0] = True
    mask[:3, 1] = True
    batch = Batch(x=x, y=y, mask=mask, reset_state=True)
    sum_nll, n, _ = LanguageModelObjective(model).loss(batch, None)
    logits, _ = model(x)
    reference = torch.nn.functional.cross_entropy(logits[mask], y[mask], reduction="mean")
    assert n == 7
    torch.testing.assert_close(sum_nll / n, reference)


def test_cosine_schedule_warms_up_then_anneals_to_the_floor() -> None:
    """η rises linearly over the warm-up, peaks at lr, and ends at min_lr_ratio · lr."""
    config = TrainConfig(lr=1.0, warmup_steps=4, min_lr_ratio=0.1, schedule="cosine")
    schedule = LRSchedule(config, total_steps=20)
    assert [schedule.lr(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert schedule.lr(20) == pytest.approx(0.1)
    assert schedule.lr(12) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 12 / 20)))


def test_plateau_schedule_decays_after_patience_evaluations_without_gain() -> None:
    """With patience 1, the second evaluation in a row without improvement halves η."""
    schedule = LRSchedule(TrainConfig(lr=1.0, warmup_steps=0, schedule="plateau", plateau_patience=1), 10)
    for loss in (3.0, 2.0, 2.5, 2.6):
        schedule.observe(loss)
    assert schedule.lr(5) == pytest.approx(0.5)


def test_log_line_is_fixed_width() -> None:
    """Train log lines have the same length whatever the magnitudes, so columns line up."""
    base = {"kind": "train", "epoch": 1, "step": 5, "loss": 1.0, "ppl": 2.7, "lr": 1e-3, "tok_s": 10.0,
            "grad_norm": 0.5, "clipped_share": 0.0}  # fmt: skip
    other = {**base, "epoch": 12, "step": 123456, "loss": 12.5, "ppl": 99999.0, "tok_s": 1234567.0}
    assert len(format_line(base)) == len(format_line(other))
