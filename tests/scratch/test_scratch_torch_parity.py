"""The NumPy models against torch.nn.RNN/LSTM/GRU + torch.nn.Linear holding the same weights (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.scratch.gradcheck import relative_error
from tests.scratch.scratch_helpers import CELLS, make_model, tokens, torch_grads, torch_twin

STEPS, BATCH, VOCAB, HIDDEN = 7, 3, 6, 5


def torch_loss(
    rnn: torch.nn.Module, out: torch.nn.Linear, x: np.ndarray, y: np.ndarray, state: object
) -> torch.Tensor:
    """Σ_t mean_b cross-entropy of Linear(rnn(onehot(x))) — the scratch model's loss, built by torch."""
    onehot = torch.nn.functional.one_hot(torch.from_numpy(x), VOCAB).double()
    hidden, _ = rnn(onehot, state)
    logits = out(hidden)
    ce = torch.nn.functional.cross_entropy(
        logits.reshape(-1, VOCAB), torch.from_numpy(y).reshape(-1), reduction="sum"
    )
    return ce / x.shape[1]


def zero_state(cell: str, layers: int) -> object:
    """torch's initial state for the twin: h0, or (h0, c0) for the LSTM."""
    h0 = torch.zeros(layers, BATCH, HIDDEN, dtype=torch.float64)
    return (h0, h0.clone()) if cell == "lstm" else h0


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_loss_and_gradients_match_torch_autograd(cell: str, layers: int) -> None:
    """Same weights give the same loss and, via autograd, the same gradient for every parameter (1e-8)."""
    model = make_model(cell, VOCAB, HIDDEN, layers, seed=layers)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=1)
    loss, grads = model.loss_and_grads(x, y)
    rnn, out = torch_twin(cell, model)
    expected = torch_loss(rnn, out, x, y, zero_state(cell, layers))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    reference = torch_grads(rnn, out)
    assert set(reference) == set(grads)
    for name, g in grads.items():
        assert g.shape == reference[name].shape
        assert relative_error(g, reference[name]) < 1e-8, name
        np.testing.assert_allclose(g, reference[name], rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_gradients_match_torch_with_detached_windows(cell: str) -> None:
    """Truncated BPTT (k=3) equals Σ_t ∇E_t computed by torch from a state detached k steps before t.

    Detaching s_{t−k} is the textbook way to stop the Jacobian product after k factors, done by
    autograd instead of by our age buckets.
    """
    k, layers = 3, 2
    model = make_model(cell, VOCAB, HIDDEN, layers, seed=4)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=2)
    _, grads = model.loss_and_grads(x, y, truncate=k)
    rnn, out = torch_twin(cell, model)
    onehot = torch.nn.functional.one_hot(torch.from_numpy(x), VOCAB).double()
    states = [zero_state(cell, layers)]  # states[t]: the state before step t, without gradient
    with torch.no_grad():
        for t in range(STEPS):
            states.append(rnn(onehot[t : t + 1], states[t])[1])
    for t in range(STEPS):
        start = max(0, t - k + 1)
        hidden, _ = rnn(onehot[start : t + 1], states[start])
        e_t = torch.nn.functional.cross_entropy(out(hidden[-1]), torch.from_numpy(y[t]), reduction="mean")
        e_t.backward()  # .grad accumulates Σ_t
    reference = torch_grads(rnn, out)
    for name, g in grads.items():
        assert relative_error(g, reference[name]) < 1e-8, name


@pytest.mark.parametrize("cell", ["rnn-tanh", "lstm", "gru"])
def test_forward_carries_state_like_torch(cell: str) -> None:
    """forward(inputs, state) gives torch's logits and final state, starting from a non-zero state."""
    layers = 2
    model = make_model(cell, VOCAB, HIDDEN, layers, seed=9)
    x, _ = tokens(STEPS, BATCH, VOCAB, seed=3)
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=(layers, BATCH, HIDDEN)) for _ in range(2 if cell == "lstm" else 1)]
    state = (parts[0], parts[1]) if cell == "lstm" else parts[0]
    logits, final = model.forward(x, state)
    rnn, out = torch_twin(cell, model)
    t_state = tuple(torch.from_numpy(p) for p in parts) if cell == "lstm" else torch.from_numpy(parts[0])
    with torch.no_grad():
        hidden, t_final = rnn(torch.nn.functional.one_hot(torch.from_numpy(x), VOCAB).double(), t_state)
        t_logits = out(hidden)
    np.testing.assert_allclose(logits, t_logits.numpy(), rtol=1e-12, atol=1e-14)
    finals = final if isinstance(final, tuple) else (final,)
    t_finals = t_final if isinstance(t_final, tuple) else (t_final,)
    for ours, theirs in zip(finals, t_finals, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_model_tracks_float64(cell: str) -> None:
    """A float32 model computes in float32 and agrees with the float64 model to float32 precision."""
    x, y = tokens(STEPS, BATCH, VOCAB, seed=5)
    m64 = make_model(cell, VOCAB, HIDDEN, 2, seed=6)
    m32 = make_model(cell, VOCAB, HIDDEN, 2, seed=6, dtype=np.float32)
    loss64, g64 = m64.loss_and_grads(x, y)
    loss32, g32 = m32.loss_and_grads(x, y)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name in g64:
        assert g32[name].dtype == np.float32
        assert relative_error(g32[name], g64[name]) < 1e-4, name
