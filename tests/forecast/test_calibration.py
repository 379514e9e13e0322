"""Recalibrating a distribution head's spread on the validation part."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from rnnlab.forecast.calibration import spread_factor
from rnnlab.forecast.data import TimeSplit
from rnnlab.forecast.encoding import EncodedSeries
from rnnlab.forecast.predict import direct_parameters
from rnnlab.models.forecasters import ForecasterConfig, build_forecaster, set_spread


def _setup(likelihood: str) -> tuple[torch.nn.Module, np.ndarray, EncodedSeries, np.ndarray]:
    torch.manual_seed(0)
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=6, likelihood=likelihood)).eval()
    z = np.random.default_rng(0).normal(size=80)
    return model, z, EncodedSeries(z, 1, TimeSplit(50, 65, 80)), np.arange(49, 64)


def test_gaussian_factor_standardizes_validation_errors() -> None:
    """Gaussian: s² is the mean of ((z_{t+1} − μ_t)/σ_t)² over the validation targets, computed here from
    each origin's own state; σ is scaled by s (μ unchanged) and the rescaled model's factor is 1."""
    model, z, series, origins = _setup("gaussian")
    theta = direct_parameters(model, z, origins)[:, 0]  # (B, S) for z_{t+1}
    expected = np.sqrt(np.mean(((z[origins + 1] - theta[:, 0]) / theta[:, 1]) ** 2))
    s = spread_factor(model, [series])
    assert s == pytest.approx(expected, rel=1e-5)
    set_spread(model, s)
    assert spread_factor(model, [series]) == pytest.approx(1.0, rel=1e-5)
    widened = direct_parameters(model, z, origins)[:, 0]
    np.testing.assert_allclose(widened[:, 1], s * theta[:, 1], rtol=1e-5)
    np.testing.assert_allclose(widened[:, 0], theta[:, 0], rtol=1e-6)


def test_student_t_factor_maximises_the_validation_likelihood() -> None:
    """Student-t: the validation NLL (scipy's t log-density) at s is below its value at s·1.02 and s/1.02,
    and after rescaling the factor is 1."""
    model, z, series, origins = _setup("student-t")
    theta = direct_parameters(model, z, origins)[:, 0]
    s = spread_factor(model, [series])

    def nll(f: float) -> float:
        return float(-stats.t.logpdf(z[origins + 1], theta[:, 2], theta[:, 0], f * theta[:, 1]).sum())

    assert nll(s) < nll(s * 1.02) and nll(s) < nll(s / 1.02)
    set_spread(model, s)
    assert spread_factor(model, [series]) == pytest.approx(1.0, rel=1e-4)
