"""Prediction: k = 1 recursive equals one-step, no future leakage through the target or past
covariates, future covariates are read, sampled paths, direct heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import ShapeError
from rnnlab.forecast.predict import direct, direct_parameters, k_step, one_step, sample_paths
from rnnlab.models.conv import ConvConfig
from rnnlab.models.forecasters import FORECASTERS, ForecasterConfig, build_forecaster

KINDS = list(FORECASTERS)
CONV = ConvConfig(channels=(4,), kernel_sizes=(3,), causal=True)


def _model(kind: str, **settings: object) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = ForecasterConfig.from_dict({"kind": kind, "tau": 5, "hidden_size": 8, **settings})
    return build_forecaster(cfg).eval()


def _x(n: int = 60, channels: int = 1) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, channels))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("covariates", [False, True])
def test_k1_recursive_equals_one_step(kind: str, covariates: bool) -> None:
    """k_step(k=1) from each origin (state built step by step) equals one_step (one forward pass)."""
    settings = {"past_covariates": 2, "future_covariates": 1} if covariates else {}
    model = _model(kind, **settings)
    x = _x(channels=model.config.input_size)
    origins = np.arange(10, 59)
    np.testing.assert_allclose(k_step(model, x, origins, 1)[:, 0], one_step(model, x)[origins], atol=1e-6)


@pytest.mark.parametrize("kind", [*KINDS, "cnn-gru"])
def test_no_future_leakage_through_target_or_past_covariates(kind: str) -> None:
    """Perturbing the target and the past covariates after a cut c changes no one-step prediction made
    at t ≤ c and no k-step or sampled path from an origin ≤ c; perturbing the *future* covariates after
    c does change the paths (they are known ahead and read)."""
    conv = {"conv": CONV.to_dict()} if kind == "cnn-gru" else {}
    model = _model(kind.removeprefix("cnn-"), past_covariates=2, future_covariates=1, likelihood="gaussian",
                   **conv)  # fmt: skip
    x = _x(channels=4)
    cut = 30
    changed = x.copy()
    changed[cut + 1 :, :3] += np.random.default_rng(2).normal(5.0, 3.0, size=(len(x) - cut - 1, 3))
    a, b = one_step(model, x), one_step(model, changed)
    np.testing.assert_array_equal(a[: cut + 1], b[: cut + 1])
    assert not np.allclose(a[cut + 1 :], b[cut + 1 :])  # the perturbation is visible after the cut
    origins = np.arange(5, cut + 1)
    np.testing.assert_array_equal(k_step(model, x, origins, 16), k_step(model, changed, origins, 16))
    np.testing.assert_array_equal(sample_paths(model, x, origins, 8, samples=5),
                                  sample_paths(model, changed, origins, 8, samples=5))  # fmt: skip
    future = x.copy()
    future[cut + 2 :, 3] += 3.0
    assert not np.allclose(k_step(model, x, [cut], 8), k_step(model, future, [cut], 8))


def test_sampled_paths_follow_the_head() -> None:
    """Paths are (B, K, k), reproducible by seed, different across seeds; their first step has the
    head's one-step mean and standard deviation (within sampling error)."""
    model = _model("gru", likelihood="gaussian")
    z = _x()[:, 0]
    paths = sample_paths(model, z, [20, 40], 5, samples=4000, seed=3)
    assert paths.shape == (2, 4000, 5)
    np.testing.assert_array_equal(
        paths[:, :10], sample_paths(model, z, [20, 40], 5, samples=4000, seed=3)[:, :10]
    )
    assert not np.allclose(paths[:, :10], sample_paths(model, z, [20, 40], 5, samples=4000, seed=4)[:, :10])
    theta = direct_parameters(model, z, [20, 40])[:, 0]  # (B, S) of the next step
    np.testing.assert_allclose(
        paths[:, :, 0].mean(axis=1), theta[:, 0], atol=4 * theta[:, 1].max() / np.sqrt(4000)
    )
    np.testing.assert_allclose(paths[:, :, 0].std(axis=1), theta[:, 1], rtol=0.05)


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_direct_and_recursive_shapes(kind: str) -> None:
    """direct gives (B, H) from an H-output head; k_step gives (B, k) for any k, even k > H."""
    model = _model(kind, outputs=4)
    z = _x()[:, 0]
    origins = np.array([20, 25, 40])
    assert direct(model, z, origins).shape == (3, 4)
    assert k_step(model, z, origins, 9).shape == (3, 9)
    with pytest.raises(ShapeError, match="origins"):
        k_step(model, z, np.array([70]), 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_prediction_on_cuda_matches_cpu() -> None:
    """A CNN-GRU with covariates and a Gaussian head predicts the same on the GPU as on the CPU, and
    samples paths there (the RNG fork covers the device)."""
    model = _model("gru", past_covariates=1, future_covariates=1, likelihood="gaussian", conv=CONV.to_dict())
    x = _x(channels=3)
    cpu = k_step(model, x, [20, 30], 6)
    gpu_model = model.cuda()
    np.testing.assert_allclose(k_step(gpu_model, x, [20, 30], 6), cpu, atol=1e-4)
    assert sample_paths(gpu_model, x, [20, 30], 6, samples=7).shape == (2, 7, 6)
