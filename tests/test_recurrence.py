"""The time loops: the log-space parallel scan and minGRU/minLSTM against naive per-step loops."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from rnnlab.recurrence import log_space_scan, min_scan


def naive_linear_recurrence(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """h_t = a_t ⊙ h_{t−1} + b_t, one step at a time."""
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


def naive_min_cell(kind: str, gx: Tensor, h0: Tensor) -> Tensor:
    """minGRU/minLSTM per step, as Feng et al. (2024) write them (Algorithms 1 and 3, sequential mode)."""

    def g(x: Tensor) -> Tensor:
        return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))

    h, out = h0, []
    for t in range(gx.shape[0]):
        if kind == "mingru":
            k, pre = gx[t].chunk(2, dim=1)
            z = torch.sigmoid(k)
            h = (1 - z) * h + z * g(pre)
        else:
            kf, ki, pre = gx[t].chunk(3, dim=1)
            f, i = torch.sigmoid(kf), torch.sigmoid(ki)
            h = f / (f + i) * h + i / (f + i) * g(pre)
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("steps", [1, 5, 32, 33, 100])
@pytest.mark.parametrize("chunk", [1, 8, 32])
def test_log_space_scan_equals_the_naive_recurrence(steps: int, chunk: int) -> None:
    """Every state of the chunked log-space scan equals the step-by-step loop (float64, 1e-12), any h0."""
    a = torch.rand(steps, 3, 4, dtype=torch.float64) * 0.98 + 0.01
    b = torch.rand(steps, 3, 4, dtype=torch.float64) * 2
    h0 = torch.randn(3, 4, dtype=torch.float64)
    h0[0] = 0.0
    got = log_space_scan(a.log(), b.log(), h0, chunk)
    torch.testing.assert_close(got, naive_linear_recurrence(a, b, h0), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
@pytest.mark.parametrize("steps", [1, 7, 64, 1000])
def test_parallel_sequential_and_naive_min_cells_agree_in_float32(kind: str, steps: int) -> None:
    """States of the parallel scan, the sequential step and the naive loop agree within 1e-5 in float32."""
    gates = 2 if kind == "mingru" else 3
    gx = 2 * torch.randn(steps, 4, gates * 8)
    h0 = torch.randn(4, 8)
    parallel, h_par = min_scan(kind, gx, h0, parallel=True)  # type: ignore[arg-type]
    sequential, h_seq = min_scan(kind, gx, h0, parallel=False)  # type: ignore[arg-type]
    naive = naive_min_cell(kind, gx.double(), h0.double())
    torch.testing.assert_close(sequential, naive.float(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(parallel, naive.float(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(parallel, sequential, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h_par, parallel[-1])
    torch.testing.assert_close(h_seq, sequential[-1])


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_parallel_scan_gradients_equal_the_sequential_ones(kind: str) -> None:
    """Gradients through the scan equal the step loop's: 1e-10 in float64, 1e-4 of their scale in float32."""
    gates = 2 if kind == "mingru" else 3
    lengths = torch.tensor([70, 1, 33])
    mask = (torch.arange(70).unsqueeze(1) < lengths).unsqueeze(2)
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        gx = (2 * torch.randn(70, 3, gates * 5, dtype=torch.float64)).to(dtype)
        h0 = torch.randn(3, 5, dtype=torch.float64).to(dtype)
        weights = torch.sin(torch.arange(70 * 3 * 5, dtype=dtype)).view(70, 3, 5)
        grads = []
        for parallel in (True, False):
            x, h = gx.clone().requires_grad_(), h0.clone().requires_grad_()
            out, last = min_scan(kind, x, h, mask, parallel)  # type: ignore[arg-type]
            grads.append(torch.autograd.grad((out * weights).sum() + (last**2).sum(), [x, h]))
        for a, b in zip(*grads, strict=True):
            assert torch.isfinite(a).all()
            torch.testing.assert_close(a, b, atol=tol * float(b.abs().max()), rtol=0)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_masked_steps_carry_the_state_and_output_zero(kind: str) -> None:
    """Past a sequence's length the scan keeps h and writes 0, even where a whole chunk is padding."""
    gates = 2 if kind == "mingru" else 3
    gx = torch.randn(80, 2, gates * 3)
    lengths = torch.tensor([80, 3])
    mask = (torch.arange(80).unsqueeze(1) < lengths).unsqueeze(2)
    h0 = torch.randn(2, 3)
    out, last = min_scan(kind, gx, h0, mask)  # type: ignore[arg-type]
    short, short_last = min_scan(kind, gx[:3, 1:], h0[1:])  # type: ignore[arg-type]
    torch.testing.assert_close(out[:3, 1:], short)
    torch.testing.assert_close(last[1:], short_last)
    assert torch.all(out[3:, 1] == 0)
