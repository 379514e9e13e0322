"""The forecasting objectives: squared error and negative log-likelihood over the counted targets."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from rnnlab.data.sampling import Batch
from rnnlab.forecast.data import TimeSplit
from rnnlab.forecast.encoding import EncodedSeries
from rnnlab.forecast.objective import ForecastObjective, LikelihoodObjective, objective_for
from rnnlab.forecast.windows import panel_windows, training_windows
from rnnlab.models.forecasters import ForecasterConfig, build_forecaster


def _batch() -> Batch:
    z = np.random.default_rng(0).normal(size=40)
    return next(iter(training_windows(z, 40, length=10, warmup=3, outputs=1, batch_size=4, seed=0)))


def test_objective_is_summed_squared_error() -> None:
    """loss = Σ (μ − y)² over the mask, with |mask| as the count the trainer divides by."""
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=4))
    batch = _batch()
    objective = objective_for(model)
    assert type(objective) is ForecastObjective
    loss, n, _ = objective.loss(batch, None)
    pred, _ = model(batch.x)
    assert n == int(batch.mask.sum()) == 4 * 7
    torch.testing.assert_close(loss, ((pred[..., 0] - batch.y) ** 2)[batch.mask].sum())


def test_likelihood_objective_is_the_gaussian_nll() -> None:
    """loss = −Σ log N(y; μ, σ²) over the mask, checked against scipy's normal log-density."""
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=4, likelihood="gaussian"))
    batch = _batch()
    objective = objective_for(model)
    assert isinstance(objective, LikelihoodObjective)
    loss, n, _ = objective.loss(batch, None)
    theta, _ = model(batch.x)
    mask = batch.mask.numpy()
    th = theta.detach().numpy()[mask]
    expected = -stats.norm.logpdf(batch.y.numpy()[mask], th[:, 0], th[:, 1]).sum()
    assert n == mask.sum()
    np.testing.assert_allclose(float(loss.detach()), expected, rtol=1e-5)


def test_covariate_weight_scales_the_covariate_channels_only() -> None:
    """With past covariates, loss = Σ_target (μ − y)² + w Σ_covariates (μ − y)² over the mask."""
    model = build_forecaster(ForecasterConfig(kind="gru", hidden_size=4, past_covariates=2))
    x = np.random.default_rng(0).normal(size=(40, 3))
    batch = next(iter(panel_windows([EncodedSeries(x, 3, TimeSplit(40, 40, 40))], length=10, warmup=3,
                                    outputs=1, batch_size=4, seed=0)))  # fmt: skip
    theta, _ = model(batch.x)
    err = ((theta[..., 0] - batch.y) ** 2).detach()
    target = err[..., :1][batch.mask[..., :1]].sum()
    covariates = err[..., 1:][batch.mask[..., 1:]].sum()
    loss, n, _ = ForecastObjective(model, covariate_weight=0.25).loss(batch, None)
    torch.testing.assert_close(loss.detach(), target + 0.25 * covariates)
    assert n == int(batch.mask.sum())
