"""Dropout (Srivastava et al. 2014) whose mask is drawn from uniform numbers on the CPU.

    y = x ⊙ m / (1 − p),   m_i ~ Bernoulli(1 − p), drawn as m_i = [u_i ≥ p], u_i ~ U[0, 1)

PyTorch draws the mask with ``bernoulli_``, which on a CPU costs about 9 ns an element against
about 3 ns for ``uniform_`` (2 threads, 2048×256 floats: 6.3 ms a ``F.dropout`` call, 2.4 ms
this way); in the language model's training step the three dropouts took 9% of the time. The
mask has the same law, so only the random stream differs. Elsewhere (CUDA's fused dropout
kernel is already fast) and in evaluation this is ``F.dropout``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Dropout", "dropout", "dropout_mask"]


def dropout_mask(like: Tensor, p: float, shape: tuple[int, ...] | None = None) -> Tensor:
    """m / (1 − p) with m_i = [u_i ≥ p], u ~ U[0, 1), of ``shape`` (default: ``like``'s), ``like``'s dtype."""
    u = torch.rand(shape if shape is not None else like.shape, device=like.device, dtype=like.dtype)
    return u.ge_(p).mul_(1.0 / (1.0 - p))


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``F.dropout(x, p, training)`` with the uniform-drawn mask on a CPU (see the module docstring)."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0 or not x.is_floating_point():
        return nn.functional.dropout(x, p, training)
    return x * dropout_mask(x, p)


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same arguments, same behaviour) through :func:`dropout`."""

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return nn.functional.dropout(x, self.p, self.training, inplace=True)
        return dropout(x, self.p, self.training)
