"""Output heads of the forecasters: a point value, or the parameters of a predictive distribution.

A head maps the network's raw outputs a ∈ ℝ^S to the parameters θ of p(y | θ) (DeepAR, Salinas
et al. 2020), keeping each parameter in its domain:

* ``point``      θ = (μ),        μ = a₁                          trained by squared error
* ``gaussian``   θ = (μ, σ),     σ = softplus(a₂) + σ_min        trained by −log N(y; μ, σ²)
* ``student-t``  θ = (μ, σ, ν),  ν = 2.1 + softplus(a₃)          trained by −log t_ν(y; μ, σ)

with −log N(y; μ, σ²) = ½ log 2π + log σ + ½ ((y − μ)/σ)² and
−log t_ν(y; μ, σ) = −log Γ((ν+1)/2) + log Γ(ν/2) + ½ log νπ + log σ + (ν+1)/2 · log(1 + ((y − μ)/σ)²/ν).
ν > 2 keeps the variance finite (σ²ν/(ν − 2)), so the heavy tails stay usable for recursion.

θ[..., 0] is always μ, the point forecast of a point head and the centre (mean and median) of
both distributions, so code that wants one number per step reads it alike for every head.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Normal, StudentT

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.configs import LIKELIHOODS, check_likelihood

__all__ = [  # LIKELIHOODS and check_likelihood live in the torch-free rnnlab.models.configs
    "DF_MIN",
    "LIKELIHOODS",
    "SIGMA_MIN",
    "check_likelihood",
    "constrain",
    "distribution",
    "negative_log_likelihood",
    "quantiles",
    "sample",
]

SIGMA_MIN = 1e-3  # in normalised units: keeps the NLL finite when a value is predicted exactly
DF_MIN = 2.1  # ν ≥ 2.1: a finite variance even where softplus underflows to 0


def constrain(name: str, raw: Tensor) -> Tensor:
    """Raw head outputs (…, S) → θ (…, S) in each parameter's domain (see the module docstring)."""
    if raw.shape[-1] != LIKELIHOODS[name]:
        raise ShapeError(f"a {name} head has {LIKELIHOODS[name]} parameters, got {raw.shape[-1]}")
    if name == "point":
        return raw
    parts = [raw[..., :1], nn.functional.softplus(raw[..., 1:2]) + SIGMA_MIN]
    if name == "student-t":
        parts.append(nn.functional.softplus(raw[..., 2:3]) + DF_MIN)
    return torch.cat(parts, dim=-1)


def distribution(name: str, theta: Tensor) -> Distribution:
    """The predictive distribution p(y | θ) of a gaussian or student-t head, one per leading index."""
    if name == "gaussian":
        return Normal(theta[..., 0], theta[..., 1])
    if name == "student-t":
        return StudentT(theta[..., 2], theta[..., 0], theta[..., 1])
    raise ConfigError(f"a {name!r} head has no distribution; use likelihood 'gaussian' or 'student-t'")


def negative_log_likelihood(name: str, theta: Tensor, y: Tensor) -> Tensor:
    """−log p(y | θ) elementwise (…,); for ``point`` the squared error (y − μ)² instead."""
    if name == "point":
        return (theta[..., 0] - y) ** 2
    return -distribution(name, theta).log_prob(y)


def sample(name: str, theta: Tensor) -> Tensor:
    """One draw y ~ p(y | θ) per leading index (…,) from the global RNG; a point head returns μ.

    Callers that need reproducible draws seed inside ``torch.random.fork_rng`` (as
    :func:`rnnlab.forecast.predict.sample_paths` does), so the global stream is left as it was.
    """
    if name == "point":
        return theta[..., 0]
    return distribution(name, theta).sample()


def quantiles(name: str, theta: np.ndarray, levels: list[float]) -> np.ndarray:
    """Analytic quantiles F⁻¹(q | θ) for θ (…, S): (…, Q), one per level q (a point head repeats μ).

    Gaussian: μ + σ Φ⁻¹(q); Student-t: μ + σ t_ν⁻¹(q) (scipy's ``stdtrit``).
    """
    from scipy import special  # imported here: only the direct probabilistic forecasts need it

    theta = np.asarray(theta, dtype=np.float64)
    q = np.asarray(levels, dtype=np.float64)
    mu = theta[..., :1]
    if name == "point":
        return np.repeat(mu, len(q), axis=-1)
    if name == "gaussian":
        return mu + theta[..., 1:2] * special.ndtri(q)
    return mu + theta[..., 1:2] * special.stdtrit(theta[..., 2:3], q)
