"""`rnnlab.config.from_dict_strict`: every config class refuses unknown keys and lists the valid ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError
from rnnlab.layers import RecurrentConfig
from rnnlab.models.ngram import NGramConfig
from rnnlab.models.rnnlm import RNNLMConfig
from rnnlab.scratch.model import ScratchConfig
from rnnlab.train.config import TrainConfig


@pytest.mark.parametrize(
    ("build", "good", "message"),
    [
        (
            TrainConfig.from_dict,
            {"lr": 1e-3},
            r"unknown training option\(s\) \['typo'\]; valid options are \[.*'lr'",
        ),
        (
            RNNLMConfig.from_dict,
            {"vocab_size": 10},
            r"unknown RNNLM option\(s\) \['typo'\]; valid options.*'cell'",
        ),
        (
            RecurrentConfig.from_dict,
            {"cell": "lstm", "input_size": 3, "hidden_size": 4},
            r"unknown recurrent-layer option\(s\) \['typo'\]; valid options",
        ),
        (
            NGramConfig.from_dict,
            {"n": 2},
            r"unknown n-gram config key\(s\) \['typo'\]; valid keys are \[.*'n'",
        ),
        (
            lambda d: ScratchConfig.from_json(json.dumps(d)),
            {"cell": "gru", "vocab_size": 5, "hidden_size": 4},
            r"unknown scratch config key\(s\)",
        ),
    ],
)
def test_unknown_keys_are_refused_with_the_valid_ones(build: Any, good: dict[str, Any], message: str) -> None:
    """Known keys build the config; one unknown key raises ConfigError naming it and the valid keys."""
    build(dict(good))
    with pytest.raises(ConfigError, match=message):
        build({**good, "typo": 1})


def test_non_mapping_is_refused() -> None:
    """A JSON list (or any non-object) is a ConfigError that says an object is expected."""
    with pytest.raises(ConfigError, match="JSON object"):
        from_dict_strict(TrainConfig, [("lr", 1.0)], "training option")  # type: ignore[arg-type]


def test_round_trip_keeps_every_field() -> None:
    """to_dict → from_dict rebuilds an equal TrainConfig and RNNLMConfig."""
    assert TrainConfig.from_dict(TrainConfig(lr=1e-2).to_dict()) == TrainConfig(lr=1e-2)
    config = RNNLMConfig(vocab_size=7, hidden_size=8)
    assert RNNLMConfig.from_dict(config.to_dict()) == config
