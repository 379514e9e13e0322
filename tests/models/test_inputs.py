"""One-hot and embedding input layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.inputs import OneHot, make_input_layer


def test_onehot_matches_identity_rows_and_has_no_parameters() -> None:
    """OneHot(V)(ids) equals rows of the V×V identity, for any id shape, with no parameters."""
    ids = torch.randint(0, 11, (5, 3))
    out = OneHot(11)(ids)
    assert out.shape == (5, 3, 11) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.eye(11)[ids])
    assert list(OneHot(11).parameters()) == []


def test_onehot_then_linear_equals_embedding_with_transposed_weight() -> None:
    """Linear(V→d, no bias) on one-hot inputs equals nn.Embedding with E = Wᵀ, values and gradients."""
    vocab, dim = 13, 4
    linear = nn.Linear(vocab, dim, bias=False).double()
    onehot, _ = make_input_layer("onehot", vocab)
    embedding, width = make_input_layer("embedding", vocab, dim)
    assert width == dim and isinstance(embedding, nn.Embedding)
    embedding = embedding.double()
    with torch.no_grad():
        embedding.weight.copy_(linear.weight.T)
    ids = torch.randint(0, vocab, (7, 2))
    a = linear(onehot(ids).double())
    b = embedding(ids)
    torch.testing.assert_close(a, b)
    a.square().sum().backward()
    b.square().sum().backward()
    torch.testing.assert_close(linear.weight.grad.T, embedding.weight.grad)  # type: ignore[union-attr]


def test_bad_inputs() -> None:
    """Float ids, ids out of range and unknown kinds raise errors that say what to pass."""
    with pytest.raises(ShapeError, match="integer token ids"):
        OneHot(5)(torch.zeros(3))
    with pytest.raises(ShapeError, match=r"0\.\.4"):
        OneHot(5)(torch.tensor([5]))
    with pytest.raises(ConfigError, match="options are"):
        make_input_layer("bag", 5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="embedding_dim"):
        make_input_layer("embedding", 5)
