"""Input layers that turn token ids into vectors: one-hot encoding or a learned embedding.

Both map ids of shape ``(T, B)`` (or any shape ``S``) to vectors of shape ``S + (d,)``:

* ``OneHot(V)``: ``x = e_{id}`` ∈ {0, 1}^V, no parameters; the first recurrent layer then computes
  ``W_xh x = W_xh[:, id]``, a column lookup done as a dense V-wide matrix product.
* ``nn.Embedding(V, d)``: ``x = E[id]`` ∈ ℝ^d, the same column lookup done directly, with d ≪ V.

A one-hot input followed by a linear map is mathematically an embedding (E = W_xhᵀ), but it costs
O(T·B·V) memory for the inputs and O(T·B·V·H) multiply-adds instead of O(T·B·H); see
``benchmarks/onehot_vs_embedding.py`` for measured numbers.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import ConfigError, ShapeError

InputKind = Literal["onehot", "embedding"]


def check_ids(ids: torch.Tensor, vocab_size: int, what: str = "token ids") -> None:
    """Raise ConfigError, naming the range found and the fix, unless every id lies in [0, vocab_size)."""
    if ids.numel() == 0:
        return
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        raise ConfigError(
            f"{what} must lie in [0, {vocab_size}), got [{low}, {high}]: "
            "map unknown tokens to <unk> with the model's vocabulary"
        )


class OneHot(nn.Module):
    """``ids (…) long → (…, vocab_size)`` float one-hot vectors; no parameters."""

    def __init__(self, vocab_size: int, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ConfigError(f"vocab_size must be positive, got {vocab_size}")
        self.vocab_size = vocab_size
        # An empty buffer carries the dtype, so model.to(torch.float64) gives float64 one-hots
        # that match the layer after it; it holds no data and is not saved.
        self.register_buffer("_anchor", torch.zeros(0, dtype=dtype), persistent=False)

    @property
    def dtype(self) -> torch.dtype:
        return self.get_buffer("_anchor").dtype

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """One-hot encode ``ids`` (an integer tensor with values in 0..vocab_size−1)."""
        if ids.dtype in (torch.float16, torch.float32, torch.float64, torch.bfloat16, torch.bool):
            raise ShapeError(f"OneHot expects integer token ids, got a {ids.dtype} tensor; pass ids.long()")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size):
            raise ShapeError(
                f"token ids must lie in 0..{self.vocab_size - 1}, "
                f"got range {int(ids.min())}..{int(ids.max())}; "
                "is the vocabulary the one the model was built with?"
            )
        return F.one_hot(ids.long(), self.vocab_size).to(self.dtype)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}"


def make_input_layer(
    kind: InputKind, vocab_size: int, embedding_dim: int | None = None
) -> tuple[nn.Module, int]:
    """The input layer and its output width: ``("onehot", V)`` → (OneHot(V), V);
    ``("embedding", V, d)`` → (nn.Embedding(V, d), d)."""
    if kind == "onehot":
        return OneHot(vocab_size), vocab_size
    if kind == "embedding":
        if embedding_dim is None or embedding_dim < 1:
            raise ConfigError(f"an embedding input needs embedding_dim >= 1, got {embedding_dim}")
        return nn.Embedding(vocab_size, embedding_dim), embedding_dim
    raise ConfigError(f"unknown input kind {kind!r}; options are ['onehot', 'embedding']")
