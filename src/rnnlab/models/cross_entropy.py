"""The output layer and its cross-entropy in one pass, a block of rows at a time.

For hidden rows h_i ∈ ℝ^H, an output layer (W ∈ ℝ^{V×H}, b ∈ ℝ^V) and targets y_i,

    ℒ = Σ_i ( log Σ_v exp z_iv − z_{i,y_i} ),        z_i = W h_i + b,

and, with p_i = softmax(z_i) and e_y the one-hot row of y_i,

    ∂ℒ/∂z_i = p_i − e_{y_i},   ∂ℒ/∂h_i = (p_i − e_{y_i}) W,
    ∂ℒ/∂W = Σ_i (p_i − e_{y_i})ᵀ h_i,   ∂ℒ/∂b = Σ_i (p_i − e_{y_i}).

``F.cross_entropy(F.linear(h, W, b), y)`` keeps the (N, V) logits and the (N, V) log-softmax for the
backward pass and makes a fresh (N, V) gradient in it: on a CPU each of those is a new mapping of
tens of megabytes whose pages fault in on first touch, and the softmax runs forward and backward
as separate passes. Here the rows go through in blocks of ``chunk_rows``: the block's logits are
written into one reused buffer, turned into p − e_y in place, and multiplied straight into the
three gradients above. The backward pass only scales them by the incoming gradient, so the (N, V)
matrix never exists (the idea of Liger Kernel's fused linear cross-entropy and of Wijmans et al.
2024, "Cut Your Losses in Large-Vocabulary Language Models").

The gradients are computed in the forward pass whenever one is wanted (grad mode on and an input
requiring it): a training loss is always differentiated, and the alternative, recomputing the
logits in the backward pass, costs one more product of the output layer.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.errors import ShapeError
from rnnlab.models.inputs import check_ids

__all__ = ["CHUNK_BYTES", "chunk_rows_for", "linear_cross_entropy", "linear_cross_entropy_reference"]

# One block of logits: small enough to stay in the cache, with enough rows for the products to
# run at full speed (an output layer of width 128 wants several hundred).
CHUNK_BYTES = 16 * 2**20


def chunk_rows_for(vocab_size: int, itemsize: int = 4) -> int:
    """Rows per block so that one block of logits takes about ``CHUNK_BYTES`` (at least 16 rows)."""
    return max(16, CHUNK_BYTES // max(1, vocab_size * itemsize))


def linear_cross_entropy_reference(
    hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor
) -> Tensor:
    """Σ_i −log softmax(W h_i + b)[y_i] the textbook way: the logits, upcast to float32, then the loss."""
    logits = nn.functional.linear(hidden, weight, bias)
    return nn.functional.cross_entropy(logits.float(), targets, reduction="sum")


def linear_cross_entropy(
    hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor, *, chunk_rows: int = 0
) -> Tensor:
    """Σ_i −log softmax(W h_i + b)[y_i] (a 0-dim tensor) without the (N, V) logits; see the module docstring.

    hidden (N, H), weight (V, H), bias (V,) or None, targets (N,) int64 in [0, V). ``chunk_rows``
    rows go through at a time (0: :func:`chunk_rows_for` the vocabulary). Under autocast the
    reference path runs instead, so low-precision products and a float32 softmax behave exactly
    as ``F.cross_entropy`` on upcast logits does.
    """
    _check(hidden, weight, bias, targets)
    if torch.is_autocast_enabled(hidden.device.type):
        return linear_cross_entropy_reference(hidden, weight, bias, targets)
    rows = chunk_rows or chunk_rows_for(weight.shape[0], weight.element_size())
    b = bias if bias is not None else weight.new_zeros(weight.shape[0])
    loss: Tensor = _LinearCrossEntropy.apply(hidden, weight, b, targets, rows)
    return loss


def _check(hidden: Tensor, weight: Tensor, bias: Tensor | None, targets: Tensor) -> None:
    if hidden.dim() != 2 or weight.dim() != 2 or hidden.shape[1] != weight.shape[1]:
        raise ShapeError(
            f"linear_cross_entropy needs hidden (N, H) and weight (V, H), got {tuple(hidden.shape)} and "
            f"{tuple(weight.shape)}: flatten the time and batch axes of the hidden states first"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(
            f"bias must have shape ({weight.shape[0]},) to match weight, got {tuple(bias.shape)}"
        )
    if targets.shape != hidden.shape[:1] or targets.dtype != torch.long:
        raise ShapeError(
            f"targets must be int64 of shape ({hidden.shape[0]},), one per hidden row; "
            f"got {targets.dtype} {tuple(targets.shape)}"
        )
    check_ids(targets, weight.shape[0], "targets")


class _LinearCrossEntropy(torch.autograd.Function):
    """Forward: the loss and (when wanted) its three gradients; backward: those scaled by ∂out."""

    @staticmethod
    def forward(
        ctx: Any, hidden: Tensor, weight: Tensor, bias: Tensor, targets: Tensor, chunk_rows: int
    ) -> Tensor:
        want = any(ctx.needs_input_grad[:3])
        n, v = hidden.shape[0], weight.shape[0]
        # float64 sum of the blocks: the loss of a whole epoch is added from many of them
        total = torch.zeros((), dtype=torch.float64, device=hidden.device)
        grads = None
        if want:
            grads = (hidden.new_empty(hidden.shape), torch.zeros_like(weight), torch.zeros_like(bias))
        block = torch.empty(min(chunk_rows, n), v, dtype=hidden.dtype, device=hidden.device)
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            h, y = hidden[start:stop], targets[start:stop, None]
            z = block[: stop - start]
            loss, norm = _block_loss(z, h, weight, bias, y)
            total += loss
            if grads is not None:
                _block_gradients(z, norm, h, weight, y, grads, start, stop)
        if grads is not None:
            ctx.save_for_backward(*grads)
        return total.to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        return grad_hidden * grad_out, grad_weight * grad_out, grad_bias * grad_out, None, None


def _block_loss(z: Tensor, h: Tensor, weight: Tensor, bias: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Σ (logsumexp z_i − z_{i,y_i}) over the block, and Σ_v exp(z_iv − max z_i) per row.

    Leaves exp(z − max z), the unnormalised softmax, in ``z``.
    """
    torch.addmm(bias, h, weight.t(), out=z)
    target_logit = z.gather(1, y)
    top = z.amax(1, keepdim=True)
    z.sub_(top).exp_()
    norm = z.sum(1, keepdim=True)
    return (top + norm.log() - target_logit).sum(dtype=torch.float64), norm


def _block_gradients(
    p: Tensor,
    norm: Tensor,
    h: Tensor,
    weight: Tensor,
    y: Tensor,
    grads: tuple[Tensor, Tensor, Tensor],
    start: int,
    stop: int,
) -> None:
    """Turn the block's exp(z − max z) into p − e_y and add its share to ∂ℒ/∂h, ∂ℒ/∂W and ∂ℒ/∂b."""
    grad_hidden, grad_weight, grad_bias = grads
    p.div_(norm)
    p.scatter_add_(1, y, p.new_full(y.shape, -1.0))
    torch.mm(p, weight, out=grad_hidden[start:stop])
    grad_weight.addmm_(p.t(), h)
    grad_bias.add_(p.sum(0))
