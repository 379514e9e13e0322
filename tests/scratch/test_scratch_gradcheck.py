"""Hand-written BPTT against central finite differences in float64, for every cell and BPTT mode."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.scratch import CutPattern, FullBPTT, TruncatedBPTT
from rnnlab.scratch.gradcheck import (
    check_gradients,
    combine_step_gradients,
    numerical_gradients,
    relative_error,
    step_gradients,
)
from tests.scratch.scratch_helpers import CELLS, make_model, tokens

STEPS, BATCH, VOCAB, HIDDEN = 5, 2, 4, 3
TOLERANCE = 1e-6
# One fixed cut pattern with both cuts and kept links, drawn with c = 1/2 (seeded draws are tested
# separately); links 1, 3, 4 are kept and reweighted by 2, link 2 is cut.
CUTS = CutPattern(cuts=np.array([True, False, True, False, False]), cut_probability=0.5)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_every_mode_matches_finite_differences(cell: str, layers: int) -> None:
    """Full, truncated (k=2) and random BPTT each equal Σ w(t,j) ∂E_t/∂θ|_j from central differences.

    The reference is built from per-step finite differences (θ perturbed at one step only) and the
    mode's closed-form weights, never from the backward recursion under test. The modes must also
    differ from each other by far more than the tolerance, or the check would prove nothing.
    """
    model = make_model(cell, VOCAB, HIDDEN, layers, seed=layers)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=7)
    pieces = step_gradients(model, x, y)
    references = {}
    for policy in (FullBPTT(), TruncatedBPTT(2), CUTS):
        _, grads = model.loss_and_grads(x, y, truncate=policy)
        reference = combine_step_gradients(pieces, policy)
        errors = {name: relative_error(grads[name], reference[name]) for name in grads}
        assert max(errors.values()) < TOLERANCE, (policy, errors)
        references[type(policy).__name__] = np.concatenate([g.ravel() for g in reference.values()])
    full = references["FullBPTT"]
    assert relative_error(references["TruncatedBPTT"], full) > 1e-3
    assert relative_error(references["CutPattern"], full) > 1e-3


@pytest.mark.parametrize("cell", CELLS)
def test_full_bptt_matches_plain_finite_differences(cell: str) -> None:
    """Two layers: every parameter gradient equals (L(θ+εe_i) − L(θ−εe_i))/2ε to relative error 1e-6."""
    model = make_model(cell, VOCAB, HIDDEN, layers=2, seed=3)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=11)
    errors = check_gradients(model, x, y)
    assert set(errors) == set(model.state_dict())
    assert max(errors.values()) < TOLERANCE, errors


def test_initial_state_gradient_matches_finite_differences() -> None:
    """∂L/∂(h_0, c_0) returned by the backward equals central differences of the loss in the initial state."""
    model = make_model("lstm", VOCAB, HIDDEN, layers=2, seed=5)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=13)
    rng = np.random.default_rng(0)
    h0, c0 = (rng.normal(size=(2, BATCH, HIDDEN)) for _ in range(2))
    fp = model.run_forward(x, (h0, c0))
    _, dlogits = model.loss_from_logits(fp.logits, y)
    dh0, dc0 = model.run_backward(fp, dlogits, FullBPTT()).dstate0

    def loss(h: np.ndarray, c: np.ndarray) -> float:
        logits, _ = model.forward(x, (h, c))
        return model.loss_from_logits(logits, y)[0]

    eps = 1e-5
    for analytic, which in ((dh0, 0), (dc0, 1)):
        numeric = np.zeros_like(analytic)
        for idx in np.ndindex(analytic.shape):
            parts = [h0.copy(), c0.copy()]
            parts[which][idx] += eps
            plus = loss(*parts)
            parts[which][idx] -= 2 * eps
            numeric[idx] = (plus - loss(*parts)) / (2 * eps)
        assert relative_error(analytic, numeric) < TOLERANCE


def test_gradient_check_refuses_float32() -> None:
    """Finite differences in float32 would be meaningless at 1e-6, so the check says to use float64."""
    model = make_model("gru", VOCAB, HIDDEN, dtype=np.float32)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=0)
    with pytest.raises(ConfigError, match="float64"):
        numerical_gradients(model, x, y)
