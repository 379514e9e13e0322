"""Building config dataclasses from JSON dicts, refusing unknown keys with the list of valid ones.

    @dataclass
    class TrainConfig:
        lr: float = 3e-3
        ...
        @classmethod
        def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
            return from_dict_strict(cls, data, "training option")

    TrainConfig.from_dict({"lrr": 1e-3})
    # ConfigError: unknown training option(s) ['lrr']; valid options are ['batch_size', …, 'lr', …]

A typo in a config file should fail loudly at load time, not be silently ignored; every config of
the package (training, recurrent layer, RNNLM, n-gram, scratch model) goes through this one helper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from rnnlab.errors import ConfigError

T = TypeVar("T")


def from_dict_strict(cls: type[T], data: Mapping[str, Any], what: str) -> T:
    """``cls(**data)`` for a dataclass ``cls``, raising ConfigError on keys that are not its fields.

    ``what`` names one key in messages, e.g. ``"training option"`` gives "unknown training
    option(s) ['lrr']; valid options are [...]" (the last word of ``what`` is pluralised).
    Values are checked by the dataclass itself (``__post_init__``).
    """
    if not is_dataclass(cls):
        raise TypeError(f"from_dict_strict needs a dataclass, got {cls!r}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what}s must be a JSON object of key: value pairs, got {type(data).__name__}")
    known = sorted(f.name for f in fields(cls) if f.init)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown {what}(s) {unknown}; valid {what.split()[-1]}s are {known}")
    return cls(**data)
