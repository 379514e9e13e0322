"""Running one cell over a sequence: the time loop of one layer in one direction.

Two loops compute the same function:

* :func:`scan` with ``bptt=True`` runs the cells of :mod:`rnnlab.cells` step by step and
  back-propagates through time by hand (:class:`_BPTTScan`, using the ``*_backward``
  functions). Autograd sees one node per layer instead of a dozen per step, which is what
  makes the reference path fast enough to train with; the backward pass keeps only one
  matrix product per step and gathers ∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1} in a single product at
  the end.
* ``bptt=False`` is a plain autograd loop. It is slower but takes every variant the
  layers offer (layer normalisation, variational hidden dropout, LSTM projections).

Variable-length batches use a mask (T, B, 1): where it is 0 the state is carried through
unchanged and the output is zero, exactly what ``torch.nn`` does with packed sequences::

    t:      0   1   2   3   4
    b=0:    x   x   x   x   x      length 5
    b=1:    x   x   x   ·   ·      length 3: steps 3, 4 keep h_2 and output 0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.cells import (
    Nonlinearity,
    gru_cell,
    gru_cell_backward,
    lstm_cell,
    lstm_cell_backward,
    rnn_cell,
    rnn_cell_backward,
)

CellKind = Literal["rnn", "lstm", "gru"]


@dataclass
class ScanExtras:
    """What the autograd loop supports beyond the plain cells (all optional).

    hidden_mask: variational dropout mask (B, H) applied to h_{t−1} before W_hh, the same
        at every step (Gal & Ghahramani 2016).
    hh_norm: layer normalisation of h_{t−1} W_hhᵀ before the bias (Ba et al. 2016).
    cell_norm: layer normalisation of C_t inside tanh (LSTM only).
    weight_hr: LSTM projection (P, H): h_t = (o_t ⊙ tanh C_t) W_hrᵀ.
    """

    hidden_mask: Tensor | None = None
    hh_norm: Callable[[Tensor], Tensor] | None = None
    cell_norm: Callable[[Tensor], Tensor] | None = None
    weight_hr: Tensor | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.hidden_mask, self.hh_norm, self.cell_norm, self.weight_hr))


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
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run a cell over time.

    gx: (T, B, G·H) input products x_t W_ihᵀ + b_ih for every step.
    h0, c0: (B, H) initial state (c0 for LSTM only).
    mask: (T, B, 1) bool, True where step t is inside sequence b, or None when every
        sequence has length T.
    Returns (outputs (T, B, H), h_T, c_T or None).
    """
    if bptt and extras is None:
        if torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (gx, h0, c0, weight_hh, bias_hh)
        ):
            out: tuple[Tensor, Tensor, Tensor | None] = _BPTTScan.apply(
                kind, nonlinearity, gx, h0, c0, weight_hh, bias_hh, mask
            )
            return out
        outputs, hs, cs, _ = _forward_loop(kind, nonlinearity, gx, h0, c0, weight_hh, bias_hh, mask, False)
        return outputs, hs[-1], None if cs is None else cs[-1]
    return _autograd_loop(kind, nonlinearity, gx, h0, c0, weight_hh, bias_hh, mask, extras or ScanExtras())


def _hidden_product(h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    return torch.mm(h, weight_hh.t()) if bias_hh is None else torch.addmm(bias_hh, h, weight_hh.t())


def _step(
    kind: CellKind, nonlinearity: Nonlinearity, gx: Tensor, gh: Tensor, h: Tensor, c: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    if kind == "lstm":
        assert c is not None
        return lstm_cell(gx, gh, c)
    if kind == "gru":
        return gru_cell(gx, gh, h), None
    return rnn_cell(gx, gh, nonlinearity), None


def _forward_loop(
    kind: CellKind,
    nonlinearity: Nonlinearity,
    gx: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    mask: Tensor | None,
    keep: bool,
) -> tuple[Tensor, list[Tensor], list[Tensor] | None, list[Tensor]]:
    """The time loop without autograd; ``keep`` stores what the hand-written backward needs."""
    h, c = h0, c0
    hs, cs, ghs, outputs = [h0], None if c0 is None else [c0], [], []
    for t in range(gx.shape[0]):
        gh = _hidden_product(h, weight_hh, bias_hh)
        h_new, c_new = _step(kind, nonlinearity, gx[t], gh, h, c)
        if mask is None:
            outputs.append(h_new)
            h, c = h_new, c_new
        else:
            m = mask[t]
            outputs.append(torch.where(m, h_new, 0.0))
            h = torch.where(m, h_new, h)
            c = None if c_new is None or c is None else torch.where(m, c_new, c)
        if keep:
            ghs.append(gh)
        hs.append(h)
        if cs is not None:
            assert c is not None
            cs.append(c)
    return torch.stack(outputs), hs, cs, ghs


class _BPTTScan(torch.autograd.Function):
    """Back-propagation through time, written out (see ``rnnlab.cells`` for each step's derivative)."""

    @staticmethod
    def forward(
        ctx: Any,
        kind: CellKind,
        nonlinearity: Nonlinearity,
        gx: Tensor,
        h0: Tensor,
        c0: Tensor | None,
        weight_hh: Tensor,
        bias_hh: Tensor | None,
        mask: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        outputs, hs, cs, ghs = _forward_loop(kind, nonlinearity, gx, h0, c0, weight_hh, bias_hh, mask, True)
        h_all = torch.stack(hs)
        c_all = None if cs is None else torch.stack(cs)
        ctx.kind, ctx.nonlinearity = kind, nonlinearity
        ctx.has_bias = bias_hh is not None
        ctx.save_for_backward(gx, torch.stack(ghs), h_all, c_all, weight_hh, mask)
        c_last = None if c_all is None else c_all[-1]
        return outputs, h_all[-1], c_last

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, d_outputs: Tensor, d_h_last: Tensor | None, d_c_last: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        gx, gh, h_all, c_all, weight_hh, mask = ctx.saved_tensors
        kind: CellKind = ctx.kind
        steps = gx.shape[0]
        dh = torch.zeros_like(h_all[0]) if d_h_last is None else d_h_last.clone()
        dc = None
        if kind == "lstm":
            dc = torch.zeros_like(c_all[0]) if d_c_last is None else d_c_last.clone()
        d_gx = torch.empty_like(gx)
        d_gh = torch.empty_like(gh) if kind == "gru" else d_gx  # RNN/LSTM: ∂L/∂gh = ∂L/∂gx
        for t in range(steps - 1, -1, -1):
            # Inside a sequence (m true) h_t = out_t = h_new; past its end h_t = h_{t−1} and
            # out_t = 0. So h_new receives dh + dout where m holds, and h_{t−1} keeps dh elsewhere.
            m = None if mask is None else mask[t]
            d_new = dh + d_outputs[t]
            if m is not None:
                d_new = torch.where(m, d_new, 0.0)
            if kind == "lstm":
                assert dc is not None
                dc_new = dc if m is None else torch.where(m, dc, 0.0)
                d_gx[t], dc_prev = lstm_cell_backward(gx[t], gh[t], c_all[t], c_all[t + 1], d_new, dc_new)
                dc = dc_prev if m is None else torch.where(m, dc_prev, dc)
                dh_prev = torch.mm(d_gx[t], weight_hh)
            elif kind == "gru":
                d_gx[t], d_gh[t], dh_direct = gru_cell_backward(gx[t], gh[t], h_all[t], d_new)
                dh_prev = torch.addmm(dh_direct, d_gh[t], weight_hh)
            else:
                d_gx[t] = rnn_cell_backward(h_all[t + 1], d_new, ctx.nonlinearity)
                dh_prev = torch.mm(d_gx[t], weight_hh)
            dh = dh_prev if m is None else torch.where(m, dh_prev, dh)
        flat_d_gh = d_gh.reshape(-1, d_gh.shape[-1])
        d_weight_hh = torch.mm(flat_d_gh.t(), h_all[:-1].reshape(-1, h_all.shape[-1]))
        d_bias_hh = flat_d_gh.sum(0) if ctx.has_bias else None
        return None, None, d_gx, dh, dc, d_weight_hh, d_bias_hh, None


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
        else:
            h_new, c_new = _step(kind, nonlinearity, gx[t], gh, h, c)
        if mask is None:
            h, c = h_new, c_new
            outputs.append(h_new)
        else:
            m = mask[t]
            outputs.append(torch.where(m, h_new, 0.0))
            h = torch.where(m, h_new, h)
            c = None if c_new is None or c is None else torch.where(m, c_new, c)
    return torch.stack(outputs), h, c
