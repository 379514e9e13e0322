"""Recurrent cells written from their formulas, with their hand-derived derivatives.

Every cell reads an input x_t and its previous state and returns the new state. The two
affine maps are computed by the caller, because the input one does not depend on the
recurrence and is done for all time steps in one matrix product::

    gx_t = x_t W_ihᵀ + b_ih        (B, G·H)   all t at once
    gh_t = h_{t−1} W_hhᵀ + b_hh    (B, G·H)   inside the time loop

so the functions below hold only the pointwise part — the equations of the literature.
G is the number of stacked gates (1 for RNN, 4 for LSTM, 3 for GRU), stacked in
torch.nn's order, so parameters load into ``torch.nn.RNN/LSTM/GRU`` unchanged.

Each ``*_backward`` function is the derivative of its cell, written out by hand; the
reference layers use them for back-propagation through time (see ``recurrence.py``), and
the tests check them against autograd and finite differences.

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


def rnn_cell_backward(s: Tensor, ds: Tensor, nonlinearity: Nonlinearity = "tanh") -> Tensor:
    """Gradient of the RNN step with respect to its pre-activation a = gx + gh.

    ∂L/∂a = ∂L/∂s_t ⊙ f′(a),  with f′ read off the output: tanh′ = 1 − s_t², relu′ = [s_t > 0].
    The same tensor is the gradient of gx and of gh.
    """
    if nonlinearity == "tanh":
        return ds * (1 - s * s)
    return ds * (s > 0).to(ds.dtype)


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


def lstm_cell_backward(
    gx: Tensor, gh: Tensor, c_prev: Tensor, c: Tensor, dh: Tensor, dc: Tensor
) -> tuple[Tensor, Tensor]:
    """Gradient of the LSTM step, given ∂L/∂h_t and ∂L/∂C_t from later steps.

    δC = ∂L/∂C_t + ∂L/∂h_t ⊙ o_t ⊙ (1 − tanh²C_t)     (the cell's two paths to the loss)
    ∂L/∂o = ∂L/∂h_t ⊙ tanh C_t,   ∂L/∂i = δC ⊙ C̃_t,   ∂L/∂C̃ = δC ⊙ i_t,   ∂L/∂f = δC ⊙ C_{t−1}
    ∂L/∂C_{t−1} = δC ⊙ f_t                             (the additive path that keeps gradients alive)

    Each gate's pre-activation gradient multiplies by σ′ = σ(1 − σ) or tanh′ = 1 − tanh².
    Returns (∂L/∂a (B, 4H) — the gradient of gx and of gh — and ∂L/∂C_{t−1}).
    """
    i, f, g, o = (gx + gh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    tanh_c = torch.tanh(c)
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)
    da = torch.cat(
        (
            dc_total * g * i * (1 - i),
            dc_total * c_prev * f * (1 - f),
            dc_total * i * (1 - g * g),
            dh * tanh_c * o * (1 - o),
        ),
        dim=1,
    )
    return da, dc_total * f


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


def gru_cell_backward(gx: Tensor, gh: Tensor, h_prev: Tensor, dh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient of the GRU step, given ∂L/∂H_t.

    ∂L/∂H̃ = ∂L/∂H_t ⊙ (1 − Z),   ∂L/∂Z = ∂L/∂H_t ⊙ (H_{t−1} − H̃),   direct ∂L/∂H_{t−1} = ∂L/∂H_t ⊙ Z
    δn = ∂L/∂H̃ ⊙ (1 − H̃²),   ∂L/∂R = δn ⊙ (H_{t−1} W_hh + b_hh)
    The hidden product of the candidate receives δn ⊙ R (the reset gate scales it).

    Returns (∂L/∂gx (B, 3H), ∂L/∂gh (B, 3H), the direct part of ∂L/∂H_{t−1} (B, H));
    the caller adds ∂L/∂gh · W_hh for the path through the matrix product.
    """
    xr, xz, xn = gx.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    dn = dh * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = dh * (h_prev - n) * z * (1 - z)
    return torch.cat((dr, dz, dn), dim=1), torch.cat((dr, dz, dn * r), dim=1), dh * z


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
