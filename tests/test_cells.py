"""Cells against torch.nn's cells (copied weights); the min cells against their log-space form."""

from __future__ import annotations

import pytest
import torch

from rnnlab.cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    g,
    gru_cell,
    log_g,
    min_gru_cell,
    min_gru_log_coefficients,
    min_lstm_cell,
    min_lstm_log_coefficients,
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


def test_gru_update_gate_conventions_map_by_negation() -> None:
    """H = (1 − Z′) H_{t−1} + Z′ H̃ (Chung et al.) with Z′ = σ(−a_z) is our H = Z H_{t−1} + (1 − Z) H̃."""
    gx, gh, h = (t.detach() for t in _inputs(3))
    xr, xz, xn = gx.chunk(3, 1)
    hr, hz, hn = gh.chunk(3, 1)
    z_other = torch.sigmoid(-(xz + hz))  # the other convention's gate, weights negated
    n = torch.tanh(xn + torch.sigmoid(xr + hr) * hn)
    other = (1 - z_other) * h + z_other * n
    torch.testing.assert_close(gru_cell(gx, gh, h), other, atol=1e-12, rtol=0)


def test_g_is_positive_continuous_and_its_log_has_finite_gradients() -> None:
    """g(x) = x + ½ (x ≥ 0), σ(x) (x < 0) is positive and continuous at 0; log g's gradient is finite."""
    x = torch.linspace(-30, 30, 601, dtype=torch.float64, requires_grad=True)
    assert torch.all(g(x) > 0)
    torch.testing.assert_close(log_g(x), torch.log(g(x)))
    (grad,) = torch.autograd.grad(log_g(x).sum(), x)
    assert torch.isfinite(grad).all()
    zero = torch.tensor([0.0, -1e-12], dtype=torch.float64)
    torch.testing.assert_close(g(zero)[0], g(zero)[1])


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_min_cells_equal_their_log_space_coefficients(kind: str) -> None:
    """The step h_t = a ⊙ h + b equals exp(log a) ⊙ h + exp(log b) from the log-space form (1e-12)."""
    gates = 2 if kind == "mingru" else 3
    gx = 3 * torch.randn(1, 5, gates * 4, dtype=torch.float64)
    h = torch.randn(5, 4, dtype=torch.float64)
    cell = min_gru_cell if kind == "mingru" else min_lstm_cell
    log_a, log_b = (min_gru_log_coefficients if kind == "mingru" else min_lstm_log_coefficients)(gx)
    expected = torch.exp(log_a[0]) * h + torch.exp(log_b[0])
    torch.testing.assert_close(cell(gx[0], h), expected, atol=1e-12, rtol=1e-12)
