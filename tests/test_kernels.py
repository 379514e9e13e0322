"""Each step kernel (forward saving activations, hand-written backward) against autograd of the cells."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor
from torch.nn import functional as F

from rnnlab import kernels
from rnnlab.cells import gru_cell, lstm_cell, rnn_cell

B, H = 3, 4
EPS = 1e-5
KINDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
GRID = list(itertools.product(KINDS, [False, True], [False, True], [False, True]))


def _reference_step(
    kind: str, p: dict[str, Tensor], norm: bool, m: Tensor | None, hmask: Tensor | None
) -> tuple[Tensor, ...]:
    """The step written with the readable cells: (out, h_t, C_t or h_t, next product's input)."""
    gh = (
        F.layer_norm(p["gh_raw"], (p["gh_raw"].shape[1],), p["hh_w"], p["b_hh"], EPS)
        if norm
        else p["gh_raw"] + p["b_hh"]
    )
    c_next = p["c"]
    if kind == "lstm":
        cell_norm = (lambda x: F.layer_norm(x, (H,), p["c_w"], p["c_b"], EPS)) if norm else None
        h_new, c_new = lstm_cell(p["gx"], gh, p["c"], cell_norm)
        c_next = c_new if m is None else torch.where(m, c_new, p["c"])
    elif kind == "gru":
        h_new = gru_cell(p["gx"], gh, p["h"])
    else:
        h_new = rnn_cell(p["gx"], gh, kind.split("_")[1])  # type: ignore[arg-type]
    out = h_new if m is None else torch.where(m, h_new, 0.0)
    h_next = h_new if m is None else torch.where(m, h_new, p["h"])
    return out, h_next, c_next, h_next if hmask is None else h_next * hmask


def _inputs(kind: str) -> dict[str, Tensor]:
    gates = {"lstm": 4, "gru": 3}.get(kind, 1) * H
    shapes = {
        "gx": (B, gates), "gh_raw": (B, gates), "h": (B, H), "c": (B, H),
        "b_hh": (gates,), "hh_w": (gates,), "c_w": (H,), "c_b": (H,),
    }  # fmt: skip
    return {k: torch.randn(s, dtype=torch.float64, requires_grad=True) for k, s in shapes.items()}


@pytest.mark.parametrize(
    "kind,norm,masked,dropped",
    GRID,
    ids=[
        f"{k}-{'ln' if n else 'plain'}-{'len' if m else 'full'}-{'vd' if d else 'nod'}" for k, n, m, d in GRID
    ],
)
def test_kernel_forward_and_backward_equal_autograd_of_the_cells(
    kind: str, norm: bool, masked: bool, dropped: bool
) -> None:
    """Outputs, state and every input gradient of one step equal autograd's (float64, 1e-12)."""
    p = _inputs(kind)
    m = torch.tensor([[True], [False], [True]]) if masked else None
    hmask = torch.tensor([[0.0, 2.0, 2.0, 0.0]], dtype=torch.float64).expand(B, H) if dropped else None
    expected = _reference_step(kind, p, norm, m, hmask)
    hh_w = p["hh_w"] if norm else None
    c_w, c_b = (p["c_w"], p["c_b"]) if norm else (None, None)
    relu = kind == "rnn_relu"
    with torch.no_grad():
        if kind == "lstm":
            out, h, c, h_in, saved = kernels.lstm_forward(
                p["gx"], p["gh_raw"], p["h"], p["c"], m, hmask, p["b_hh"], hh_w, c_w, c_b, EPS
            )
        elif kind == "gru":
            out, h, h_in, saved = kernels.gru_forward(
                p["gx"], p["gh_raw"], p["h"], m, hmask, p["b_hh"], hh_w, EPS
            )
            c = p["c"]
        else:
            out, h, h_in, saved = kernels.rnn_forward(
                p["gx"], p["gh_raw"], p["h"], m, hmask, p["b_hh"], hh_w, EPS, relu
            )
            c = p["c"]
    for a, b in zip((out, h, c, h_in), expected, strict=True):
        torch.testing.assert_close(a, b.detach(), atol=1e-12, rtol=1e-12)

    dout, dh, dc = (torch.randn(B, H, dtype=torch.float64) for _ in range(3))
    wrt = ["gx", "gh_raw", "h", "c", "b_hh", *(["hh_w"] if norm else []), *(["c_w", "c_b"] if norm else [])]
    grads = torch.autograd.grad(
        expected[:3], [p[k] for k in wrt], (dout, dh, dc), allow_unused=True, materialize_grads=True
    )
    auto = dict(zip(wrt, grads, strict=True))
    # ∂L/∂h_t arrives split as dh_mm ⊙ m_hidden + dh_keep; any split must give the same result.
    dh_mm = torch.randn(B, H, dtype=torch.float64)
    dh_keep = dh - (dh_mm if hmask is None else dh_mm * hmask)
    if kind == "lstm":
        d_gx, d_raw, dc_prev, keep, grads = kernels.lstm_backward(
            dh_mm, dh_keep, dout, dc, p["c"].detach(), saved, m, hmask, hh_w, c_w, True
        )
        torch.testing.assert_close(dc_prev, auto["c"], atol=1e-12, rtol=1e-12)
    elif kind == "gru":
        d_gx, d_raw, keep, grads = kernels.gru_backward(
            dh_mm, dh_keep, dout, p["h"].detach(), saved, m, hmask, hh_w, True
        )
    else:
        d_gx, d_raw, keep, grads = kernels.rnn_backward(
            dh_mm, dh_keep, dout, saved, m, hmask, hh_w, relu, True
        )
    torch.testing.assert_close(d_gx, auto["gx"], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(d_raw, auto["gh_raw"], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(keep, auto["h"], atol=1e-12, rtol=1e-12)
    d_bias, d_hh_w, d_c_w, d_c_b = grads
    torch.testing.assert_close(d_bias, auto["b_hh"], atol=1e-12, rtol=1e-12)
    if norm:
        torch.testing.assert_close(d_hh_w, auto["hh_w"], atol=1e-12, rtol=1e-12)
        if kind == "lstm":
            torch.testing.assert_close(d_c_w, auto["c_w"], atol=1e-12, rtol=1e-12)
            torch.testing.assert_close(d_c_b, auto["c_b"], atol=1e-12, rtol=1e-12)
    else:
        assert d_hh_w is None and d_c_w is None and d_c_b is None
