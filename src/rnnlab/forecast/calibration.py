"""Recalibrating a distribution head's spread on the validation part.

A head trained by negative log-likelihood learns the spread of the noise it saw while fitting
the training part; out of sample its mean is also wrong by the model's own error, so its
intervals come out too narrow (measured on the ``lagged`` benchmark: an 80 % interval covering
~55 % of the one-step test values). The simplest recalibration (one parameter, in the spirit of
Kuleshov et al. 2018) scales every σ by the factor s that maximises the likelihood of the
one-step validation targets::

    s = argmax_s Σ_t log p(z_{t+1} | μ_t, s·σ_t [, ν_t])        t = n_train − 1 … n_fit − 2

For a Gaussian head this is s² = mean_t ((z_{t+1} − μ_t)/σ_t)², the factor that gives the
standardized validation errors unit variance; for Student-t it is found numerically (matching
variances would be wrong there: near ν = 2 the variance says little about the quantiles). The
test part is never used. One factor is applied to every step of a sampled path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from rnnlab.forecast.encoding import EncodedSeries
from rnnlab.models import likelihoods
from rnnlab.models.forecasters import Forecaster

LOG_RANGE = (math.log(0.05), math.log(20.0))  # factors searched: σ shrunk 20-fold … widened 20-fold


@torch.no_grad()
def validation_parameters(model: Forecaster, series: Sequence[EncodedSeries]) -> tuple[Tensor, Tensor]:
    """(θ_t (M, S), z_{t+1} (M,)) of the target over every series' one-step validation targets, float64."""
    model.eval()
    thetas, targets = [], []
    for s in series:
        lo, hi = s.split.n_train, s.split.n_fit
        if hi <= lo:
            continue
        x = torch.as_tensor(s.inputs[: hi - 1, None, :], dtype=torch.float32)
        theta, _ = model(x.to(next(model.parameters()).device))
        thetas.append(theta[lo - 1 : hi - 1, 0, 0, 0].double().cpu())  # θ_t, t = n_train−1 … n_fit−2
        targets.append(torch.as_tensor(s.inputs[lo:hi, 0], dtype=torch.float64))
    if not thetas:
        return torch.zeros(0, model.config.parameters_per_value, dtype=torch.float64), torch.zeros(0)
    return torch.cat(thetas), torch.cat(targets)


def _scaled(theta: Tensor, factor: float) -> Tensor:
    return torch.cat([theta[:, :1], theta[:, 1:2] * factor, theta[:, 2:]], dim=1)


def spread_factor(model: Forecaster, series: Sequence[EncodedSeries]) -> float:
    """s of the module docstring, pooled over every series' validation part (1.0 if there is none)."""
    from scipy.optimize import minimize_scalar  # only when recalibrating

    name = model.config.likelihood
    theta, z = validation_parameters(model, series)
    if len(z) == 0 or name == "point":
        return 1.0
    if name == "gaussian":
        return float(torch.sqrt(torch.mean(((z - theta[:, 0]) / theta[:, 1]) ** 2)))

    def nll(log_s: float) -> float:
        return float(likelihoods.negative_log_likelihood(name, _scaled(theta, math.exp(log_s)), z).sum())

    best = minimize_scalar(nll, bounds=LOG_RANGE, method="bounded", options={"xatol": 1e-6})
    return float(math.exp(best.x))
