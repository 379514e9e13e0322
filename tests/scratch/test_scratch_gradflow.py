"""Gradient-flow probes: the textbook facts about vanishing and exploding gradients, measured."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.gradflow import measure_cell
from rnnlab.scratch.gradflow import CELL_NAMES, ProbeConfig, probe, probe_model

# Small enough to be fast, long enough to look 50 steps back.
SMALL = {"hidden_size": 32, "length": 60, "samples": 8}


def share(norms: np.ndarray, distance: int) -> float:
    """The fraction of the one-step-back gradient norm that is left at ``distance``."""
    return float(norms[distance] / norms[1])


def test_sigmoid_rnn_gradient_vanishes() -> None:
    """RNN-sigmoid (σ′ ≤ 1/4): the norm 50 steps back is many orders of magnitude below 1 step back."""
    norms = probe(ProbeConfig("rnn-sigmoid", **SMALL)).norms
    assert share(norms, 50) < 1e-10
    assert np.all(np.diff(norms[1:]) < 0)  # it shrinks at every step


def test_relu_rnn_with_large_orthogonal_weights_explodes() -> None:
    """relu with W_hh = 1.5 · orthogonal: the gradient norm grows with the distance.

    With about half the units active, one step multiplies the norm by ≈ 1.5 · √½ ≈ 1.06, so the
    growth is real but modest and varies with the weight draw; over 8 draws at H = 64 the
    geometric mean grows more than 10× in 50 steps, and most single draws grow.
    """
    shares = []
    for seed in range(8):
        result = probe(
            ProbeConfig(
                "rnn-relu", init="orthogonal", scale=1.5, hidden_size=64, length=60, samples=8, seed=seed
            )
        )
        assert result.spectral_radius == pytest.approx(1.5, rel=1e-9)
        shares.append(share(result.norms, 50))
    assert np.exp(np.mean(np.log(shares))) > 10
    assert sum(s > 1 for s in shares) >= 6


def test_lstm_keeps_a_much_larger_share_than_tanh_rnn() -> None:
    """At the same weight scale, LSTM (forget bias 1) keeps > 1000× RNN-tanh's share at distance 50."""
    tanh = probe(ProbeConfig("rnn-tanh", **SMALL)).norms
    lstm = probe(ProbeConfig("lstm", forget_bias=1.0, **SMALL)).norms
    assert share(lstm, 50) > 1e3 * share(tanh, 50)


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("scale", [0.6, 2.0])
def test_numpy_probe_matches_torch_autograd(cell: str, scale: float) -> None:
    """The hand-written ‖∂L_T/∂h_t‖ equals autograd's on torch.nn modules with the same weights, every t."""
    flow = measure_cell(ProbeConfig(cell, hidden_size=16, length=30, samples=4, scale=scale))
    assert flow.numpy_norms.shape == (31,)
    np.testing.assert_allclose(flow.numpy_norms, flow.torch_norms, rtol=1e-8)


def test_orthogonal_init_has_the_requested_spectrum() -> None:
    """Orthogonal init gives W_hh blocks with every singular value equal to the scale (so ρ = scale)."""
    model = probe_model(ProbeConfig("gru", hidden_size=8, init="orthogonal", scale=0.7))
    for block in np.split(model.params["weight_hh_l0"], 3):
        np.testing.assert_allclose(np.linalg.svd(block, compute_uv=False), 0.7, rtol=1e-12)


def test_probe_config_rejects_unknown_cells_and_inits() -> None:
    """Unknown names raise ConfigError listing the options."""
    with pytest.raises(ConfigError, match="options are"):
        ProbeConfig("transformer")
    with pytest.raises(ConfigError, match="options are"):
        ProbeConfig("lstm", init="xavier")
