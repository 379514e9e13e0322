"""Choosing a model by its validation error at the horizon that matters, over rolling origins.

One-step validation error does not rank models by how they forecast far ahead: recursive errors
compound differently in different models, and one-step errors of good models all sit near the
noise floor. So every trained model also forecasts from each *validation* origin
t = n_train − 1, …, n_fit − 2 (state warmed on the true past up to t, exactly as at test time),
and its error at horizon k is the MSE over the origins whose target t + k still lies in the
validation part::

    train ───────────────┤ valid ───────────────┤ test
                     t ──┼──► t+k                  (t rolls over the validation part)

``--select-by K`` picks the model with the lowest validation MSE at k = K; the test part is
never looked at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.forecast.data import TimeSplit


def validation_origins(split: TimeSplit) -> np.ndarray:
    """The rolling origins of a validation part: every t whose next value is a validation value."""
    return np.arange(split.n_train - 1, split.n_fit - 1)


def longest_validation_horizon(splits: Sequence[TimeSplit]) -> int:
    """The largest k that at least one validation origin of some series can score."""
    return max((s.n_fit - s.n_train for s in splits), default=0)


def validation_mse(actual: np.ndarray, paths: np.ndarray, horizons: Sequence[int]) -> dict[str, float | None]:
    """{"k": MSE of the paths at k over the origins whose target exists}, None where none does."""
    out: dict[str, float | None] = {}
    for k in horizons:
        if k > actual.shape[1]:
            out[str(k)] = None
            continue
        err = actual[:, k - 1] - paths[:, k - 1]
        err = err[np.isfinite(err)]
        out[str(k)] = float(np.mean(err**2)) if len(err) else None
    return out


def choose(errors: Mapping[str, Mapping[str, float | None]], horizon: int) -> str:
    """The model with the lowest validation MSE at ``horizon``, or a ConfigError if none was scored there."""
    scored = {name: e.get(str(horizon)) for name, e in errors.items()}
    valid = {name: v for name, v in scored.items() if v is not None}
    if not valid:
        raise ConfigError(
            f"no model could be scored {horizon} steps ahead inside the validation part; lower "
            "--select-by or raise --valid-fraction so the validation part is longer than the horizon"
        )
    return min(valid, key=lambda name: valid[name])


def selection_report(errors: Mapping[str, Mapping[str, float | None]], horizons: Sequence[int],
                     select_by: int | None) -> dict[str, Any]:  # fmt: skip
    """What metrics.json says about model choice: the errors, and the pick of each horizon's rule."""
    by_rule = {}
    for k in horizons:
        try:
            by_rule[str(k)] = choose(errors, k)
        except ConfigError:
            continue
    report: dict[str, Any] = {
        "valid_mse": {name: dict(e) for name, e in errors.items()},
        "chosen_by_horizon": by_rule,
    }
    if select_by is not None:
        report["select_by"] = select_by
        report["chosen"] = choose(errors, select_by)
    return report
