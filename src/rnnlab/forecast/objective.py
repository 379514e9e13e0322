"""The forecasting objectives for the shared trainer: squared error, or negative log-likelihood.

Both score the counted targets M (``batch.mask``, shape (T, B, H, D)) of the model's parameters
θ (T, B, H, D, S); the trainer divides the sum by |M|.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.data.sampling import Batch
from rnnlab.models import likelihoods
from rnnlab.models.forecasters import Forecaster, ForecastState, detach_forecast_state


class ForecastObjective:
    """ℒ_sum = Σ_{(t,b,h,d) ∈ M} w_d (μ_{t,b,h,d} − y_{t,b,h,d})², μ = θ[..., 0], w_0 = 1 (the target),
    w_d = ``covariate_weight`` for the past covariates the model also predicts (d ≥ 1).

    Squared error weighs every channel alike, so a hard-to-predict covariate can dominate the
    loss; a weight below 1 keeps the target first (the NLL objective needs none: it divides
    each channel's error by that channel's own σ). For a point head the trainer's "loss" is the
    MSE in normalised units (and the "ppl" its progress bar shows is exp(MSE), which means
    nothing here beyond going down).
    """

    def __init__(self, model: Forecaster, covariate_weight: float = 1.0) -> None:
        self._model = model
        self.covariate_weight = covariate_weight

    @property
    def model(self) -> nn.Module:
        return self._model

    def _theta(self, batch: Batch, state: Any) -> tuple[Tensor, Any]:
        theta, new_state = self._model(batch.x, state)  # (T, B, H, D, S)
        return theta.float(), new_state

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]:
        theta, new_state = self._theta(batch, state)
        err = (theta[..., 0] - batch.y) ** 2
        if self.covariate_weight != 1.0 and err.shape[-1] > 1:
            err = torch.cat([err[..., :1], self.covariate_weight * err[..., 1:]], dim=-1)
        return err[batch.mask].sum(), batch.n_tokens, new_state

    def init_state(self, batch_size: int) -> ForecastState:
        return self._model.init_state(batch_size)

    def detach_state(self, state: ForecastState) -> ForecastState:
        return detach_forecast_state(state)


class LikelihoodObjective(ForecastObjective):
    """ℒ_sum = −Σ_{(t,b,h,d) ∈ M} log p(y_{t,b,h,d} | θ_{t,b,h,d}) for a gaussian or student-t head.

    Trained so, the model is DeepAR's (Salinas et al. 2020): its one-step distribution, fed
    samples of itself, gives the joint distribution of a whole forecast path. The trainer's
    "loss" is then the mean NLL per counted value (and its "ppl" exp(NLL)).
    """

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]:
        theta, new_state = self._theta(batch, state)
        nll = likelihoods.negative_log_likelihood(self._model.config.likelihood, theta, batch.y)
        return nll[batch.mask].sum(), batch.n_tokens, new_state


def objective_for(model: Forecaster, covariate_weight: float = 1.0) -> ForecastObjective:
    """Squared error for a point head (covariates weighted), negative log-likelihood for a distribution."""
    return (
        LikelihoodObjective(model)
        if model.config.probabilistic
        else ForecastObjective(model, covariate_weight)
    )
