"""Attention scores against their formulas computed by hand, and masks that make padding irrelevant."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.attention import AdditiveAttention, DotAttention, GeneralAttention, make_attention

T, B, S, DQ, DK = 3, 2, 5, 6, 4


def brute_force(kind: str, module: torch.nn.Module, q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor):
    """Score, mask, softmax and weighted sum one (t, b, s) at a time, in float64, from the formulas."""
    context = torch.zeros(T, B, k.shape[-1], dtype=torch.float64)
    weights = torch.zeros(T, B, S, dtype=torch.float64)
    for t in range(T):
        for b in range(B):
            real = [s for s in range(S) if mask[s, b]]
            e = []
            for s in real:
                if kind == "additive":
                    W_q, W_k, b_k, v = (
                        module.W_q.weight,
                        module.W_k.weight,
                        module.W_k.bias,
                        module.v.weight[0],
                    )
                    e.append(v @ torch.tanh(W_q @ q[t, b] + W_k @ k[s, b] + b_k))
                elif kind == "general":
                    e.append(q[t, b] @ (module.W_a.weight @ k[s, b]))
                else:
                    e.append(q[t, b] @ k[s, b])
            alpha = torch.softmax(torch.stack(e), dim=0)
            for i, s in enumerate(real):
                weights[t, b, s] = alpha[i]
                context[t, b] += alpha[i] * k[s, b]
    return context, weights


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_attention_matches_its_formula(kind: str) -> None:
    """Context and weights equal e = vᵀtanh(W_q q + W_k h) / qᵀh / qᵀW_a h, softmaxed over real positions."""
    dq = DK if kind == "dot" else DQ
    module = make_attention(kind, dq, DK, 7)
    assert module is not None
    module = module.double()
    q, k = torch.randn(T, B, dq, dtype=torch.float64), torch.randn(S, B, DK, dtype=torch.float64)
    mask = torch.tensor([[1, 1], [1, 1], [1, 1], [1, 0], [0, 0]], dtype=torch.bool)
    context, weights = module(q, k, mask)
    want_context, want_weights = brute_force(kind, module, q, k, mask)
    torch.testing.assert_close(weights, want_weights)
    torch.testing.assert_close(context, want_context)


@pytest.mark.parametrize("module", [AdditiveAttention(DQ, DK, 8), GeneralAttention(DQ, DK)])
def test_padding_gets_no_weight_and_changes_nothing(module: torch.nn.Module) -> None:
    """Whatever the padded positions hold, the weights there are 0 and the context is unchanged."""
    q, k = torch.randn(T, B, DQ), torch.randn(S, B, DK)
    mask = torch.ones(S, B, dtype=torch.bool)
    mask[3:, 1] = False
    context, weights = module(q, k, mask)
    noisy = k.clone()
    noisy[3:, 1] = 1e3 * torch.randn(2, DK)
    context2, weights2 = module(q, noisy, mask)
    assert torch.equal(weights[:, 1, 3:], torch.zeros(T, 2))
    torch.testing.assert_close(context, context2)
    torch.testing.assert_close(weights, weights2)
    torch.testing.assert_close(weights.sum(-1), torch.ones(T, B))


def test_prepared_keys_give_the_same_result() -> None:
    """Passing the keys prepared once (as decoding does every step) equals preparing them inside."""
    module = AdditiveAttention(DQ, DK, 8)
    q, k = torch.randn(T, B, DQ), torch.randn(S, B, DK)
    mask = torch.ones(S, B, dtype=torch.bool)
    a = module(q, k, mask)
    b = module(q, k, mask, prepared=module.prepare(k))
    torch.testing.assert_close(a, b)


def test_errors_name_the_problem() -> None:
    """Dot attention with unequal widths, unknown kinds and wrong shapes raise with the fix in the message."""
    with pytest.raises(ConfigError, match="general"):
        make_attention("dot", 6, 4, 8)
    with pytest.raises(ConfigError, match="options are"):
        make_attention("multiplicative", 6, 4, 8)
    with pytest.raises(ShapeError, match="mask"):
        DotAttention()(torch.randn(T, B, DK), torch.randn(S, B, DK), torch.ones(S + 1, B, dtype=torch.bool))
    with pytest.raises(ShapeError, match="same B"):
        DotAttention()(
            torch.randn(T, B, DK), torch.randn(S, B + 1, DK), torch.ones(S, B + 1, dtype=torch.bool)
        )
