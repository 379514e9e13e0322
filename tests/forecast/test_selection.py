"""Model choice by validation error at a horizon, over rolling origins."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.forecast.data import TimeSplit
from rnnlab.forecast.selection import choose, selection_report, validation_mse, validation_origins


def test_rolling_origins_cover_the_validation_part() -> None:
    """Origins run from n_train − 1 to n_fit − 2, so every validation value is some origin's next value."""
    np.testing.assert_array_equal(validation_origins(TimeSplit(70, 80, 100)), np.arange(69, 79))


def test_each_horizon_rule_picks_its_own_winner() -> None:
    """A model good one step ahead but bad four steps ahead wins k = 1 and loses k = 4."""
    actual = np.zeros((10, 4))
    short = np.tile([0.1, 0.5, 1.0, 2.0], (10, 1))
    steady = np.full((10, 4), 0.3)
    errors = {
        "short": validation_mse(actual, short, [1, 4]),
        "steady": validation_mse(actual, steady, [1, 4]),
    }
    assert choose(errors, 1) == "short" and choose(errors, 4) == "steady"
    report = selection_report(errors, [1, 4], select_by=4)
    assert report["chosen_by_horizon"] == {"1": "short", "4": "steady"} and report["chosen"] == "steady"


def test_a_horizon_longer_than_the_validation_part_is_refused() -> None:
    """Asking for a horizon no validation origin reaches says to lower it or lengthen validation."""
    errors = {"m": validation_mse(np.zeros((3, 2)), np.zeros((3, 2)), [1, 8])}
    assert errors["m"]["8"] is None
    with pytest.raises(ConfigError, match="--valid-fraction"):
        choose(errors, 8)
