"""The fused output layer + cross-entropy against F.linear + F.cross_entropy and finite differences."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.cross_entropy import chunk_rows_for, linear_cross_entropy

N, H, V = 23, 6, 11


def inputs(dtype: torch.dtype = torch.float64, bias: bool = True, seed: int = 0) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    h = (torch.randn(N, H, generator=g, dtype=dtype) * 2).requires_grad_()
    w = torch.randn(V, H, generator=g, dtype=dtype).requires_grad_()
    b = torch.randn(V, generator=g, dtype=dtype).requires_grad_() if bias else None
    y = torch.randint(0, V, (N,), generator=g)
    return h, w, b, y


def torch_loss(h: Tensor, w: Tensor, b: Tensor | None, y: Tensor) -> Tensor:
    return nn.functional.cross_entropy(nn.functional.linear(h, w, b), y, reduction="sum")


@pytest.mark.parametrize("chunk_rows", [1, 4, 7, N, 100])
@pytest.mark.parametrize("bias", [True, False])
def test_loss_and_gradients_equal_torch_for_any_block_size(chunk_rows: int, bias: bool) -> None:
    """Σ −log softmax(Wh + b)[y] and its gradients equal torch's, however the rows are split into blocks."""
    h, w, b, y = inputs(bias=bias)
    params = [t for t in (h, w, b) if t is not None]
    ours = linear_cross_entropy(h, w, b, y, chunk_rows=chunk_rows)
    ref = torch_loss(h, w, b, y)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    # a non-unit incoming gradient, as the trainer's division by the token count gives
    got = torch.autograd.grad(ours * 0.37, params)
    want = torch.autograd.grad(ref * 0.37, params)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)


def test_gradients_match_finite_differences() -> None:
    """gradcheck: the hand-derived p − e_y gradients agree with central differences (float64)."""
    h, w, b, y = inputs()
    assert torch.autograd.gradcheck(lambda h, w, b: linear_cross_entropy(h, w, b, y, chunk_rows=5), (h, w, b))


def test_float32_matches_torch_within_rounding() -> None:
    """float32: the loss within 1e-5 relative and gradients within 1e-5 of torch's float32 result."""
    h, w, b, y = inputs(torch.float32)
    ours, ref = linear_cross_entropy(h, w, b, y), torch_loss(h, w, b, y)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for a, e in zip(torch.autograd.grad(ours, (h, w, b)), torch.autograd.grad(ref, (h, w, b)), strict=True):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_large_logits_do_not_overflow() -> None:
    """Logits of ±1000 give the exact (finite) loss: the maximum is subtracted before exp."""
    h, w, b, y = inputs()
    with torch.no_grad():
        h.mul_(300.0)
    ours = linear_cross_entropy(h, w, b, y, chunk_rows=4)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, torch_loss(h, w, b, y), rtol=1e-12, atol=1e-9)


def test_without_grad_only_the_loss_is_computed() -> None:
    """Under no_grad (evaluation) the result carries no graph and equals the loss with gradients."""
    h, w, b, y = inputs()
    with torch.no_grad():
        value = linear_cross_entropy(h, w, b, y)
    assert not value.requires_grad
    torch.testing.assert_close(value, torch_loss(h, w, b, y).detach())


def test_empty_batch_gives_zero_loss_and_zero_gradients() -> None:
    """No counted rows: loss 0 and zero gradients (a batch of padding only still backpropagates)."""
    _, w, b, _ = inputs()
    h = torch.zeros(0, H, dtype=torch.float64, requires_grad=True)
    loss = linear_cross_entropy(h, w, b, torch.zeros(0, dtype=torch.long))
    assert float(loss.detach()) == 0.0
    gw, gb = torch.autograd.grad(loss, (w, b))
    assert not gw.any() and not gb.any()


def test_autocast_runs_the_reference_path() -> None:
    """Under CPU bf16 autocast the result is exactly F.cross_entropy on the upcast bf16 logits."""
    h, w, b, y = inputs(torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = linear_cross_entropy(h, w, b, y)
        ref = nn.functional.cross_entropy(nn.functional.linear(h, w, b).float(), y, reduction="sum")
    assert torch.equal(ours, ref)


def test_bad_inputs_name_the_problem() -> None:
    """Shapes that do not fit and targets outside the vocabulary raise errors that say what to do."""
    h, w, b, y = inputs()
    with pytest.raises(ShapeError, match="flatten"):
        linear_cross_entropy(h.unsqueeze(0), w, b, y)
    with pytest.raises(ShapeError, match="bias"):
        linear_cross_entropy(h, w, b[:-1], y)  # type: ignore[index]
    with pytest.raises(ShapeError, match="one per hidden row"):
        linear_cross_entropy(h, w, b, y[:-1])
    with pytest.raises(ConfigError, match="<unk>"):
        linear_cross_entropy(h, w, b, torch.full((N,), V))


def test_block_rows_follow_the_vocabulary() -> None:
    """A block of logits stays near CHUNK_BYTES: fewer rows for a larger vocabulary, never below 16."""
    assert chunk_rows_for(5000) > chunk_rows_for(50_000) >= 16
    assert chunk_rows_for(10**9) == 16
