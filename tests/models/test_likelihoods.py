"""Likelihood heads: parameter domains, NLL against scipy, sampled quantiles against analytic ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models import likelihoods


def test_constrain_keeps_parameters_in_their_domains() -> None:
    """σ > 0 and ν ≥ 2.1 for any raw outputs, μ passes through; a wrong width is a ShapeError."""
    raw = torch.linspace(-50, 50, 30).reshape(10, 3)
    theta = likelihoods.constrain("student-t", raw)
    torch.testing.assert_close(theta[:, 0], raw[:, 0])
    assert (theta[:, 1] > 0).all() and (theta[:, 2] >= likelihoods.DF_MIN).all()
    with pytest.raises(ShapeError):
        likelihoods.constrain("gaussian", raw)
    with pytest.raises(ConfigError, match="options are"):
        likelihoods.check_likelihood("laplace")


@pytest.mark.parametrize("name", ["gaussian", "student-t"])
def test_nll_matches_scipy(name: str) -> None:
    """−log p(y | θ) equals scipy's log-density (normal, and t with df ν, loc μ, scale σ)."""
    rng = np.random.default_rng(0)
    theta = np.stack([rng.normal(size=20), rng.uniform(0.2, 3, 20), rng.uniform(2.5, 30, 20)], axis=1)
    theta = theta[:, : likelihoods.LIKELIHOODS[name]]
    y = rng.normal(size=20) * 2
    got = likelihoods.negative_log_likelihood(name, torch.tensor(theta), torch.tensor(y)).numpy()
    if name == "gaussian":
        expected = -stats.norm.logpdf(y, theta[:, 0], theta[:, 1])
    else:
        expected = -stats.t.logpdf(y, theta[:, 2], theta[:, 0], theta[:, 1])
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("name", ["gaussian", "student-t"])
def test_sampled_quantiles_match_analytic_ones(name: str) -> None:
    """Empirical quantiles of 200 000 draws agree with F⁻¹(q | θ) from scipy (normal ppf, t ppf) to
    within a few standard errors of a sample quantile, √(q(1−q)/n)/f(F⁻¹(q))."""
    theta = torch.tensor([1.5, 0.7, 4.0], dtype=torch.float64)[: likelihoods.LIKELIHOODS[name]]
    torch.manual_seed(0)
    n = 200_000
    draws = likelihoods.sample(name, theta.expand(n, -1)).numpy()
    levels = [0.05, 0.1, 0.5, 0.9, 0.95]
    dist = stats.norm(1.5, 0.7) if name == "gaussian" else stats.t(4.0, 1.5, 0.7)
    analytic = dist.ppf(levels)
    np.testing.assert_allclose(likelihoods.quantiles(name, theta.numpy(), levels), analytic, rtol=1e-10)
    se = np.sqrt(np.array(levels) * (1 - np.array(levels)) / n) / dist.pdf(analytic)
    assert np.all(np.abs(np.quantile(draws, levels) - analytic) < 4 * se)
