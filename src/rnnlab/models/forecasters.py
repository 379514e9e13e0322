"""Forecasters: an autoregressive MLP over a window of τ values and latent autoregressive RNNs.

Both read a time-major float series and predict, at every step, the next value (and, with a
direct multi-output head, the next H values)::

    x (T, B)  ──►  model  ──►  ŷ (T, B, H)     ŷ[t, b, h] ≈ x_{t+1+h}, using x_{≤t} only

and both carry a *state* between calls, so prediction code treats them alike:

* ``ARMLP`` (the classic baseline): ŷ_t = MLP(x_{t−τ+1}, …, x_t). Its state is the buffer of the
  last τ − 1 inputs, so the first τ − 1 predictions of a fresh state see zero padding (warm-up).
* ``LatentAR`` (RNN/GRU/LSTM from :mod:`rnnlab.layers`): h_t = f(h_{t−1}, x_t), ŷ_t = W h_t + b.
  The hidden state h_t summarises the whole past, updated with each observation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.errors import ShapeError
from rnnlab.layers import GRU, LSTM, RNN, RecurrentLayer, State
from rnnlab.models.configs import FORECASTERS, IMPLS, ForecasterConfig

__all__ = ["ARMLP", "FORECASTERS", "IMPLS", "Forecaster", "ForecasterConfig", "LatentAR", "build_forecaster"]


def _check_series(x: Tensor) -> None:
    if x.dim() != 2:
        raise ShapeError(f"a forecaster reads a time-major series of shape (T, B), got {tuple(x.shape)}")


class ARMLP(nn.Module):
    """ŷ_t = W₂ ReLU(W₁ [x_{t−τ+1}, …, x_t] + b₁) + b₂; the state is the last τ − 1 inputs."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.mlp = nn.Sequential(
            nn.Linear(config.tau, config.hidden_size),
            nn.ReLU(),
            nn.Linear(config.hidden_size, config.outputs),
        )

    def init_state(self, batch_size: int) -> Tensor:
        """τ − 1 zeros per column: the window before any observation (masked out by warm-up)."""
        ref = next(self.parameters())
        return torch.zeros(self.config.tau - 1, batch_size, device=ref.device, dtype=ref.dtype)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (T, B) → ŷ (T, B, H) and the new buffer (τ − 1, B)."""
        _check_series(x)
        if state is None:
            state = self.init_state(x.shape[1])
        buffer = torch.cat([state, x], dim=0)  # (τ − 1 + T, B)
        windows = buffer.unfold(0, self.config.tau, 1)  # (T, B, τ): row t holds x_{t−τ+1 … t}
        keep = buffer[buffer.shape[0] - (self.config.tau - 1) :]
        return self.mlp(windows), keep


class LatentAR(nn.Module):
    """h_t = cell(h_{t−1}, x_t) with our RNN/GRU/LSTM layers, ŷ_t = W h_t + b (H outputs)."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        layer = {"rnn": RNN, "gru": GRU, "lstm": LSTM}[config.kind]
        self.rnn: RecurrentLayer = layer(1, config.hidden_size, config.num_layers, impl=config.impl)
        self.head = nn.Linear(config.hidden_size, config.outputs)

    def init_state(self, batch_size: int) -> State:
        """h_0 = 0 (and c_0 = 0): the summary of an empty past."""
        return self.rnn.zero_state(batch_size)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (T, B) → ŷ (T, B, H) and the state after x_{T−1}."""
        _check_series(x)
        out, new_state = self.rnn(x.unsqueeze(-1), state)  # (T, B, H_rnn)
        assert isinstance(out, Tensor)  # a padded tensor in, a tensor out
        return self.head(out), new_state


Forecaster = ARMLP | LatentAR


def build_forecaster(config: ForecasterConfig | dict[str, Any]) -> Forecaster:
    """The model a config describes."""
    if not isinstance(config, ForecasterConfig):
        config = ForecasterConfig.from_dict(config)
    return ARMLP(config) if config.kind == "mlp" else LatentAR(config)
