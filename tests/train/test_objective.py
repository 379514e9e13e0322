"""LanguageModelObjective's fused loss against the model's logits through F.cross_entropy."""

from __future__ import annotations

import pytest
import torch

from rnnlab.data.sampling import Batch
from rnnlab.models.rnnlm import RNNLM, RNNLMConfig
from rnnlab.train.objective import LanguageModelObjective

V, T, B = 9, 7, 3


def padded_batch(seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randint(0, V, (T, B), generator=g), torch.randint(0, V, (T, B), generator=g)
    mask = torch.arange(T).unsqueeze(1) < torch.tensor([T, 4, 2])  # columns end in padding
    return Batch(x=x, y=y, mask=mask, reset_state=True)


def torch_loss(model: RNNLM, batch: Batch, count_all: bool) -> tuple[torch.Tensor, int]:
    logits, _ = model(batch.x)
    nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.y.flatten(), reduction="none")
    keep = torch.ones_like(batch.mask) if count_all else batch.mask
    return nll[keep.flatten()].sum(), int(keep.sum())


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("loss_on_padding", [False, True])
def test_fused_loss_and_gradients_equal_the_logits_path(tie: bool, loss_on_padding: bool) -> None:
    """Summed NLL, token count and every parameter's gradient equal F.cross_entropy over the counted targets.

    Tied weights (with the projection H → E) get the output layer's gradient added to the embedding's.
    """
    torch.manual_seed(0)
    config = RNNLMConfig(
        vocab_size=V,
        embed_size=4,
        hidden_size=6,
        num_layers=2,
        tie_weights=tie,
        dropout=0.0,
        layer_dropout=0.0,
    )
    model = RNNLM(config).double().train()
    batch = padded_batch()
    objective = LanguageModelObjective(model, loss_on_padding=loss_on_padding)
    sum_nll, n, state = objective.loss(batch, None)
    ref, n_ref = torch_loss(model, batch, count_all=loss_on_padding)
    assert n == n_ref
    torch.testing.assert_close(sum_nll, ref, rtol=1e-12, atol=1e-12)
    params = list(model.parameters())
    got = torch.autograd.grad(sum_nll / n, params)
    want = torch.autograd.grad(ref / n, params)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-12)
    assert state is not None


def test_fused_and_reference_objectives_agree_in_evaluation() -> None:
    """fused_loss=False (logits, then F.cross_entropy) gives the same loss and count in eval mode."""
    torch.manual_seed(1)
    model = RNNLM(RNNLMConfig(vocab_size=V, embed_size=4, hidden_size=6, num_layers=1)).eval()
    batch = padded_batch(seed=3)
    with torch.no_grad():
        fused, n_fused, _ = LanguageModelObjective(model).loss(batch, None)
        plain, n_plain, _ = LanguageModelObjective(model, fused_loss=False).loss(batch, None)
    assert n_fused == n_plain == batch.n_tokens
    torch.testing.assert_close(fused, plain, rtol=1e-6, atol=1e-6)


def test_dropout_draws_the_same_masks_on_both_paths() -> None:
    """With dropout on and the same seed, the fused and logits paths see the same masks (equal losses)."""
    model = RNNLM(RNNLMConfig(vocab_size=V, embed_size=4, hidden_size=6, num_layers=2, dropout=0.3)).train()
    batch = padded_batch(seed=5)
    torch.manual_seed(7)
    fused, _, _ = LanguageModelObjective(model).loss(batch, None)
    torch.manual_seed(7)
    plain, _, _ = LanguageModelObjective(model, fused_loss=False).loss(batch, None)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
