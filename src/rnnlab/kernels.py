"""The pointwise work of one time step, forward and backward, for the hand-written BPTT.

A step of a recurrent layer is one matrix product and a handful of pointwise operations.
The ``*_forward``/``*_backward`` functions below are the pointwise part (the product
``gh_raw = h_in W_hhᵀ`` is their input); the ``*_step_*`` functions at the end wrap each with
its product into one whole step, which ``rnnlab.recurrence`` calls once per time step — and
which :mod:`rnnlab.compiled` compiles into the product and one fused kernel.

Each ``*_forward`` returns the step's output, its new state, the input of the next product
and what its ``*_backward`` needs (the gate activations, so the backward pass recomputes no
sigmoid or tanh, as cuDNN and haste do). The variants are arguments, ``None`` when off:

* ``hh_weight`` — layer normalisation of the hidden product (Ba et al. 2016):
  gh = LN(h_in W_hhᵀ) ⊙ γ + b_hh, with LN(x) = (x − μ(x)) / √(σ²(x) + ε).
* ``c_weight``, ``c_bias`` — LSTM only: h_t = o_t ⊙ tanh(LN(C_t) ⊙ γ_c + β_c).
* ``hmask`` — variational dropout mask (B, H) on h_{t−1} before W_hh, one per sequence:
  h_in = h ⊙ m (Gal & Ghahramani 2016).
* ``m`` — the length mask (B, 1) of this step: where it is false the state is carried and
  the output is zero (see ``rnnlab.recurrence``).

The gradient of the state h_t reaches the backward step in two parts, ``dh_mm`` (the product
∂L/∂gh_raw_{t+1} · W_hh of the next step, before the dropout mask) and ``dh_keep`` (what the
next step passed straight through: its direct GRU path, or the whole gradient where the next
step was padding), so that the mask and the sums also happen inside the fused kernel:

    ∂L/∂h_t = dh_mm ⊙ m_hidden + dh_keep

Layer normalisation's derivative, with x̂ = (x − μ)·r, r = 1/√(σ² + ε), N features,
dŷ = ∂L/∂y ⊙ γ:   ∂L/∂x = r · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)).
The functions call PyTorch's own ``native_layer_norm`` and its backward for it, which is
one fused operation in eager mode and decomposes into the same formula under compile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

Saved = tuple[Any, ...]
# A step's share of the gradients of b_hh, the hidden norm's γ, the cell norm's γ and β (None: absent).
Grads = tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]
# The running sums of a whole step: ``Grads`` and then the input norm's γ and β (= b_ih).
StepGrads = tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None, Tensor | None, Tensor | None]


def _norm(x: Tensor, weight: Tensor, bias: Tensor | None, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """y = LN(x) ⊙ γ + β over the last dimension; returns (y, μ, r) for the backward pass."""
    y, mean, rstd = torch.native_layer_norm(x, (x.shape[-1],), weight, bias, eps)
    return y, mean, rstd


def _norm_backward(dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, weight: Tensor) -> Tensor:
    """∂L/∂x of y = LN(x) ⊙ γ + β given ∂L/∂y (formula in the module docstring)."""
    dx: Tensor = torch.ops.aten.native_layer_norm_backward(
        dy, x, (x.shape[-1],), mean, rstd, weight, None, (True, False, False)
    )[0]
    return dx


def _scale_gradient(dy: Tensor, x: Tensor, mean: Tensor, rstd: Tensor) -> Tensor:
    """This step's ∂L/∂γ of y = LN(x) ⊙ γ + β: Σ_batch ∂L/∂y ⊙ x̂, with x̂ = (x − μ)·r."""
    return (dy * (x - mean) * rstd).sum(0)


def _hidden(
    gh_raw: Tensor, b_hh: Tensor | None, hh_weight: Tensor | None, eps: float
) -> tuple[Tensor, Saved]:
    """gh = LN(gh_raw) ⊙ γ + b_hh with the norm, gh_raw + b_hh without it."""
    if hh_weight is not None:
        gh, mean, rstd = _norm(gh_raw, hh_weight, b_hh, eps)
        return gh, (gh_raw, mean, rstd)
    return (gh_raw if b_hh is None else gh_raw + b_hh), ()


def _hidden_backward(d_gh: Tensor, stats: Saved, hh_weight: Tensor | None) -> Tensor:
    """∂L/∂gh_raw from ∂L/∂gh (the identity without the norm)."""
    if hh_weight is None:
        return d_gh
    gh_raw, mean, rstd = stats
    return _norm_backward(d_gh, gh_raw, mean, rstd, hh_weight)


def _parameter_sums(
    d_gh: Tensor, hh_stats: Saved, need_bias: bool, d_cn: Tensor | None = None, c_stats: Saved = ()
) -> Grads:
    """This step's share of ∂L/∂b_hh = Σ ∂L/∂gh, ∂L/∂γ_h = Σ ∂L/∂gh ⊙ x̂ and the cell norm's
    ∂L/∂γ_c = Σ ∂L/∂(LN(C)⊙γ+β) ⊙ Ĉ, ∂L/∂β_c = Σ ∂L/∂(LN(C)⊙γ+β), summed over the batch.

    Summing per step keeps the work on data still in the cache (and inside the fused kernel)
    instead of stacking every step's tensors for one pass at the end.
    """
    d_bias = d_gh.sum(0) if need_bias else None
    d_hh = None
    if hh_stats:
        gh_raw, mean, rstd = hh_stats
        d_hh = _scale_gradient(d_gh, gh_raw, mean, rstd)
    d_cw = d_cb = None
    if d_cn is not None:
        c_new, mean, rstd = c_stats
        d_cw, d_cb = _scale_gradient(d_cn, c_new, mean, rstd), d_cn.sum(0)
    return d_bias, d_hh, d_cw, d_cb


def _carry(h_new: Tensor, h: Tensor, m: Tensor | None, hmask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    """(output, next state, next product's input) of a step whose new state is ``h_new``."""
    if m is None:
        out, h_next = h_new, h_new
    else:
        out, h_next = torch.where(m, h_new, 0.0), torch.where(m, h_new, h)
    return out, h_next, (h_next if hmask is None else h_next * hmask)


def state_gradient(dh_mm: Tensor, dh_keep: Tensor, hmask: Tensor | None) -> Tensor:
    """∂L/∂h_t = dh_mm ⊙ m_hidden + dh_keep (at the last step dh_mm is zero, dh_keep is ∂L/∂h_T)."""
    return (dh_mm if hmask is None else dh_mm * hmask) + dh_keep


def hidden_weight_gradient(d_raw: Tensor, states: Tensor, hmask: Tensor | None) -> Tensor:
    """∂L/∂W_hh = Σ_t δ_tᵀ h_in_{t−1} in one product over all steps: ``d_raw`` (T, B, G) holds
    ∂L/∂gh_raw_t, ``states`` (T + 1, B, H) h_0 and each step's output (a padded step's δ is zero)."""
    h_in = states[:-1] if hmask is None else states[:-1] * hmask
    return torch.mm(d_raw.flatten(0, 1).t(), h_in.flatten(0, 1))


def _incoming(
    dh_mm: Tensor, dh_keep: Tensor, dout: Tensor, m: Tensor | None, hmask: Tensor | None
) -> tuple[Tensor, Tensor]:
    """(∂L/∂h_t, ∂L/∂h_new): the state's gradient and the part that reaches this step's cell."""
    dh = state_gradient(dh_mm, dh_keep, hmask)
    d_new = dh + dout
    return dh, (d_new if m is None else torch.where(m, d_new, 0.0))


def _passed(dh: Tensor, m: Tensor | None, direct: Tensor | None) -> Tensor:
    """What reaches h_{t−1} without the product: all of ∂L/∂h_t past the end, plus a direct path.

    Always a tensor (zeros when nothing passes), so that a compiled kernel sees one signature.
    """
    if m is None:
        return torch.zeros_like(dh) if direct is None else direct
    keep = torch.where(m, 0.0, dh)
    return keep if direct is None else keep + direct


# ---------------------------------------------------------------------------------------- LSTM
def lstm_forward(
    gx: Tensor,
    gh_raw: Tensor,
    h: Tensor,
    c: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    c_weight: Tensor | None,
    c_bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Saved]:
    """LSTM step (see :func:`rnnlab.cells.lstm_cell`): returns (out, h_t, C_t, h_in, saved)."""
    gh, hh_stats = _hidden(gh_raw, b_hh, hh_weight, eps)
    a = gx + gh
    hidden = c.shape[1]
    act = torch.sigmoid(a)  # i, f, o; the g block is replaced by tanh below
    act[:, 2 * hidden : 3 * hidden] = torch.tanh(a[:, 2 * hidden : 3 * hidden])
    i, f, g, o = act.chunk(4, dim=1)
    c_new = torch.addcmul(f * c, i, g)
    c_stats: Saved = ()
    if c_weight is not None:
        c_normed, mean, rstd = _norm(c_new, c_weight, c_bias, eps)
        c_stats = (c_new, mean, rstd)
        tanh_c = torch.tanh(c_normed)
    else:
        tanh_c = torch.tanh(c_new)
    h_new = o * tanh_c
    out, h_next, h_in = _carry(h_new, h, m, hmask)
    c_next = c_new if m is None else torch.where(m, c_new, c)
    return out, h_next, c_next, h_in, (act, tanh_c, c_stats, hh_stats)


def lstm_backward(
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    dc: Tensor,
    c_prev: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    c_weight: Tensor | None,
    need_bias: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Grads]:
    """Gradient of the LSTM step, given ∂L/∂h_t (in two parts, see the module) and ∂L/∂C_t.

    δC = ∂L/∂C_t + ∂L/∂h_t ⊙ o_t ⊙ tanh′          (tanh′ = 1 − tanh², through LN when on)
    ∂L/∂o = ∂L/∂h_t ⊙ tanh(·),  ∂L/∂i = δC ⊙ C̃_t,  ∂L/∂C̃ = δC ⊙ i_t,  ∂L/∂f = δC ⊙ C_{t−1}
    ∂L/∂C_{t−1} = δC ⊙ f_t;  each gate's pre-activation gradient multiplies by σ′ or tanh′.

    Returns (∂L/∂a = ∂L/∂gx = ∂L/∂gh (B, 4H), ∂L/∂gh_raw, ∂L/∂C_{t−1}, the part of ∂L/∂h_{t−1}
    that skips the product, this step's parameter sums — see :func:`_parameter_sums`).
    """
    act, tanh_c, c_stats, hh_stats = saved
    i, f, g, o = act.chunk(4, dim=1)
    dh, d_new = _incoming(dh_mm, dh_keep, dout, m, hmask)
    dc_in = dc if m is None else torch.where(m, dc, 0.0)
    d_tanh = d_new * o * (1 - tanh_c * tanh_c)
    d_cn = None
    if c_weight is not None:
        c_new, mean, rstd = c_stats
        d_cn = d_tanh
        dc_total = dc_in + _norm_backward(d_tanh, c_new, mean, rstd, c_weight)
    else:
        dc_total = dc_in + d_tanh
    da = torch.cat(
        (
            dc_total * g * i * (1 - i),
            dc_total * c_prev * f * (1 - f),
            dc_total * i * (1 - g * g),
            d_new * tanh_c * o * (1 - o),
        ),
        dim=1,
    )
    dc_prev = dc_total * f
    if m is not None:
        dc_prev = torch.where(m, dc_prev, dc)
    grads = _parameter_sums(da, hh_stats, need_bias, d_cn, c_stats)
    return da, _hidden_backward(da, hh_stats, hh_weight), dc_prev, _passed(dh, m, None), grads


# ----------------------------------------------------------------------------------------- GRU
def gru_forward(
    gx: Tensor,
    gh_raw: Tensor,
    h: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor, Saved]:
    """GRU step (see :func:`rnnlab.cells.gru_cell`): returns (out, H_t, h_in, saved)."""
    gh, hh_stats = _hidden(gh_raw, b_hh, hh_weight, eps)
    xr, xz, xn = gx.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    h_new = z * h + (1 - z) * n
    out, h_next, h_in = _carry(h_new, h, m, hmask)
    return out, h_next, h_in, (r, z, n, hn, hh_stats)


def gru_backward(
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    h_prev: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    need_bias: bool,
) -> tuple[Tensor, Tensor, Tensor, Grads]:
    """Gradient of the GRU step, given ∂L/∂H_t (in two parts, see the module).

    ∂L/∂H̃ = ∂L/∂H_t ⊙ (1 − Z),   ∂L/∂Z = ∂L/∂H_t ⊙ (H_{t−1} − H̃),   direct ∂L/∂H_{t−1} = ∂L/∂H_t ⊙ Z
    δn = ∂L/∂H̃ ⊙ (1 − H̃²),   ∂L/∂R = δn ⊙ (H_{t−1} W_hh + b_hh);  the hidden product of the
    candidate receives δn ⊙ R.

    Returns (∂L/∂gx (B, 3H), ∂L/∂gh_raw, the part of ∂L/∂H_{t−1} that skips the product — its
    direct path Z and, past the end, everything — and this step's parameter sums, taken of
    ∂L/∂gh = (δr, δz, δn ⊙ R), see :func:`_parameter_sums`).
    """
    r, z, n, hn, hh_stats = saved
    dh, d_new = _incoming(dh_mm, dh_keep, dout, m, hmask)
    dn = d_new * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = d_new * (h_prev - n) * z * (1 - z)
    d_gh = torch.cat((dr, dz, dn * r), dim=1)
    return (
        torch.cat((dr, dz, dn), dim=1),
        _hidden_backward(d_gh, hh_stats, hh_weight),
        _passed(dh, m, d_new * z),
        _parameter_sums(d_gh, hh_stats, need_bias),
    )


# ----------------------------------------------------------------------------------------- RNN
def rnn_forward(
    gx: Tensor,
    gh_raw: Tensor,
    h: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    eps: float,
    relu: bool,
) -> tuple[Tensor, Tensor, Tensor, Saved]:
    """Elman step s_t = f(gx + gh) (see :func:`rnnlab.cells.rnn_cell`): (out, s_t, h_in, saved)."""
    gh, hh_stats = _hidden(gh_raw, b_hh, hh_weight, eps)
    s = torch.relu(gx + gh) if relu else torch.tanh(gx + gh)
    out, h_next, h_in = _carry(s, h, m, hmask)
    return out, h_next, h_in, (s, hh_stats)


def rnn_backward(
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    relu: bool,
    need_bias: bool,
) -> tuple[Tensor, Tensor, Tensor, Grads]:
    """∂L/∂a = ∂L/∂s_t ⊙ f′(a), f′ read off the output: tanh′ = 1 − s², relu′ = [s > 0].

    Returns (∂L/∂a = ∂L/∂gx = ∂L/∂gh, ∂L/∂gh_raw, the part of ∂L/∂h_{t−1} that skips the product,
    this step's parameter sums).
    """
    s, hh_stats = saved
    dh, d_new = _incoming(dh_mm, dh_keep, dout, m, hmask)
    da = d_new * (s > 0).to(s.dtype) if relu else d_new * (1 - s * s)
    return (
        da,
        _hidden_backward(da, hh_stats, hh_weight),
        _passed(dh, m, None),
        _parameter_sums(da, hh_stats, need_bias),
    )


# --------------------------------------------------------------------------------- whole steps
# One step of the time loop is the hidden product and the pointwise kernel; its backward is
# the kernel, the product that carries the gradient to the previous step and the running
# parameter sums. Written as one function each, a step is one call — one compiled graph
# under :mod:`rnnlab.compiled`, where every call saved is overhead saved at each step. The
# per-step results that the loop gathers over time (the output, ∂L/∂gx_t, ∂L/∂gh_raw_t) are
# written straight into their slot of the loop's (T, ...) buffers: compiled, the kernel
# stores them there instead of into a temporary that is then copied.
def _accumulate(sums: StepGrads, grads: StepGrads) -> StepGrads:
    """Running Σ_t of the parameter sums (an absent parameter stays None)."""
    a, b, c, d, e, f = (
        s if g is None else (g if s is None else s + g) for s, g in zip(sums, grads, strict=True)
    )
    return a, b, c, d, e, f


def _store_gradients(d_gx_t: Tensor, d_raw_t: Tensor | None, d_gx: Tensor, d_raw: Tensor) -> None:
    """Write ∂L/∂gx_t and, where it differs (``d_raw_t`` given), ∂L/∂gh_raw_t into their slots."""
    d_gx_t.copy_(d_gx)
    if d_raw_t is not None:
        d_raw_t.copy_(d_raw)


def _input(gx: Tensor, ih_weight: Tensor | None, ih_bias: Tensor | None, eps: float) -> tuple[Tensor, Saved]:
    """The input product's layer norm, gx = LN(x W_ihᵀ) ⊙ γ_x + b_ih, when on (else gx as given).

    Normalising step by step inside the kernel costs no pass of its own over the (T, B, G·H)
    products, forward or backward, where a norm over the whole sequence costs two.
    """
    if ih_weight is None:
        return gx, ()
    gx_n, mean, rstd = _norm(gx, ih_weight, ih_bias, eps)
    return gx_n, (mean, rstd)


def _input_backward(
    d_gx: Tensor, gx_raw: Tensor | None, stats: Saved, ih_weight: Tensor | None, need_ih_bias: bool
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(∂L/∂(x W_ihᵀ), this step's ∂L/∂γ_x, ∂L/∂b_ih) from ∂L/∂gx; the identity without the norm."""
    if ih_weight is None or gx_raw is None:
        return d_gx, None, None
    mean, rstd = stats
    d_scale = _scale_gradient(d_gx, gx_raw, mean, rstd)
    return _norm_backward(d_gx, gx_raw, mean, rstd, ih_weight), d_scale, d_gx.sum(0) if need_ih_bias else None


def _step_sums(sums: StepGrads, grads: Grads, d_ih_w: Tensor | None, d_ih_b: Tensor | None) -> StepGrads:
    return _accumulate(sums, (*grads, d_ih_w, d_ih_b))


def lstm_step_forward(
    out_t: Tensor,
    gx: Tensor,
    h_in: Tensor,
    w_t: Tensor,
    h: Tensor,
    c: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    c_weight: Tensor | None,
    c_bias: Tensor | None,
    ih_weight: Tensor | None,
    ih_bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor, Saved]:
    """gx_t through the input norm (when on), gh_raw = h_in W_hhᵀ (``w_t`` = W_hhᵀ), then
    :func:`lstm_forward`; the output goes into ``out_t``, the rest is returned: (h_t, C_t, h_in, saved)."""
    gx, ih_stats = _input(gx, ih_weight, ih_bias, eps)
    out, h, c, h_in, saved = lstm_forward(
        gx, torch.mm(h_in, w_t), h, c, m, hmask, b_hh, hh_weight, c_weight, c_bias, eps
    )
    out_t.copy_(out)
    return h, c, h_in, (saved, ih_stats)


def lstm_step_backward(
    d_gx_t: Tensor,
    d_raw_t: Tensor | None,
    weight_hh: Tensor,
    sums: StepGrads,
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    dc: Tensor,
    c_prev: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    c_weight: Tensor | None,
    gx_raw: Tensor | None,
    ih_weight: Tensor | None,
    need_bias: bool,
    need_ih_bias: bool,
) -> tuple[Tensor, Tensor, Tensor, StepGrads]:
    """:func:`lstm_backward` (and the input norm's) with ∂L/∂(x_t W_ihᵀ) and ∂L/∂gh_raw_t written
    into their slots; returns (∂L/∂C_{t−1}, the part of ∂L/∂h_{t−1} past the product, the previous
    step's dh_mm = ∂L/∂gh_raw_t · W_hh, the parameter sums so far)."""
    cell_saved, ih_stats = saved
    da, d_raw, dc_prev, keep, grads = lstm_backward(
        dh_mm, dh_keep, dout, dc, c_prev, cell_saved, m, hmask, hh_weight, c_weight, need_bias
    )
    d_gx, d_ih_w, d_ih_b = _input_backward(da, gx_raw, ih_stats, ih_weight, need_ih_bias)
    _store_gradients(d_gx_t, d_raw_t, d_gx, d_raw)
    return dc_prev, keep, torch.mm(d_raw, weight_hh), _step_sums(sums, grads, d_ih_w, d_ih_b)


def gru_step_forward(
    out_t: Tensor,
    gx: Tensor,
    h_in: Tensor,
    w_t: Tensor,
    h: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    ih_weight: Tensor | None,
    ih_bias: Tensor | None,
    eps: float,
) -> tuple[Tensor, Tensor, Saved]:
    """The input norm, gh_raw = h_in W_hhᵀ, then :func:`gru_forward`; the output goes into ``out_t``:
    (H_t, h_in, saved)."""
    gx, ih_stats = _input(gx, ih_weight, ih_bias, eps)
    out, h, h_in, saved = gru_forward(gx, torch.mm(h_in, w_t), h, m, hmask, b_hh, hh_weight, eps)
    out_t.copy_(out)
    return h, h_in, (saved, ih_stats)


def gru_step_backward(
    d_gx_t: Tensor,
    d_raw_t: Tensor | None,
    weight_hh: Tensor,
    sums: StepGrads,
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    h_prev: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    gx_raw: Tensor | None,
    ih_weight: Tensor | None,
    need_bias: bool,
    need_ih_bias: bool,
) -> tuple[Tensor, Tensor, StepGrads]:
    """:func:`gru_backward` (and the input norm's) with its gradients written into their slots:
    (keep, dh_mm, sums)."""
    cell_saved, ih_stats = saved
    d_gx, d_raw, keep, grads = gru_backward(
        dh_mm, dh_keep, dout, h_prev, cell_saved, m, hmask, hh_weight, need_bias
    )
    d_gx, d_ih_w, d_ih_b = _input_backward(d_gx, gx_raw, ih_stats, ih_weight, need_ih_bias)
    _store_gradients(d_gx_t, d_raw_t, d_gx, d_raw)
    return keep, torch.mm(d_raw, weight_hh), _step_sums(sums, grads, d_ih_w, d_ih_b)


def rnn_step_forward(
    out_t: Tensor,
    gx: Tensor,
    h_in: Tensor,
    w_t: Tensor,
    h: Tensor,
    m: Tensor | None,
    hmask: Tensor | None,
    b_hh: Tensor | None,
    hh_weight: Tensor | None,
    ih_weight: Tensor | None,
    ih_bias: Tensor | None,
    eps: float,
    relu: bool,
) -> tuple[Tensor, Tensor, Saved]:
    """The input norm, gh_raw = h_in W_hhᵀ, then :func:`rnn_forward`; the output goes into ``out_t``:
    (s_t, h_in, saved)."""
    gx, ih_stats = _input(gx, ih_weight, ih_bias, eps)
    out, h, h_in, saved = rnn_forward(gx, torch.mm(h_in, w_t), h, m, hmask, b_hh, hh_weight, eps, relu)
    out_t.copy_(out)
    return h, h_in, (saved, ih_stats)


def rnn_step_backward(
    d_gx_t: Tensor,
    d_raw_t: Tensor | None,
    weight_hh: Tensor,
    sums: StepGrads,
    dh_mm: Tensor,
    dh_keep: Tensor,
    dout: Tensor,
    saved: Saved,
    m: Tensor | None,
    hmask: Tensor | None,
    hh_weight: Tensor | None,
    gx_raw: Tensor | None,
    ih_weight: Tensor | None,
    relu: bool,
    need_bias: bool,
    need_ih_bias: bool,
) -> tuple[Tensor, Tensor, StepGrads]:
    """:func:`rnn_backward` (and the input norm's) with its gradients written into their slots:
    (keep, dh_mm, sums)."""
    cell_saved, ih_stats = saved
    da, d_raw, keep, grads = rnn_backward(
        dh_mm, dh_keep, dout, cell_saved, m, hmask, hh_weight, relu, need_bias
    )
    d_gx, d_ih_w, d_ih_b = _input_backward(da, gx_raw, ih_stats, ih_weight, need_ih_bias)
    _store_gradients(d_gx_t, d_raw_t, d_gx, d_raw)
    return keep, torch.mm(d_raw, weight_hh), _step_sums(sums, grads, d_ih_w, d_ih_b)


@dataclass(frozen=True)
class KernelSet:
    """The six whole-step functions, eager (``EAGER``) or compiled (:mod:`rnnlab.compiled`)."""

    lstm_forward: Callable[..., Any]
    lstm_backward: Callable[..., Any]
    gru_forward: Callable[..., Any]
    gru_backward: Callable[..., Any]
    rnn_forward: Callable[..., Any]
    rnn_backward: Callable[..., Any]


EAGER = KernelSet(
    lstm_step_forward,
    lstm_step_backward,
    gru_step_forward,
    gru_step_backward,
    rnn_step_forward,
    rnn_step_backward,
)
