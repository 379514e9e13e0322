"""Cells against torch.nn's cells (copied weights) and their hand-written derivatives against autograd."""

from __future__ import annotations

import pytest
import torch

from rnnlab.cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    gru_cell,
    gru_cell_backward,
    lstm_cell,
    lstm_cell_backward,
    rnn_cell,
    rnn_cell_backward,
)
from rnnlab.errors import ConfigError, ShapeError

DTYPES = [(torch.float32, 1e-5), (torch.float64, 1e-10)]


def _pair(
    kind: str, dtype: torch.dtype, nonlinearity: str = "tanh"
) -> tuple[torch.nn.Module, torch.nn.Module]:
    if kind == "rnn":
        ours: torch.nn.Module = RNNCell(3, 4, nonlinearity=nonlinearity, dtype=dtype)
        ref: torch.nn.Module = torch.nn.RNNCell(3, 4, nonlinearity=nonlinearity, dtype=dtype)
    elif kind == "lstm":
        ours, ref = LSTMCell(3, 4, dtype=dtype), torch.nn.LSTMCell(3, 4, dtype=dtype)
    else:
        ours, ref = GRUCell(3, 4, dtype=dtype), torch.nn.GRUCell(3, 4, dtype=dtype)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize(
    "kind,nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_cell_matches_torch_nn_cell(kind: str, nonlinearity: str, dtype: torch.dtype, tol: float) -> None:
    """A cell with torch.nn's weights gives torch.nn's next state and the same gradients."""
    ours, ref = _pair(kind, dtype, nonlinearity)
    x = torch.randn(5, 3, dtype=dtype)
    h = torch.randn(5, 4, dtype=dtype)
    state = (h, torch.randn(5, 4, dtype=dtype)) if kind == "lstm" else h

    def run(module: torch.nn.Module) -> list[torch.Tensor]:
        out = module(x, state)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum((o * torch.linspace(-1, 1, o.numel(), dtype=dtype).view_as(o)).sum() for o in outs)
        return [*outs, *torch.autograd.grad(loss, list(module.parameters()))]

    for a, b in zip(run(ours), run(ref), strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


def test_cells_accept_unbatched_input_like_torch() -> None:
    """An unbatched (I,) input gives an unbatched (H,) state, equal to torch.nn's."""
    ours, ref = _pair("lstm", torch.float64)
    x = torch.randn(3, dtype=torch.float64)
    for a, b in zip(ours(x), ref(x), strict=True):
        assert a.shape == (4,)
        torch.testing.assert_close(a, b)


def test_cell_rejects_wrong_input_and_state_sizes() -> None:
    """Wrong feature count or state shape raises ShapeError naming the expected shape."""
    cell = GRUCell(3, 4)
    with pytest.raises(ShapeError, match=r"\(batch, 3\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ShapeError, match=r"\(2, 4\)"):
        cell(torch.randn(2, 3), torch.randn(2, 5))
    with pytest.raises(ConfigError, match="options are"):
        RNNCell(3, 4, nonlinearity="sigmoid")


def _inputs(gates: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    shape = (3, gates * 4)
    gx = torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=True)
    gh = torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=True)
    h = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    return gx, gh, h


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_backward_equals_autograd(nonlinearity: str) -> None:
    """∂L/∂a = ∂L/∂s ⊙ f′(a) as written by hand equals autograd's gradient of gx and gh."""
    gx, gh, _ = _inputs(1)
    s = rnn_cell(gx, gh, nonlinearity)  # type: ignore[arg-type]
    ds = torch.randn_like(s)
    d_gx, d_gh = torch.autograd.grad(s, [gx, gh], ds)
    da = rnn_cell_backward(s.detach(), ds, nonlinearity)  # type: ignore[arg-type]
    torch.testing.assert_close(da, d_gx, atol=1e-12, rtol=0)
    torch.testing.assert_close(da, d_gh, atol=1e-12, rtol=0)


def test_lstm_cell_backward_equals_autograd() -> None:
    """The hand-written LSTM step derivative (gates and C_{t−1}) equals autograd's."""
    gx, gh, c = _inputs(4)
    h_next, c_next = lstm_cell(gx, gh, c)
    dh, dc = torch.randn_like(h_next), torch.randn_like(c_next)
    d_gx, d_gh, d_c = torch.autograd.grad((h_next, c_next), [gx, gh, c], (dh, dc))
    da, dc_prev = lstm_cell_backward(gx.detach(), gh.detach(), c.detach(), c_next.detach(), dh, dc)
    for ours, ref in ((da, d_gx), (da, d_gh), (dc_prev, d_c)):
        torch.testing.assert_close(ours, ref, atol=1e-12, rtol=0)


def test_gru_cell_backward_equals_autograd() -> None:
    """The hand-written GRU step derivative (gx, gh and the direct path to H_{t−1}) equals autograd's."""
    gx, gh, h = _inputs(3)
    h_next = gru_cell(gx, gh, h)
    dh = torch.randn_like(h_next)
    d_gx, d_gh, d_h = torch.autograd.grad(h_next, [gx, gh, h], dh)
    ours = gru_cell_backward(gx.detach(), gh.detach(), h.detach(), dh)
    for a, b in zip(ours, (d_gx, d_gh, d_h), strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_gru_update_gate_conventions_map_by_negation() -> None:
    """H = (1 − Z′) H_{t−1} + Z′ H̃ (Chung et al.) with Z′ = σ(−a_z) is our H = Z H_{t−1} + (1 − Z) H̃."""
    gx, gh, h = (t.detach() for t in _inputs(3))
    xr, xz, xn = gx.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    z_other = torch.sigmoid(-(xz + hz))  # the other convention's gate, weights negated
    n = torch.tanh(xn + torch.sigmoid(xr + hr) * hn)
    other = (1 - z_other) * h + z_other * n
    torch.testing.assert_close(gru_cell(gx, gh, h), other, atol=1e-12, rtol=0)
