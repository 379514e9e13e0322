"""Recurrent cells written from their formulas.

Every cell reads an input x_t and its previous state and returns the new state. The two
affine maps are computed by the caller, because the input one does not depend on the
recurrence and is done for all time steps in one matrix product::

    gx_t = x_t W_ihᵀ + b_ih        (B, G·H)   all t at once
    gh_t = h_{t−1} W_hhᵀ + b_hh    (B, G·H)   inside the time loop

so the functions below hold only the pointwise part — the equations of the literature.
G is the number of stacked gates (1 for RNN, 4 for LSTM, 3 for GRU), stacked in
torch.nn's order, so parameters load into ``torch.nn.RNN/LSTM/GRU`` unchanged. The
minGRU and minLSTM (Feng et al. 2024) have no hidden product at all.

These functions are the definition: the autograd loop of ``rnnlab.recurrence`` runs them
as written, and the fast paths (the hand-written BPTT over ``rnnlab.kernels``, the
parallel scan of the min cells) are tested against them.

The ``nn.Module`` cells at the bottom (``RNNCell``, ``LSTMCell``, ``GRUCell``) own their
parameters with torch.nn's names and shapes and are drop-in replacements for
``torch.nn.RNNCell/LSTMCell/GRUCell``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError, ShapeError

Nonlinearity = Literal["tanh", "relu"]

NONLINEARITIES: tuple[str, ...] = ("tanh", "relu")


def rnn_cell(gx: Tensor, gh: Tensor, nonlinearity: Nonlinearity = "tanh") -> Tensor:
    """Vanilla (Elman) RNN step.

    s_t = f(U x_t + W s_{t−1} + b),   f ∈ {tanh, relu}

    with ``gx = U x_t + b_ih`` and ``gh = W s_{t−1} + b_hh`` (torch keeps b = b_ih + b_hh
    as two vectors). Shapes: gx, gh (B, H) → s_t (B, H).
    """
    a = gx + gh
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def lstm_cell(
    gx: Tensor, gh: Tensor, c: Tensor, cell_norm: Callable[[Tensor], Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """LSTM step (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)        forget gate
    C̃_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)     candidate cell
    o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)        output gate
    C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t
    h_t = o_t ⊙ tanh(C_t)

    gx, gh are (B, 4H) stacked as (i, f, g, o), torch.nn's order; c is C_{t−1} (B, H).
    ``cell_norm`` (layer-normalised LSTM, Ba et al. 2016) replaces tanh(C_t) by
    tanh(LN(C_t)). Returns (h_t, C_t).
    """
    i, f, g, o = (gx + gh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next if cell_norm is None else cell_norm(c_next))
    return h_next, c_next


def gru_cell(gx: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """GRU step (Cho et al. 2014), in torch.nn.GRU's exact form.

    R_t = σ(X_t W_xr + b_xr + H_{t−1} W_hr + b_hr)                 reset gate
    Z_t = σ(X_t W_xz + b_xz + H_{t−1} W_hz + b_hz)                 update gate
    H̃_t = tanh(X_t W_xh + b_xh + R_t ⊙ (H_{t−1} W_hh + b_hh))      candidate state
    H_t = Z_t ⊙ H_{t−1} + (1 − Z_t) ⊙ H̃_t

    Two details are conventions, not mathematics:

    * Like torch.nn.GRU (and cuDNN), the reset gate multiplies the hidden *product*
      ``R ⊙ (H W_hh + b_hh)`` rather than the state before the product ``(R ⊙ H) W_hh``
      as in Cho et al.; the first form lets all three hidden products run as one matrix
      multiply. The two are different functions, so weights do not transfer between them.
    * We keep Z on the *old* state, as torch.nn and Cho et al. do. Texts that write
      H_t = (1 − Z′) ⊙ H_{t−1} + Z′ ⊙ H̃_t (Chung et al. 2014) use Z′ = 1 − Z; since
      1 − σ(a) = σ(−a), their weights map to ours by negating the update gate's rows of
      W_xz, W_hz and its biases.

    gx, gh are (B, 3H) stacked as (r, z, n); h is H_{t−1} (B, H). Returns H_t.
    """
    xr, xz, xn = gx.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return z * h + (1 - z) * n


# ------------------------------------------------------------------- minGRU and minLSTM
# Feng et al. 2024, "Were RNNs All We Needed?": the gates read x_t only, so every gate of
# every step comes from one matrix product over the whole sequence, and the recurrence
# h_t = a_t ⊙ h_{t−1} + b_t is linear in h — a scan (see rnnlab.recurrence.min_scan).
def g(x: Tensor) -> Tensor:
    """g(x) = x + ½ for x ≥ 0, σ(x) below: positive, so candidate states have a logarithm."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """log g(x), computed without the log of a negative number on the branch not taken.

    (A NaN there would survive torch.where's backward as 0 · NaN.)
    """
    return torch.where(x >= 0, torch.log(torch.relu(x) + 0.5), -nn.functional.softplus(-x))


def min_gru_cell(gx: Tensor, h: Tensor) -> Tensor:
    """minGRU step.

    z_t = σ(Linear_z(x_t)),   h̃_t = g(Linear_h(x_t))
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t

    gx (B, 2H) stacks (k, h̃ pre-activation) = x_t W_ihᵀ + b_ih; h is h_{t−1} (B, H).
    """
    k, pre = gx.chunk(2, dim=1)
    z = torch.sigmoid(k)
    return (1 - z) * h + z * g(pre)


def min_lstm_cell(gx: Tensor, h: Tensor) -> Tensor:
    """minLSTM step.

    f_t = σ(Linear_f(x_t)),   i_t = σ(Linear_i(x_t)),   h̃_t = g(Linear_h(x_t))
    f′_t = f_t / (f_t + i_t),   i′_t = i_t / (f_t + i_t)      (time-independent scale)
    h_t = f′_t ⊙ h_{t−1} + i′_t ⊙ h̃_t

    gx (B, 3H) stacks (f, i, h̃) pre-activations; h is h_{t−1} (B, H).
    """
    kf, ki, pre = gx.chunk(3, dim=1)
    f, i = torch.sigmoid(kf), torch.sigmoid(ki)
    return f / (f + i) * h + i / (f + i) * g(pre)


def min_gru_log_coefficients(gx: Tensor) -> tuple[Tensor, Tensor]:
    """(log a_t, log b_t) of the minGRU as h_t = a_t ⊙ h_{t−1} + b_t, for all steps at once.

    log(1 − z) = −softplus(k),   log z = −softplus(−k),   log b = log z + log g(h̃).
    gx (T, B, 2H) → two (T, B, H).
    """
    k, pre = gx.chunk(2, dim=-1)
    return -nn.functional.softplus(k), -nn.functional.softplus(-k) + log_g(pre)


def min_lstm_log_coefficients(gx: Tensor) -> tuple[Tensor, Tensor]:
    """(log a_t, log b_t) of the minLSTM, a = f′ and b = i′ ⊙ h̃.

    With d = softplus(−k_f) − softplus(−k_i) = log i − log f:
    log f′ = −softplus(d),   log i′ = −softplus(−d).   gx (T, B, 3H) → two (T, B, H).
    """
    kf, ki, pre = gx.chunk(3, dim=-1)
    d = nn.functional.softplus(-kf) - nn.functional.softplus(-ki)
    return -nn.functional.softplus(d), -nn.functional.softplus(-d) + log_g(pre)


def _check_nonlinearity(nonlinearity: str) -> Nonlinearity:
    if nonlinearity not in NONLINEARITIES:
        raise ConfigError(f"unknown nonlinearity {nonlinearity!r}; options are {list(NONLINEARITIES)}")
    return nonlinearity  # type: ignore[return-value]


class _CellBase(nn.Module):
    """Parameters ``weight_ih (G·H, I)``, ``weight_hh (G·H, H)``, ``bias_ih``, ``bias_hh`` as in torch.nn."""

    gates: int = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if input_size <= 0 or hidden_size <= 0:
            raise ConfigError(
                f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size, **kw))  # type: ignore[arg-type]
        self.weight_hh = nn.Parameter(torch.empty(self.gates * hidden_size, hidden_size, **kw))  # type: ignore[arg-type]
        if bias:
            self.bias_ih: nn.Parameter | None = nn.Parameter(torch.empty(self.gates * hidden_size, **kw))  # type: ignore[arg-type]
            self.bias_hh: nn.Parameter | None = nn.Parameter(torch.empty(self.gates * hidden_size, **kw))  # type: ignore[arg-type]
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) for every parameter, torch.nn's initialisation."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _affine(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        gx = nn.functional.linear(x, self.weight_ih, self.bias_ih)
        gh = nn.functional.linear(h, self.weight_hh, self.bias_hh)
        return gx, gh

    def _batched(self, x: Tensor) -> tuple[Tensor, bool]:
        """Accept (B, I) or unbatched (I,) input, as torch.nn cells do."""
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{type(self).__name__} expects input of shape (batch, {self.input_size}) or "
                f"({self.input_size},), got {tuple(x.shape)}"
            )
        return (x.unsqueeze(0), True) if x.dim() == 1 else (x, False)

    def _state(self, h: Tensor | None, x: Tensor, unbatched: bool, what: str = "hx") -> Tensor:
        expected = (x.shape[0], self.hidden_size)
        if h is None:
            return x.new_zeros(expected)
        h = h.unsqueeze(0) if unbatched else h
        if tuple(h.shape) != expected:
            shown = expected[1:] if unbatched else expected
            raise ShapeError(f"{what} must have shape {shown}, got {tuple(h.shape)}")
        return h


class RNNCell(_CellBase):
    """One step of an Elman RNN: ``h' = f(W_ih x + b_ih + W_hh h + b_hh)``; see :func:`rnn_cell`."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.nonlinearity: Nonlinearity = _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._batched(input)
        h = self._state(hx, x, unbatched)
        out = rnn_cell(*self._affine(x, h), nonlinearity=self.nonlinearity)
        return out.squeeze(0) if unbatched else out


class LSTMCell(_CellBase):
    """One LSTM step returning ``(h', c')``; see :func:`lstm_cell`."""

    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, unbatched = self._batched(input)
        h = self._state(None if hx is None else hx[0], x, unbatched, "h")
        c = self._state(None if hx is None else hx[1], x, unbatched, "c")
        h, c = lstm_cell(*self._affine(x, h), c)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """One GRU step returning ``h'``; see :func:`gru_cell`."""

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, unbatched = self._batched(input)
        h = self._state(hx, x, unbatched)
        out = gru_cell(*self._affine(x, h), h)
        return out.squeeze(0) if unbatched else out
