"""rnnlab.dropout: the law of the mask, its scale, its gradient, and nn.Dropout's behaviour."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnlab.dropout import Dropout, dropout, dropout_mask


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mask_keeps_each_element_with_probability_one_minus_p(p: float) -> None:
    """Over 10⁶ elements the share kept is 1 − p within 5 standard errors, kept values scaled by 1/(1 − p)."""
    torch.manual_seed(0)
    n = 1_000_000
    mask = dropout_mask(torch.empty(n), p)
    kept = mask != 0
    share = kept.double().mean().item()
    assert abs(share - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    torch.testing.assert_close(mask[kept], torch.full_like(mask[kept], 1 / (1 - p)))


def test_gradient_is_the_same_mask() -> None:
    """∂(Σ y)/∂x = m/(1 − p): dropped elements get no gradient, kept ones the scale."""
    torch.manual_seed(1)
    x = torch.randn(200, 30, requires_grad=True)
    y = dropout(x, 0.3)
    (grad,) = torch.autograd.grad(y.sum(), x)
    kept = y != 0
    torch.testing.assert_close(grad[kept], torch.full_like(grad[kept], 1 / 0.7))
    assert not grad[~kept].any()


def test_same_seed_same_mask_and_eval_is_identity() -> None:
    """A fixed seed repeats the mask; in eval mode, with p = 0, the input comes back unchanged."""
    x = torch.randn(50, 40)
    torch.manual_seed(3)
    a = dropout(x, 0.4)
    torch.manual_seed(3)
    b = dropout(x, 0.4)
    assert torch.equal(a, b)
    assert dropout(x, 0.4, training=False) is x
    assert dropout(x, 0.0) is x


def test_module_behaves_like_nn_dropout() -> None:
    """Dropout is an nn.Dropout: same repr, no state, off in eval, everything dropped at p = 1."""
    module = Dropout(0.25)
    assert isinstance(module, nn.Dropout) and module.state_dict() == {}
    x = torch.randn(10, 10)
    assert torch.equal(module.eval()(x), x)
    assert not Dropout(1.0).train()(x).any()
    assert "p=0.25" in repr(module)
