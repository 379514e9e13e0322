"""Errors by horizon: MSE/MAE/MASE, CRPS against brute force and the Gaussian closed form, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rnnlab.errors import ConfigError
from rnnlab.forecast.baselines import naive_paths
from rnnlab.forecast.metrics import (
    central_intervals,
    check_quantiles,
    crps_from_samples,
    format_table,
    horizon_errors,
    naive_scale,
    true_paths,
)


def test_mase_of_naive_on_its_own_scaling_is_one() -> None:
    """Scored on the training series itself, the one-step naive forecast has MASE exactly 1."""
    x = np.cumsum(np.random.default_rng(0).normal(size=80))
    origins = np.arange(0, 79)
    table = horizon_errors(true_paths(x, origins, 1), naive_paths(x, origins, 1), [1], naive_scale(x))
    assert table["1"]["mase"] == pytest.approx(1.0)
    assert table["1"]["n"] == 79


def test_horizons_past_the_test_part_are_none() -> None:
    """A horizon no origin reaches is reported as None with n = 0, not as a number."""
    x = np.arange(10, dtype=np.float64)
    origins = np.array([6, 7, 8])
    table = horizon_errors(true_paths(x, origins, 3), naive_paths(x, origins, 3), [1, 3, 5], 1.0)
    assert table["1"]["n"] == 3 and table["3"]["n"] == 1 and table["5"]["mse"] is None


def test_crps_estimate_equals_the_pairwise_formula() -> None:
    """The sorted-sample CRPS equals mean|x_i − y| − Σ_{i,j}|x_i − x_j| / (2K(K−1)) computed pair by pair."""
    rng = np.random.default_rng(0)
    samples, actual = rng.normal(size=(3, 7, 2)), rng.normal(size=(3, 2))
    brute = np.empty((3, 2))
    for b in range(3):
        for k in range(2):
            s = samples[b, :, k]
            brute[b, k] = np.mean(np.abs(s - actual[b, k])) - np.abs(s[:, None] - s[None, :]).sum() / (
                2 * 7 * 6
            )
    np.testing.assert_allclose(crps_from_samples(samples, actual), brute, rtol=1e-12)


def test_crps_of_gaussian_samples_matches_the_closed_form() -> None:
    """For samples of N(μ, σ²), the estimate agrees with σ[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ."""
    rng = np.random.default_rng(1)
    mu, sigma, y = 0.3, 1.7, np.array([[-1.0, 0.3, 2.5]])
    samples = rng.normal(mu, sigma, size=(1, 50_000, 1)).repeat(3, axis=2)
    z = (y - mu) / sigma
    closed = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(crps_from_samples(samples, y), closed, rtol=0.02)


def test_coverage_and_crps_in_the_horizon_table() -> None:
    """With quantiles 0.1/0.5/0.9 and 0.25/0.75, each entry gains CRPS and the share of values inside the
    80 % and 50 % central intervals, counted by hand here."""
    actual = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, np.nan], [1.0, 1.0]])
    lo, hi = np.full((4, 2), 0.5), np.full((4, 2), 2.5)
    quantiles = {0.1: lo - 1, 0.25: lo, 0.5: (lo + hi) / 2, 0.75: hi, 0.9: hi + 1}
    samples = np.stack([lo, hi], axis=1)
    table = horizon_errors(actual, quantiles[0.5], [1, 2], 1.0, crps=crps_from_samples(samples, actual),
                           quantiles=quantiles)  # fmt: skip
    assert table["1"]["coverage"] == {"0.8": 0.75, "0.5": 0.5}
    assert table["2"]["coverage"] == {"0.8": 1.0, "0.5": 2 / 3} and table["2"]["n"] == 3
    assert table["1"]["crps"] == pytest.approx(np.mean(crps_from_samples(samples, actual)[:, 0]))
    assert "COVERAGE:0.8" in format_table({"m": table}, [1, 2], "coverage:0.8")


def test_pooled_mase_divides_each_row_by_its_own_scale() -> None:
    """Rows from two series with scales 1 and 10: MASE is the mean of |e|/q over rows."""
    table = horizon_errors(np.array([[1.0], [10.0]]), np.zeros((2, 1)), [1], np.array([1.0, 10.0]))
    assert table["1"]["mase"] == pytest.approx(1.0) and table["1"]["mae"] == pytest.approx(5.5)


def test_quantile_levels_and_intervals() -> None:
    """Levels are checked and sorted; each symmetric pair gives one central interval labelled 1 − 2q."""
    assert check_quantiles([0.9, 0.1, 0.5]) == [0.1, 0.5, 0.9]
    assert [c[0] for c in central_intervals([0.05, 0.1, 0.5, 0.9, 0.95])] == ["0.9", "0.8"]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        check_quantiles([0.0, 0.5])
