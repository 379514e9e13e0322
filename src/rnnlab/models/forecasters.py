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
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.layers import GRU, LSTM, RNN, RecurrentLayer
from rnnlab.models import likelihoods
from rnnlab.models.conv import ConvConfig, ConvFrontEnd

FORECASTERS: tuple[str, ...] = ("mlp", "rnn", "gru", "lstm")
IMPLS: tuple[str, ...] = ("auto", "fused", "reference")

ForecastState = tuple[Tensor, ...]  # every tensor (…, B, …) with the batch on dim 1


@dataclass
class ForecasterConfig:
    """What defines a forecaster; ``to_dict``/``from_dict`` round-trip through JSON."""

    kind: str = "gru"  # "mlp" (window of τ values) or a recurrent cell: "rnn", "gru", "lstm"
    tau: int = 16  # MLP only: the window τ of past steps it reads (d2l's classic choice is 4)
    hidden_size: int = 32  # MLP hidden units / recurrent units per layer; series are small
    num_layers: int = 1  # stacked recurrent layers (MLP: always one hidden layer)
    outputs: int = 1  # steps predicted per step: 1 (one-step) or H (direct multi-output head)
    impl: str = "auto"  # recurrent implementation: "auto", "fused" or "reference"
    past_covariates: int = 0  # P: inputs known up to the origin only (also predicted, for recursion)
    future_covariates: int = 0  # F: inputs known ahead; step t reads them at t+1 … t+H
    likelihood: str = "point"  # head: "point" (squared error), "gaussian" or "student-t" (NLL)
    n_series: int = 0  # series a global model knows by index (needed with embedding_dim > 0)
    embedding_dim: int = 0  # learned series embedding width; 0 = none
    conv: ConvConfig | None = None  # causal CNN front end before the recurrent layers (CNN-LSTM)

    def __post_init__(self) -> None:
        if isinstance(self.conv, dict):
            self.conv = ConvConfig.from_dict(self.conv)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if self.kind not in FORECASTERS:
            raise ConfigError(f"unknown forecaster {self.kind!r}; options are {list(FORECASTERS)}")
        if self.impl not in IMPLS:
            raise ConfigError(f"unknown impl {self.impl!r}; options are {list(IMPLS)}")
        for name in ("tau", "hidden_size", "num_layers", "outputs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name in ("past_covariates", "future_covariates", "n_series", "embedding_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer ≥ 0, got {value!r}")
        likelihoods.check_likelihood(self.likelihood)
        if self.embedding_dim and self.n_series < 1:
            raise ConfigError("a series embedding needs n_series ≥ 1 (the number of series it tells apart)")
        if self.conv is not None:
            if self.kind == "mlp":
                raise ConfigError(
                    "the CNN front end feeds recurrent forecasters (rnn, gru, lstm); "
                    "the AR-MLP already reads a window of τ steps"
                )
            if not self.conv.causal:
                raise ConfigError(
                    "a forecaster's CNN front end must be causal (conv.causal=True): a centred window "
                    "would read values after the forecast origin"
                )

    @property
    def context(self) -> int:
        """Observations a fresh state needs before its prediction sees no padding (τ for the MLP)."""
        if self.kind == "mlp":
            return self.tau
        if self.conv is not None:
            return sum(k - 1 for k in self.conv.kernel_sizes) + 1
        return 1

    @property
    def channels(self) -> int:
        """D: values predicted per step ahead — the target and each past covariate."""
        return 1 + self.past_covariates

    @property
    def input_size(self) -> int:
        """C: input channels per step (see the module docstring's layout)."""
        return self.channels + self.future_covariates * self.outputs + (1 if self.embedding_dim else 0)

    @property
    def parameters_per_value(self) -> int:
        """S: distribution parameters per predicted value."""
        return likelihoods.LIKELIHOODS[self.likelihood]

    @property
    def probabilistic(self) -> bool:
        return self.likelihood != "point"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecasterConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "forecaster option")


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
        layer = {"rnn": RNN, "gru": GRU, "lstm": LSTM}[config.kind]
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
