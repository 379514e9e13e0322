"""Clipping by global norm, SGD and Adam, against torch.optim and torch.nn.utils on the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.scratch.optim import SGD, Adam, clip_by_global_norm


def random_grads(scale: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Three gradient arrays of different shapes."""
    rng = np.random.default_rng(seed)
    return {
        "a": scale * rng.normal(size=(3, 4)),
        "b": scale * rng.normal(size=(5,)),
        "c": scale * rng.normal(size=(2, 2, 2)),
    }


def test_clipping_matches_torch_and_reports_pre_clip_norm() -> None:
    """Above the threshold: rescaled as torch.nn.utils.clip_grad_norm_ does; the pre-clip norm is returned."""
    grads = random_grads(10.0)
    clipped, norm = clip_by_global_norm(grads, max_norm=1.0)
    tensors = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
    for t, g in zip(tensors, grads.values(), strict=True):
        t.grad = torch.from_numpy(g.copy())
    torch_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.0)
    assert norm == pytest.approx(torch_norm.item(), rel=1e-12)
    assert norm == pytest.approx(
        np.linalg.norm(np.concatenate([g.ravel() for g in grads.values()])), rel=1e-12
    )
    for t, name in zip(tensors, grads, strict=True):
        np.testing.assert_allclose(clipped[name], t.grad.numpy(), rtol=1e-6)  # torch adds 1e-6 to the norm


def test_clipping_leaves_small_gradients_alone() -> None:
    """Below the threshold every array comes back unchanged; a non-positive threshold is refused."""
    grads = random_grads(0.01)
    clipped, norm = clip_by_global_norm(grads, max_norm=5.0)
    assert norm < 5.0
    for name, g in grads.items():
        np.testing.assert_array_equal(clipped[name], g)
    with pytest.raises(ConfigError):
        clip_by_global_norm(grads, max_norm=0.0)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (lambda: SGD(lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        (lambda: Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    ],
    ids=["sgd", "sgd-momentum", "adam"],
)
def test_optimizers_match_torch_optim(ours: object, theirs: object) -> None:
    """Five steps with the same gradients leave the parameters where torch.optim leaves them."""
    params = {name: g.copy() for name, g in random_grads(1.0, seed=1).items()}
    tensors = {name: torch.nn.Parameter(torch.from_numpy(p.copy())) for name, p in params.items()}
    opt = ours()  # type: ignore[operator]
    topt = theirs(list(tensors.values()))  # type: ignore[operator]
    for step in range(5):
        grads = random_grads(1.0, seed=10 + step)
        opt.step(params, grads)
        for name, t in tensors.items():
            t.grad = torch.from_numpy(grads[name].copy())
        topt.step()
    for name, t in tensors.items():
        np.testing.assert_allclose(params[name], t.detach().numpy(), rtol=1e-10, atol=1e-12)
