"""Forecasters: an autoregressive MLP over a window of τ steps and latent autoregressive RNNs.

Both read a time-major series of input vectors and, at every step, give the parameters of the
next value(s) of the target and of its past covariates::

    x (T, B, C)  ──►  model  ──►  θ (T, B, H, D, S)     θ[t, b, h, d] describes v_{t+1+h, d} | x_{≤t}

The input channels of step t (C = 1 + P + F·H + [1]) and the predicted channels (D = 1 + P)::

    x_t = [ z_t | p_t,1 … p_t,P | f_{t+1} … f_{t+H} (F each) | s ]      v_t = [ z_t | p_t,1 … p_t,P ]
            target  past covariates     future covariates      series index (with an embedding)

* past covariates p are known only up to the origin: the model predicts them too (D = 1 + P), so a
  recursive forecast can feed its own predictions of them back in, as a VAR does;
* future covariates f are known ahead (calendar features, planned inputs): step t reads their
  values at the H steps it predicts, so no prediction of them is ever needed;
* s is the series' index in a global model over many series; an ``nn.Embedding`` turns it into
  ``embedding_dim`` learned features (it rides in the last channel as a float, exact below 2²⁴);
* S parameters per value: 1 for a point head, 2 (μ, σ) Gaussian, 3 (μ, σ, ν) Student-t — see
  :mod:`rnnlab.models.likelihoods`. θ[..., 0] is always the point forecast μ.

A (T, B) series is read as one channel, so a univariate forecaster takes plain series.

Both carry a *state* between calls, so prediction code treats them alike. A state is a tuple of
tensors that all keep the batch on dim 1 (so states of several columns concatenate, index and
repeat alike):

* ``ARMLP`` (the classic baseline): ŷ_t = MLP(x_{t−τ+1}, …, x_t). Its state is the buffer of the
  last τ − 1 input vectors, so the first τ − 1 predictions of a fresh state see zero padding.
* ``LatentAR`` (RNN/GRU/LSTM from :mod:`rnnlab.layers`): h_t = f(h_{t−1}, x_t), θ_t = head(W h_t + b).
  With a causal CNN front end (:class:`~rnnlab.models.conv.ConvFrontEnd`, the CNN-LSTM), the cell
  reads local features of the last k steps instead of x_t; the front end's state (its last k − 1
  inputs per layer) joins the recurrent state, so a series fed step by step gives exactly the
  outputs of feeding it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.errors import ShapeError
from rnnlab.layers import GRU, LSTM, RNN, MinGRU, MinLSTM, RecurrentLayer
from rnnlab.models import likelihoods
from rnnlab.models.configs import FORECASTERS, IMPLS, ForecasterConfig
from rnnlab.models.conv import ConvFrontEnd

__all__ = [  # the configs live in rnnlab.models.configs (torch-free); re-exported here
    "ARMLP",
    "FORECASTERS",
    "IMPLS",
    "ForecastState",
    "Forecaster",
    "ForecasterConfig",
    "LatentAR",
    "build_forecaster",
    "detach_forecast_state",
    "set_spread",
]

ForecastState = tuple[Tensor, ...]  # every tensor (…, B, …) with the batch on dim 1


def _check_input(x: Tensor, config: ForecasterConfig) -> Tensor:
    """(T, B) or (T, B, C) → (T, B, C), or a ShapeError stating the expected width."""
    if x.dim() == 2 and config.input_size == 1:
        return x.unsqueeze(-1)
    if x.dim() != 3 or x.shape[-1] != config.input_size:
        layout = "(T, B) or (T, B, 1)" if config.input_size == 1 else f"(T, B, {config.input_size})"
        raise ShapeError(
            f"this forecaster reads {layout} inputs (target, {config.past_covariates} past and "
            f"{config.future_covariates}×{config.outputs} future covariate channels"
            f"{', series index' if config.embedding_dim else ''}), got {tuple(x.shape)}"
        )
    return x


class _Features(nn.Module):
    """x (T, B, C) → (T, B, C') with the series-index channel replaced by its learned embedding."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.n_series, config.embedding_dim) if config.embedding_dim else None

    @property
    def size(self) -> int:
        return self.config.input_size - (1 if self.embedding is not None else 0) + self.config.embedding_dim

    def forward(self, x: Tensor) -> Tensor:
        if self.embedding is None:
            return x
        index = x[..., -1].round().long()
        if int(index.min()) < 0 or int(index.max()) >= self.config.n_series:
            raise ShapeError(
                f"series index {int(index.max())} outside the {self.config.n_series} series this model knows"
            )
        return torch.cat([x[..., :-1], self.embedding(index).to(x.dtype)], dim=-1)


class _Head(nn.Module):
    """h (T, B, I) → θ (T, B, H, D, S): one linear map, then each parameter into its domain.

    ``spread`` (a buffer, 1 unless recalibrated after training) multiplies every scale σ: a
    distribution head trained by NLL learns the noise it saw on the training part, and a
    factor chosen on validation data widens it to cover the model's own error too.
    """

    def __init__(self, in_size: int, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.shape = (config.outputs, config.channels, config.parameters_per_value)
        self.linear = nn.Linear(in_size, config.outputs * config.channels * config.parameters_per_value)
        self.spread: Tensor
        self.register_buffer("spread", torch.ones(()))

    def forward(self, h: Tensor) -> Tensor:
        theta = likelihoods.constrain(self.config.likelihood, self.linear(h).unflatten(-1, self.shape))
        if not self.config.probabilistic:
            return theta
        return torch.cat([theta[..., :1], theta[..., 1:2] * self.spread, theta[..., 2:]], dim=-1)


class ARMLP(nn.Module):
    """θ_t = head(ReLU(W₁ [x_{t−τ+1}, …, x_t] + b₁)); the state is the last τ − 1 input vectors."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.features = _Features(config)
        self.hidden = nn.Sequential(nn.Linear(config.tau * self.features.size, config.hidden_size), nn.ReLU())
        self.head = _Head(config.hidden_size, config)

    def init_state(self, batch_size: int) -> ForecastState:
        """τ − 1 zero vectors per column: the window before any observation (masked out by warm-up)."""
        ref = next(self.parameters())
        return (torch.zeros(self.config.tau - 1, batch_size, self.features.size, device=ref.device,
                            dtype=ref.dtype),)  # fmt: skip

    def forward(self, x: Tensor, state: ForecastState | None = None) -> tuple[Tensor, ForecastState]:
        """x (T, B[, C]) → θ (T, B, H, D, S) and the new buffer (τ − 1, B, C')."""
        h = self.features(_check_input(x, self.config))
        if state is None:
            state = self.init_state(h.shape[1])
        buffer = torch.cat([state[0].to(h.dtype), h], dim=0)  # (τ − 1 + T, B, C')
        windows = buffer.unfold(0, self.config.tau, 1)  # (T, B, C', τ): row t holds x_{t−τ+1 … t}
        keep = buffer[buffer.shape[0] - (self.config.tau - 1) :]
        return self.head(self.hidden(windows.flatten(2))), (keep,)


class LatentAR(nn.Module):
    """h_t = cell(h_{t−1}, x_t) (x_t through a causal CNN front end if configured), θ_t = head(h_t)."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.features = _Features(config)
        self.conv = ConvFrontEnd(self.features.size, config.conv) if config.conv is not None else None
        width = self.conv.output_size if self.conv is not None else self.features.size
        layer = {"rnn": RNN, "gru": GRU, "lstm": LSTM, "mingru": MinGRU, "minlstm": MinLSTM}[config.kind]
        self.rnn: RecurrentLayer = layer(width, config.hidden_size, config.num_layers, impl=config.impl)
        self.head = _Head(config.hidden_size, config)

    def init_state(self, batch_size: int) -> ForecastState:
        """h_0 = 0 (and c_0 = 0), and zero left padding for the front end: an empty past."""
        rnn = self.rnn.zero_state(batch_size)
        return (*self._conv_zero(batch_size), *(rnn if isinstance(rnn, tuple) else (rnn,)))

    def _conv_zero(self, batch_size: int) -> list[Tensor]:
        if self.conv is None:
            return []
        return [s.permute(2, 0, 1) for s in self.conv.zero_state(batch_size)]  # (k − 1, B, C)

    def forward(self, x: Tensor, state: ForecastState | None = None) -> tuple[Tensor, ForecastState]:
        """x (T, B[, C]) → θ (T, B, H, D, S) and the state after x_{T−1}."""
        h = self.features(_check_input(x, self.config))
        if state is None:
            state = self.init_state(h.shape[1])
        n_conv = 0 if self.conv is None else len(self.conv.convs)
        conv_state, rnn_state = state[:n_conv], state[n_conv:]
        new_conv: list[Tensor] = []
        if self.conv is not None:
            # The front end keeps (B, C, k − 1); a forecaster's state keeps the batch on dim 1.
            past = [s.permute(1, 2, 0) for s in conv_state]
            h, _, after = self.conv(h, None, past)
            assert after is not None  # a causal front end always returns its state
            new_conv = [s.permute(2, 0, 1) for s in after]
        hx = (rnn_state[0], rnn_state[1]) if len(rnn_state) == 2 else rnn_state[0]
        out, new_state = self.rnn(h, hx)  # (T, B, H_rnn)
        assert isinstance(out, Tensor)  # a padded tensor in, a tensor out
        rnn_parts = new_state if isinstance(new_state, tuple) else (new_state,)
        return self.head(out), (*new_conv, *rnn_parts)


Forecaster = ARMLP | LatentAR


def set_spread(model: Forecaster, factor: float) -> None:
    """Scale every predictive σ of ``model`` by ``factor`` from now on (1 restores the trained head)."""
    head = model.head
    assert isinstance(head, _Head)
    head.spread.fill_(float(factor))


def build_forecaster(config: ForecasterConfig | dict[str, Any]) -> Forecaster:
    """The model a config describes."""
    if not isinstance(config, ForecasterConfig):
        config = ForecasterConfig.from_dict(config)
    return ARMLP(config) if config.kind == "mlp" else LatentAR(config)


# ---------------------------------------------------------------------------------------------
# States: every tensor keeps the batch on dim 1, so these work for every forecaster.


def detach_forecast_state(state: ForecastState) -> ForecastState:
    """The same state cut from the graph (truncated BPTT between batches)."""
    return tuple(t.detach() for t in state)


def cat_states(states: Sequence[ForecastState]) -> ForecastState:
    """Columns of several states side by side (batch dim 1)."""
    return tuple(torch.cat(parts, dim=1) for parts in zip(*states, strict=True))


def repeat_state(state: ForecastState, times: int) -> ForecastState:
    """Each column repeated ``times`` times in place (b₀ b₀ … b₁ b₁ …): one copy per sample path."""
    return tuple(t.repeat_interleave(times, dim=1) for t in state)
