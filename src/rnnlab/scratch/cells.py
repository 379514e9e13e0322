"""One recurrent step forward and its hand-written backward, for the RNN, LSTM and GRU cells.

Notation and layout follow ``torch.nn``: a layer has ``W_ih`` of shape (G·H, I), ``W_hh`` of shape
(G·H, H) and two biases ``b_ih``, ``b_hh`` of shape (G·H,), with G = 1 (RNN), 4 (LSTM, gates
i, f, g, o) or 3 (GRU, gates r, z, n). ``x`` is (B, I), ``h`` and ``c`` are (B, H).

Every backward takes the gradient arriving at the step's outputs and returns the gradients of
its inputs and parameters. The incoming gradients may carry extra *leading* axes ``(…, B, H)``:
the BPTT engine uses one to keep apart the contributions of loss terms of different ages
(truncated BPTT). Those axes pass through to ``dx`` and the state gradients and are summed in the
parameter gradients, which is correct because a step's backward is linear in what arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Activation:
    """A pointwise nonlinearity f and its derivative written in terms of the output y = f(a)."""

    name: str
    forward: Callable[[Array], Array]
    # f′(a) expressed through y = f(a): the backward then needs only the cached output.
    derivative_from_output: Callable[[Array], Array]


def sigmoid(a: Array) -> Array:
    """σ(a) = 1 / (1 + e^(−a)), computed as ½(1 + tanh(a/2)): the same function, and it cannot overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _tanh_derivative(y: Array) -> Array:
    """tanh′(a) = 1 − tanh²(a) ≤ 1."""
    return 1.0 - y * y


def _sigmoid_derivative(y: Array) -> Array:
    """σ′(a) = σ(a)(1 − σ(a)) ≤ 1/4."""
    return y * (1.0 - y)


def _relu(a: Array) -> Array:
    """relu(a) = max(a, 0)."""
    return np.maximum(a, 0.0)


def _relu_derivative(y: Array) -> Array:
    """relu′(a) = 1 if a > 0 else 0 (and y > 0 exactly when a > 0)."""
    return (y > 0).astype(y.dtype)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _tanh_derivative),
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_derivative),
    "relu": Activation("relu", _relu, _relu_derivative),
}


@dataclass(frozen=True)
class LayerParams:
    """The four arrays of one recurrent layer, named as in torch.nn."""

    weight_ih: Array  # (G·H, I)
    weight_hh: Array  # (G·H, H)
    bias_ih: Array  # (G·H,)
    bias_hh: Array  # (G·H,)


@dataclass(frozen=True)
class LayerGrads:
    """Gradients of the loss with respect to a LayerParams, same shapes."""

    weight_ih: Array
    weight_hh: Array
    bias_ih: Array
    bias_hh: Array


def _sum_leading(a: Array) -> Array:
    """Sum every axis before the last two: (…, B, K) → (B, K)."""
    return a.reshape((-1, *a.shape[-2:])).sum(axis=0) if a.ndim > 2 else a


def _layer_grads(d_gi: Array, d_gh: Array, x: Array, h_prev: Array) -> LayerGrads:
    """Parameter gradients from the gradients of the two affine maps gi = W_ih x + b_ih, gh = W_hh h + b_hh.

    ∂L/∂W_ih = Σ_b (∂L/∂gi)ᵀ x,  ∂L/∂b_ih = Σ_b ∂L/∂gi, and likewise for W_hh with h_{t−1}.
    """
    gi = _sum_leading(d_gi)
    gh = _sum_leading(d_gh)
    return LayerGrads(
        weight_ih=gi.T @ x, weight_hh=gh.T @ h_prev, bias_ih=gi.sum(axis=0), bias_hh=gh.sum(axis=0)
    )


# ---------------------------------------------------------------- RNN


@dataclass(frozen=True)
class RNNCache:
    """What the RNN backward needs from its forward step."""

    x: Array
    h_prev: Array
    h: Array
    activation: Activation


def rnn_forward(x: Array, h_prev: Array, p: LayerParams, activation: Activation) -> tuple[Array, RNNCache]:
    """Elman step h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), with f ∈ {tanh, σ, relu}.

    Shapes: x (B, I), h_prev (B, H) → h (B, H).
    """
    a = x @ p.weight_ih.T + p.bias_ih + h_prev @ p.weight_hh.T + p.bias_hh
    h = activation.forward(a)
    return h, RNNCache(x=x, h_prev=h_prev, h=h, activation=activation)


def rnn_backward(dh: Array, cache: RNNCache, p: LayerParams) -> tuple[Array, Array, LayerGrads]:
    """Backward of the Elman step; returns (dx, dh_prev, grads).

    With a_t the pre-activation, δa = δh ⊙ f′(a_t), and then
    ∂L/∂x_t = δa W_ih,  ∂L/∂h_{t−1} = δa W_hh — so one step back multiplies the gradient by the
    Jacobian ∂h_t/∂h_{t−1} = diag(f′(a_t)) W_hh, the factor whose product over many steps vanishes
    or explodes.
    """
    da = dh * cache.activation.derivative_from_output(cache.h)
    return da @ p.weight_ih, da @ p.weight_hh, _layer_grads(da, da, cache.x, cache.h_prev)


# ---------------------------------------------------------------- LSTM


@dataclass(frozen=True)
class LSTMCache:
    """What the LSTM backward needs from its forward step."""

    x: Array
    h_prev: Array
    c_prev: Array
    i: Array
    f: Array
    g: Array
    o: Array
    tanh_c: Array


def lstm_forward(x: Array, h_prev: Array, c_prev: Array, p: LayerParams) -> tuple[Array, Array, LSTMCache]:
    """LSTM step, gate order i, f, g, o as in torch.nn.LSTM.

    [i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh  (pre-activations, each (B, H))
    i = σ(·), f = σ(·), g = tanh(·), o = σ(·)
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
    """
    gates = x @ p.weight_ih.T + p.bias_ih + h_prev @ p.weight_hh.T + p.bias_hh
    h, c, (i, f, g, o, tanh_c) = lstm_pointwise(gates, c_prev)
    return h, c, LSTMCache(x=x, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, tanh_c=tanh_c)


def lstm_pointwise(
    gates: Array, c_prev: Array
) -> tuple[Array, Array, tuple[Array, Array, Array, Array, Array]]:
    """The LSTM step after its affine maps: gates (B, 4H), c_{t−1} → h_t, c_t, (i, f, g, o, tanh c_t).

    Split out so that an inference engine may compute the affine part its own way (folded biases,
    one product for many rows) and still use these equations.
    """
    hidden = gates.shape[-1] // 4
    # σ(a) = ½(1 + tanh(a/2)), so one tanh serves all four gates: tanh(a/2) for i, f, o and
    # tanh(a) for g (fewer passes over the arrays, which is what a small step costs).
    t = np.tanh(gates * _lstm_gate_scale(hidden, gates.dtype))
    s = 0.5 * t + 0.5
    i, f, o = s[..., :hidden], s[..., hidden : 2 * hidden], s[..., 3 * hidden :]
    g = t[..., 2 * hidden : 3 * hidden]
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return o * tanh_c, c, (i, f, g, o, tanh_c)


@functools.cache
def _lstm_gate_scale(hidden: int, dtype: np.dtype[Any]) -> Array:
    """(4H,): ½ on the i, f, o blocks and 1 on g (see ``lstm_pointwise``)."""
    scale = np.full(4 * hidden, 0.5, dtype=dtype)
    scale[2 * hidden : 3 * hidden] = 1.0
    scale.flags.writeable = False
    return scale


def lstm_backward(
    dh: Array, dc: Array, cache: LSTMCache, p: LayerParams
) -> tuple[Array, Array, Array, LayerGrads]:
    """Backward of the LSTM step; returns (dx, dh_prev, dc_prev, grads).

    δc = δc_t + δh_t ⊙ o ⊙ (1 − tanh²c_t)   (c_t feeds both the next step and h_t)
    δo = δh_t ⊙ tanh c_t,  δi = δc ⊙ g,  δg = δc ⊙ i,  δf = δc ⊙ c_{t−1},  δc_{t−1} = δc ⊙ f
    and through the gate nonlinearities σ′ = σ(1 − σ), tanh′ = 1 − tanh². The path
    δc_{t−1} = δc ⊙ f is the "constant error carousel": with f ≈ 1 it neither shrinks nor grows.
    """
    ca = cache
    d_c = dc + dh * ca.o * (1.0 - ca.tanh_c * ca.tanh_c)
    d_o = dh * ca.tanh_c
    d_i = d_c * ca.g
    d_g = d_c * ca.i
    d_f = d_c * ca.c_prev
    d_gates = np.concatenate(
        [
            d_i * ca.i * (1.0 - ca.i),
            d_f * ca.f * (1.0 - ca.f),
            d_g * (1.0 - ca.g * ca.g),
            d_o * ca.o * (1.0 - ca.o),
        ],
        axis=-1,
    )
    dx = d_gates @ p.weight_ih
    dh_prev = d_gates @ p.weight_hh
    dc_prev = d_c * ca.f
    return dx, dh_prev, dc_prev, _layer_grads(d_gates, d_gates, ca.x, ca.h_prev)


# ---------------------------------------------------------------- GRU


@dataclass(frozen=True)
class GRUCache:
    """What the GRU backward needs from its forward step."""

    x: Array
    h_prev: Array
    r: Array
    z: Array
    n: Array
    hn: Array  # W_hn h_{t−1} + b_hn, the part the reset gate multiplies


def gru_forward(x: Array, h_prev: Array, p: LayerParams) -> tuple[Array, GRUCache]:
    """GRU step, gate order r, z, n as in torch.nn.GRU.

    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    """
    gi = x @ p.weight_ih.T + p.bias_ih
    gh = h_prev @ p.weight_hh.T + p.bias_hh
    h, (r, z, n, h_n) = gru_pointwise(gi, gh, h_prev)
    return h, GRUCache(x=x, h_prev=h_prev, r=r, z=z, n=n, hn=h_n)


def gru_pointwise(gi: Array, gh: Array, h_prev: Array) -> tuple[Array, tuple[Array, Array, Array, Array]]:
    """The GRU step after its affine maps gi = W_ih x + b_ih, gh = W_hh h + b_hh (both (B, 3H)).

    Returns h_t and (r, z, n, W_hn h + b_hn); the reset gate multiplies the last, which is why
    the two affine maps stay apart for the GRU.
    """
    hidden = gi.shape[-1] // 3
    rz = sigmoid(gi[..., : 2 * hidden] + gh[..., : 2 * hidden])  # r and z are adjacent: one pass
    r, z = rz[..., :hidden], rz[..., hidden:]
    h_n = gh[..., 2 * hidden :]
    n = np.tanh(gi[..., 2 * hidden :] + r * h_n)
    return (1.0 - z) * n + z * h_prev, (r, z, n, h_n)


def gru_backward(dh: Array, cache: GRUCache, p: LayerParams) -> tuple[Array, Array, LayerGrads]:
    """Backward of the GRU step; returns (dx, dh_prev, grads).

    δn = δh ⊙ (1 − z),  δz = δh ⊙ (h_{t−1} − n),  direct path δh_{t−1} ∋ δh ⊙ z
    δa_n = δn ⊙ (1 − n²)  feeds W_in x + b_in directly and W_hn h + b_hn through r: δ(hn) = δa_n ⊙ r,
    δr = δa_n ⊙ hn;  then δa_r = δr ⊙ r(1 − r), δa_z = δz ⊙ z(1 − z).
    """
    ca = cache
    d_n = dh * (1.0 - ca.z)
    d_z = dh * (ca.h_prev - ca.n)
    d_an = d_n * (1.0 - ca.n * ca.n)
    d_r = d_an * ca.hn
    d_ar = d_r * ca.r * (1.0 - ca.r)
    d_az = d_z * ca.z * (1.0 - ca.z)
    d_gi = np.concatenate([d_ar, d_az, d_an], axis=-1)
    d_gh = np.concatenate([d_ar, d_az, d_an * ca.r], axis=-1)
    dx = d_gi @ p.weight_ih
    dh_prev = d_gh @ p.weight_hh + dh * ca.z
    return dx, dh_prev, _layer_grads(d_gi, d_gh, ca.x, ca.h_prev)
