"""Running one cell over a sequence: the time loop of one layer in one direction.

Two loops compute the same function:

* :func:`scan` with ``bptt=True`` runs each step as one call of a whole-step function of
  :mod:`rnnlab.kernels` (the matrix product and the pointwise work, saving the gate
  activations), and back-propagates through time by hand (:class:`_BPTTScan`). Autograd
  sees one node per layer instead of a dozen per step; the backward pass keeps one matrix
  product per step, gathers ∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1} in a single product at the end
  and the biases' and norms' gradients as running sums. The steps run eagerly or compiled
  (:mod:`rnnlab.compiled`): the same code, two kernels per step instead of a dozen.
  It covers the plain cells, layer normalisation and variational hidden dropout.
* ``bptt=False`` is a plain autograd loop over the readable cells of :mod:`rnnlab.cells`:
  the definition the hand-written path is tested against, and the path for LSTM projections.

Variable-length batches use a mask (T, B, 1): where it is 0 the state is carried through
unchanged and the output is zero, exactly what ``torch.nn`` does with packed sequences::

    t:      0   1   2   3   4
    b=0:    x   x   x   x   x      length 5
    b=1:    x   x   x   ·   ·      length 3: steps 3, 4 keep h_2 and output 0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rnnlab import native as native_loop
from rnnlab.cells import (
    Nonlinearity,
    gru_cell,
    lstm_cell,
    min_gru_cell,
    min_gru_log_coefficients,
    min_lstm_cell,
    min_lstm_log_coefficients,
    rnn_cell,
)
from rnnlab.kernels import EAGER, KernelSet, Saved, StepGrads, hidden_weight_gradient, state_gradient

CellKind = Literal["rnn", "lstm", "gru"]
MinKind = Literal["mingru", "minlstm"]

SCAN_CHUNK = 32  # steps per chunk of the parallel scan; its float32 error grows with it (see log_space_scan)


@dataclass
class ScanExtras:
    """What the layers add to the plain cells (all optional).

    hidden_mask: variational dropout mask (B, H) applied to h_{t−1} before W_hh, the same
        at every step (Gal & Ghahramani 2016).
    ih_norm, ih_bias: layer normalisation of the input product: gx is then x_t W_ihᵀ without
        its bias, and each step uses LN(gx_t) ⊙ γ_x + ih_bias (Ba et al. 2016).
    hh_norm: layer normalisation of h_{t−1} W_hhᵀ before the bias (Ba et al. 2016).
    cell_norm: layer normalisation of C_t inside tanh (LSTM only).
    weight_hr: LSTM projection (P, H): h_t = (o_t ⊙ tanh C_t) W_hrᵀ (autograd loop only).

    The hand-written path uses the hidden norm's ε for every norm of the layer.
    """

    hidden_mask: Tensor | None = None
    ih_norm: nn.LayerNorm | None = None
    ih_bias: Tensor | None = None
    hh_norm: nn.LayerNorm | None = None
    cell_norm: nn.LayerNorm | None = None
    weight_hr: Tensor | None = None

    def hand_written(self) -> bool:
        """Whether the hand-written BPTT expresses these extras (the projection and norms
        without a learned scale need the autograd loop)."""
        norms = (self.ih_norm, self.hh_norm, self.cell_norm)
        return self.weight_hr is None and all(n is None or n.weight is not None for n in norms)


def scan(
    kind: CellKind,
    gx: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    mask: Tensor | None = None,
    nonlinearity: Nonlinearity = "tanh",
    extras: ScanExtras | None = None,
    bptt: bool = True,
    kernels: KernelSet = EAGER,
    native: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run a cell over time.

    gx: (T, B, G·H) input products x_t W_ihᵀ + b_ih for every step (without b_ih when
        ``extras.ih_norm`` normalises them).
    h0, c0: (B, H) initial state (c0 for LSTM only).
    mask: (T, B, 1) bool, True where step t is inside sequence b, or None when every
        sequence has length T.
    bptt: True for the hand-written BPTT over ``kernels`` (eager, or compiled by
        :mod:`rnnlab.compiled`); False for the autograd loop over ``rnnlab.cells``, the
        definition the hand-written path is tested against.
    native: run a float32 LSTM on the CPU through the C++ time loop of :mod:`rnnlab.native`
        (the same BPTT, one call per sequence) where it is available; ``kernels`` otherwise.
    Returns (outputs (T, B, H), h_T, c_T or None).
    """
    extras = extras or ScanExtras()
    if not bptt or not extras.hand_written():
        return _autograd_loop(kind, nonlinearity, gx, h0, c0, weight_hh, bias_hh, mask, extras)
    ih, hh, cn = extras.ih_norm, extras.hh_norm, extras.cell_norm
    if hh is not None and hh.bias is not None:  # β of the norm and b_hh are one shift
        bias_hh = hh.bias if bias_hh is None else bias_hh + hh.bias
    ih_bias = extras.ih_bias
    if ih is not None and ih.bias is not None:
        ih_bias = ih.bias if ih_bias is None else ih_bias + ih.bias
    step = _Step(kind, nonlinearity == "relu", 1e-5 if hh is None else hh.eps, kernels)
    tensors = (
        gx, h0, c0, weight_hh, bias_hh, extras.hidden_mask,
        None if hh is None else hh.weight,
        None if cn is None else cn.weight,
        None if cn is None else cn.bias,
        None if ih is None else ih.weight,
        None if ih is None else ih_bias,
    )  # fmt: skip
    if native and kind == "lstm" and native_loop.supports(gx, weight_hh):
        lstm: tuple[Tensor, Tensor, Tensor] = native_loop.NativeLSTMScan.apply(step.eps, mask, *tensors)
        return lstm
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        out: tuple[Tensor, Tensor, Tensor | None] = _BPTTScan.apply(step, mask, *tensors)
        return out
    run = _forward_loop(step, mask, *tensors, keep=False)
    return run.outputs, run.h, run.c


@dataclass(frozen=True)
class _Step:
    """One kind of step with its constant settings; calls the kernels with one signature for all cells."""

    kind: CellKind
    relu: bool
    eps: float  # every norm's ε (the hidden norm's)
    kernels: KernelSet

    def forward(
        self,
        out_t: Tensor,
        gx: Tensor,
        h_in: Tensor,
        w_t: Tensor,
        h: Tensor,
        c: Tensor | None,
        m: Tensor | None,
        hmask: Tensor | None,
        b_hh: Tensor | None,
        hh_w: Tensor | None,
        c_w: Tensor | None,
        c_b: Tensor | None,
        ih_w: Tensor | None,
        ih_b: Tensor | None,
    ) -> tuple[Tensor, Tensor | None, Tensor, Saved]:
        """Writes out_t; returns (h_t, C_t or None, next product's input, saved). ``w_t`` is W_hhᵀ."""
        k, eps = self.kernels, self.eps
        if self.kind == "lstm":
            h, c, h_in, saved = k.lstm_forward(
                out_t, gx, h_in, w_t, h, c, m, hmask, b_hh, hh_w, c_w, c_b, ih_w, ih_b, eps
            )
            return h, c, h_in, saved
        if self.kind == "gru":
            h, h_in, saved = k.gru_forward(out_t, gx, h_in, w_t, h, m, hmask, b_hh, hh_w, ih_w, ih_b, eps)
        else:
            h, h_in, saved = k.rnn_forward(
                out_t, gx, h_in, w_t, h, m, hmask, b_hh, hh_w, ih_w, ih_b, eps, self.relu
            )
        return h, None, h_in, saved

    def backward(
        self,
        d_gx_t: Tensor,
        d_raw_t: Tensor | None,
        weight_hh: Tensor,
        sums: StepGrads,
        dh_mm: Tensor,
        dh_keep: Tensor,
        dout: Tensor,
        dc: Tensor | None,
        prev: Tensor | None,
        saved: Saved,
        m: Tensor | None,
        hmask: Tensor | None,
        hh_w: Tensor | None,
        c_w: Tensor | None,
        gx_raw: Tensor | None,
        ih_w: Tensor | None,
        need_bias: bool,
        need_ih_bias: bool,
    ) -> tuple[Tensor | None, Tensor, Tensor, StepGrads]:
        """Writes ∂L/∂gx_t (and ∂L/∂gh_raw_t into d_raw_t when given); returns (∂L/∂C_{t−1},
        ∂L/∂h_{t−1} past the product, the product's part of ∂L/∂h_{t−1}, the parameter sums so far).
        ``gx_raw`` is x_t W_ihᵀ before the input norm (None without it)."""
        k = self.kernels
        rest = (weight_hh, sums, dh_mm, dh_keep, dout)
        flags = (need_bias, need_ih_bias)
        if self.kind == "lstm":
            dc, keep, dh_mm, sums = k.lstm_backward(
                d_gx_t, d_raw_t, *rest, dc, prev, saved, m, hmask, hh_w, c_w, gx_raw, ih_w, *flags
            )
            return dc, keep, dh_mm, sums
        if self.kind == "gru":
            keep, dh_mm, sums = k.gru_backward(
                d_gx_t, d_raw_t, *rest, prev, saved, m, hmask, hh_w, gx_raw, ih_w, *flags
            )
        else:
            keep, dh_mm, sums = k.rnn_backward(
                d_gx_t, d_raw_t, *rest, saved, m, hmask, hh_w, gx_raw, ih_w, self.relu, *flags
            )
        return None, keep, dh_mm, sums


@dataclass
class _Run:
    """The forward loop's results and, when kept, what the backward pass reads.

    ``states`` (T + 1, B, H) holds h_0 and then each step's output; ``outputs`` is its view
    ``states[1:]``. Wherever a step is inside its sequence, the output *is* the state, and a
    step past the end has no gradient — so ``states[t]`` serves as h_{t−1} for step t in the
    backward pass (the GRU's direct path, ∂L/∂W_hh) without a copy of every state.
    """

    states: Tensor
    h: Tensor
    c: Tensor | None
    c_prevs: list[Tensor]  # LSTM: C_{t−1} at each step
    saved: list[Saved]

    @property
    def outputs(self) -> Tensor:
        return self.states[1:]


def _forward_loop(
    step: _Step,
    mask: Tensor | None,
    gx: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    hmask: Tensor | None,
    hh_w: Tensor | None,
    c_w: Tensor | None,
    c_b: Tensor | None,
    ih_w: Tensor | None,
    ih_b: Tensor | None,
    keep: bool,
) -> _Run:
    """The time loop: one call per step (the product and the pointwise work)."""
    h, c = h0, c0
    h_in = h0 if hmask is None else h0 * hmask
    w_t = weight_hh.t()
    states = h0.new_empty(gx.shape[0] + 1, *h0.shape)
    states[0] = h0
    run = _Run(states, h0, c0, [], [])
    for t in range(gx.shape[0]):
        if keep and c is not None:
            run.c_prevs.append(c)
        m = None if mask is None else mask[t]
        h, c, h_in, saved = step.forward(
            states[t + 1], gx[t], h_in, w_t, h, c, m, hmask, bias_hh, hh_w, c_w, c_b, ih_w, ih_b
        )
        if keep:
            run.saved.append(saved)
    run.h, run.c = h, c
    return run


class _BPTTScan(torch.autograd.Function):
    """Back-propagation through time, written out (see ``rnnlab.kernels`` for each step's derivative)."""

    @staticmethod
    def forward(
        ctx: Any,
        step: _Step,
        mask: Tensor | None,
        gx: Tensor,
        h0: Tensor,
        c0: Tensor | None,
        weight_hh: Tensor,
        bias_hh: Tensor | None,
        hmask: Tensor | None,
        hh_w: Tensor | None,
        c_w: Tensor | None,
        c_b: Tensor | None,
        ih_w: Tensor | None,
        ih_b: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        run = _forward_loop(
            step, mask, gx, h0, c0, weight_hh, bias_hh, hmask, hh_w, c_w, c_b, ih_w, ih_b, True
        )
        ctx.step, ctx.mask, ctx.saved_steps, ctx.c_prevs = step, mask, run.saved, run.c_prevs
        ctx.has_bias, ctx.has_c_bias, ctx.has_ih_bias = bias_hh is not None, c_b is not None, ih_b is not None
        # states is saved properly (an in-place change of the returned outputs, a view of it, is
        # then an error rather than a wrong gradient); the per-step lists stay on ctx, which may
        # hold the final state itself (an RNN saves its output): return copies of the final state,
        # since ctx holding its own outputs is a cycle that Python's garbage collector cannot see.
        # The input norm's backward reads the products before the norm, gx itself.
        ctx.save_for_backward(run.states, weight_hh, hmask, hh_w, c_w, ih_w, None if ih_w is None else gx)
        return run.outputs, run.h.clone(), None if run.c is None else run.c.clone()

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, d_outputs: Tensor, d_h_last: Tensor, d_c_last: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        step: _Step = ctx.step
        mask: Tensor | None = ctx.mask
        states, weight_hh, hmask, hh_w, c_w, ih_w, gx = ctx.saved_tensors
        # The gradient of a slice (one direction of a bidirectional output, a batch_first view) is
        # strided; one copy makes every step's slice contiguous, so a compiled kernel sees one layout.
        d_outputs = d_outputs.contiguous()
        # (step, mask, gx, h0, c0, W_hh, b_hh, hmask, γ_h, γ_c, β_c, γ_x, b_ih)
        needs = ctx.needs_input_grad
        need_bias = bool(needs[6] and ctx.has_bias)
        need_ih_bias = bool(needs[12] and ctx.has_ih_bias)
        steps = d_outputs.shape[0]
        d_gx = d_outputs.new_empty(steps, *d_h_last.shape[:1], weight_hh.shape[0])
        # ∂L/∂gh_raw differs from ∂L/∂gx only with a norm or for the GRU
        same = hh_w is None and ih_w is None and step.kind != "gru"
        d_raw = d_gx if same else torch.empty_like(d_gx)
        sums = _zero_sums(weight_hh, need_bias, hh_w, c_w, ih_w, need_ih_bias)
        dh_mm, dh_keep = torch.zeros_like(d_h_last), d_h_last
        dc = d_c_last if step.kind == "lstm" else None
        for t in range(steps - 1, -1, -1):
            m = None if mask is None else mask[t]
            prev = ctx.c_prevs[t] if step.kind == "lstm" else (states[t] if step.kind == "gru" else None)
            dc, dh_keep, dh_mm, sums = step.backward(
                d_gx[t], None if same else d_raw[t], weight_hh, sums, dh_mm, dh_keep, d_outputs[t], dc,
                prev, ctx.saved_steps[t], m, hmask, hh_w, c_w, None if gx is None else gx[t], ih_w,
                need_bias, need_ih_bias,
            )  # fmt: skip
        d_weight = None
        if needs[5]:
            d_weight = hidden_weight_gradient(d_raw, states, hmask)
        d_bias, d_hh_w, d_c_w, d_c_b, d_ih_w, d_ih_b = sums
        return (
            None, None, d_gx, state_gradient(dh_mm, dh_keep, hmask), dc,
            d_weight, d_bias, None, d_hh_w, d_c_w, d_c_b if ctx.has_c_bias else None, d_ih_w, d_ih_b,
        )  # fmt: skip


def _zero_sums(
    weight_hh: Tensor,
    need_bias: bool,
    hh_w: Tensor | None,
    c_w: Tensor | None,
    ih_w: Tensor | None,
    need_ih_bias: bool,
) -> StepGrads:
    """Zeros for the running sums of ∂L/∂b_hh, ∂L/∂γ_h, ∂L/∂γ_c, ∂L/∂β_c, ∂L/∂γ_x, ∂L/∂b_ih (None
    where absent), so that every backward step, the first included, has one signature."""
    gates = weight_hh.new_zeros(weight_hh.shape[0])
    cell = None if c_w is None else torch.zeros_like(c_w)
    return (
        gates if need_bias else None,
        None if hh_w is None else torch.zeros_like(gates),
        cell,
        None if cell is None else torch.zeros_like(cell),
        None if ih_w is None else torch.zeros_like(gates),
        torch.zeros_like(gates) if ih_w is not None and need_ih_bias else None,
    )


def _autograd_loop(
    kind: CellKind,
    nonlinearity: Nonlinearity,
    gx: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    mask: Tensor | None,
    extras: ScanExtras,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """The same recurrence as a plain loop that autograd differentiates, with the variants."""
    if extras.ih_norm is not None:
        gx = extras.ih_norm(gx)
        if extras.ih_bias is not None:
            gx = gx + extras.ih_bias
    h, c = h0, c0
    outputs = []
    for t in range(gx.shape[0]):
        h_in = h if extras.hidden_mask is None else h * extras.hidden_mask
        gh = torch.mm(h_in, weight_hh.t())
        if extras.hh_norm is not None:
            gh = extras.hh_norm(gh)
        if bias_hh is not None:
            gh = gh + bias_hh
        c_new: Tensor | None
        if kind == "lstm":
            assert c is not None
            h_new, c_new = lstm_cell(gx[t], gh, c, extras.cell_norm)
            if extras.weight_hr is not None:
                h_new = torch.mm(h_new, extras.weight_hr.t())
        elif kind == "gru":
            h_new, c_new = gru_cell(gx[t], gh, h), None
        else:
            h_new, c_new = rnn_cell(gx[t], gh, nonlinearity), None
        if mask is None:
            h, c = h_new, c_new
            outputs.append(h_new)
        else:
            m = mask[t]
            outputs.append(torch.where(m, h_new, 0.0))
            h = torch.where(m, h_new, h)
            c = None if c_new is None or c is None else torch.where(m, c_new, c)
    return torch.stack(outputs), h, c


# ---------------------------------------------------------------------- minGRU / minLSTM
def min_scan(
    kind: MinKind, gx: Tensor, h0: Tensor, mask: Tensor | None = None, parallel: bool = True
) -> tuple[Tensor, Tensor]:
    """Run a minGRU or minLSTM over time: h_t = a_t ⊙ h_{t−1} + b_t (see ``rnnlab.cells``).

    gx: (T, B, G·H) input products of every step (G = 2 for minGRU, 3 for minLSTM).
    h0: (B, H) initial state, any sign. mask: (T, B, 1) as for :func:`scan`.
    parallel: the log-space parallel scan over the whole sequence (:func:`log_space_scan`);
        False runs the cell step by step, the definition the scan is tested against (and
        the cheaper choice for a single step of generation).
    Returns (outputs (T, B, H), h_T).
    """
    if not parallel:
        cell = min_gru_cell if kind == "mingru" else min_lstm_cell
        h, outputs = h0, []
        for t in range(gx.shape[0]):
            h_new = cell(gx[t], h)
            if mask is None:
                h = h_new
                outputs.append(h_new)
            else:
                outputs.append(torch.where(mask[t], h_new, 0.0))
                h = torch.where(mask[t], h_new, h)
        return torch.stack(outputs), h
    coefficients = min_gru_log_coefficients if kind == "mingru" else min_lstm_log_coefficients
    log_a, log_b = coefficients(gx)
    if mask is not None:  # past a sequence's end a = 1, b = 0: the state is carried
        log_a = torch.where(mask, log_a, 0.0)
        log_b = torch.where(mask, log_b, _NEGLIGIBLE)
    h = log_space_scan(log_a, log_b, h0)
    return (h if mask is None else torch.where(mask, h, 0.0)), h[-1]


# log b for "no input": exp(−1e4) is 0 in every float type, and unlike −inf it keeps the
# gradient of logcumsumexp finite where a whole chunk is padding.
_NEGLIGIBLE = -1e4


def log_space_scan(log_a: Tensor, log_b: Tensor, h0: Tensor, chunk: int = SCAN_CHUNK) -> Tensor:
    """All states of h_t = a_t ⊙ h_{t−1} + b_t (a_t, b_t > 0) at once, in log space (Heinsen 2023).

    With A_t = Σ_{s≤t} log a_s the recurrence unrolls to

        h_t = e^{A_t} h_0 + Σ_{s≤t} e^{A_t − A_s} b_s
            = e^{A_t} h_0 + exp(A_t + logcumsumexp_{s≤t}(log b_s − A_s))

    — a cumulative sum and a cumulative log-sum-exp, both parallel over t. The h_0 term is
    kept apart, so h_0 may have any sign (and be 0) although the b_t must be positive.

    A_t and the log-sum-exp grow with t in opposite directions and their sum cancels, which
    costs float32 about |A_t|·2⁻²⁴ in relative precision. So the sequence is cut into chunks
    of ``chunk`` steps: each chunk scans from its own start (|A| stays ≤ chunk·max|log a|),
    and a short loop over the T/chunk chunk ends carries the state from one chunk to the next.
    Half precision inputs are scanned in float32. Shapes: log_a, log_b (T, B, H), h0 (B, H)
    → (T, B, H).
    """
    dtype = log_a.dtype
    if dtype in (torch.float16, torch.bfloat16):
        log_a, log_b, h0 = log_a.float(), log_b.float(), h0.float()
    steps = log_a.shape[0]
    size = min(chunk, steps)
    chunks = -(-steps // size)
    pad = chunks * size - steps
    if pad:  # padded steps carry the state (a = 1, b = 0) and are cut off at the end
        log_a = torch.cat((log_a, log_a.new_zeros(pad, *log_a.shape[1:])))
        log_b = torch.cat((log_b, log_b.new_full((pad, *log_b.shape[1:]), _NEGLIGIBLE)))
    log_a = log_a.reshape(chunks, size, *log_a.shape[1:])  # (n, C, B, H)
    log_b = log_b.reshape(chunks, size, *log_b.shape[1:])
    cum = log_a.cumsum(1)  # A within each chunk
    own = torch.exp(cum + torch.logcumsumexp(log_b - cum, dim=1))  # from a zero state at the chunk start
    decay = torch.exp(cum)  # ∏ a from the chunk start
    starts = [h0]
    for k in range(chunks - 1):
        starts.append(decay[k, -1] * starts[-1] + own[k, -1])
    h = decay * torch.stack(starts).unsqueeze(1) + own
    return h.reshape(chunks * size, *h.shape[2:])[:steps].to(dtype)
