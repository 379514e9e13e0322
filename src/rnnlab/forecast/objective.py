"""The forecasting objective: squared error of the counted predictions, through the shared trainer."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from rnnlab.data.sampling import Batch
from rnnlab.layers import detach_state
from rnnlab.models.forecasters import Forecaster


class ForecastObjective:
    """ℒ_sum = Σ_{(t,b,h) ∈ M} (ŷ_{t,b,h} − y_{t,b,h})² over the counted targets M (``batch.mask``).

    The trainer divides by |M|, so its "loss" is the MSE in normalised units (and the "ppl"
    its progress bar shows is exp(MSE), which means nothing here beyond going down).
    """

    def __init__(self, model: Forecaster) -> None:
        self._model = model

    @property
    def model(self) -> nn.Module:
        return self._model

    def loss(self, batch: Batch, state: Any) -> tuple[Tensor, int, Any]:
        pred, new_state = self._model(batch.x, state)  # (T, B, H)
        err = (pred.float() - batch.y) ** 2
        return err[batch.mask].sum(), batch.n_tokens, new_state

    def init_state(self, batch_size: int) -> Any:
        return self._model.init_state(batch_size)

    def detach_state(self, state: Any) -> Any:
        return detach_state(state)
