"""Forecaster shapes, k = 1 recursive equals one-step, and no future leakage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.forecast.predict import direct, k_step, one_step
from rnnlab.models.forecasters import FORECASTERS, ForecasterConfig, build_forecaster

KINDS = list(FORECASTERS)


def _model(kind: str, outputs: int = 1) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_forecaster(ForecasterConfig(kind=kind, tau=5, hidden_size=8, outputs=outputs)).eval()


def _z(n: int = 60) -> np.ndarray:
    return np.random.default_rng(1).normal(size=n)


@pytest.mark.parametrize("kind", KINDS)
def test_shapes(kind: str) -> None:
    """(T, B) in → (T, B, H) out; the state continues a sequence exactly as one long call."""
    model = _model(kind, outputs=3)
    x = torch.randn(12, 4)
    y, _state = model(x)
    assert y.shape == (12, 4, 3)
    y1, s1 = model(x[:7])
    y2, _ = model(x[7:], s1)
    torch.testing.assert_close(torch.cat([y1, y2]), y)
    with pytest.raises(ShapeError, match=r"\(T, B\)"):
        model(torch.randn(12, 4, 1))


def test_config_rejects_unknown_keys_and_kinds() -> None:
    """from_dict lists the valid options; an unknown kind lists the forecasters."""
    with pytest.raises(ConfigError, match="valid options"):
        ForecasterConfig.from_dict({"kind": "gru", "hiden_size": 3})
    with pytest.raises(ConfigError, match="options are"):
        ForecasterConfig(kind="transformer")
    cfg = ForecasterConfig(kind="lstm", hidden_size=7)
    assert ForecasterConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("kind", KINDS)
def test_k1_recursive_equals_one_step(kind: str) -> None:
    """k_step(k=1) from each origin (state built step by step) equals one_step (one forward pass)."""
    model, z = _model(kind), _z()
    origins = np.arange(10, 59)
    np.testing.assert_allclose(k_step(model, z, origins, 1)[:, 0], one_step(model, z)[origins], atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_no_future_leakage(kind: str) -> None:
    """Perturbing every value after a cut c changes no one-step prediction made at t ≤ c and no
    k-step path from an origin ≤ c (the paths use only z_{≤t} and their own predictions)."""
    model, z = _model(kind), _z()
    cut = 30
    changed = z.copy()
    changed[cut + 1 :] += np.random.default_rng(2).normal(5.0, 3.0, size=len(z) - cut - 1)
    a, b = one_step(model, z), one_step(model, changed)
    np.testing.assert_array_equal(a[: cut + 1], b[: cut + 1])
    assert not np.allclose(a[cut + 1 :], b[cut + 1 :])  # the perturbation is visible after the cut
    origins = np.arange(5, cut + 1)
    np.testing.assert_array_equal(k_step(model, z, origins, 16), k_step(model, changed, origins, 16))


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_direct_and_recursive_shapes(kind: str) -> None:
    """direct gives (B, H) from an H-output head; k_step gives (B, k) for any k, even k > H."""
    model, z = _model(kind, outputs=4), _z()
    origins = np.array([20, 25, 40])
    assert direct(model, z, origins).shape == (3, 4)
    assert k_step(model, z, origins, 9).shape == (3, 9)
    with pytest.raises(ShapeError, match="origins"):
        k_step(model, z, np.array([70]), 2)
