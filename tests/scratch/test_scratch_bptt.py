"""BPTT modes: truncation that covers the whole sequence, unbiasedness of random truncation, bad arguments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnlab.errors import ConfigError, ShapeError
from rnnlab.scratch import CutPattern, FullBPTT, RandomTruncation, TruncatedBPTT
from rnnlab.scratch.gradcheck import relative_error
from rnnlab.scratch.model import RecurrentLM
from tests.scratch.scratch_helpers import CELLS, make_model, tokens

STEPS, BATCH, VOCAB, HIDDEN = 6, 2, 4, 3


def flat(grads: dict[str, np.ndarray]) -> np.ndarray:
    """All gradients as one vector."""
    return np.concatenate([g.ravel() for g in grads.values()])


def backward_with(model: RecurrentLM, x: np.ndarray, y: np.ndarray) -> object:
    """A function policy → flat gradient that reuses one forward pass."""
    fp = model.run_forward(x)
    _, dlogits = model.loss_from_logits(fp.logits, y)
    return lambda policy: flat(model.run_backward(fp, dlogits, policy).grads)


@pytest.mark.parametrize("k", [STEPS, STEPS + 1, 100])
@pytest.mark.parametrize("cell", CELLS)
def test_truncation_at_or_beyond_length_equals_full_exactly(cell: str, k: int) -> None:
    """loss_and_grads(truncate=k) with k ≥ T returns full BPTT's loss and gradients bit for bit."""
    model = make_model(cell, VOCAB, HIDDEN, layers=2, seed=1)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=2)
    loss_full, full = model.loss_and_grads(x, y)
    loss_k, truncated = model.loss_and_grads(x, y, truncate=k)
    assert loss_k == loss_full
    for name in full:
        np.testing.assert_array_equal(truncated[name], full[name], err_msg=name)


@pytest.mark.parametrize("k", [STEPS, 100])
@pytest.mark.parametrize("cell", CELLS)
def test_windowed_sweep_with_k_at_or_beyond_length_equals_full(cell: str, k: int) -> None:
    """The k-bucket sweep itself, forced with k ≥ T, drops nothing: it equals full BPTT.

    It keeps k age buckets apart and sums them at the end while full BPTT sums as it goes: the
    same terms added in another order, so they agree to the last bits (1e-14).
    """
    model = make_model(cell, VOCAB, HIDDEN, layers=2, seed=1)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=2)
    _, full = model.loss_and_grads(x, y)
    _, truncated = model.loss_and_grads(x, y, truncate=TruncatedBPTT(k))
    for name in full:
        np.testing.assert_allclose(truncated[name], full[name], rtol=1e-14, atol=1e-15, err_msg=name)


def test_truncation_shorter_than_length_differs_from_full() -> None:
    """k < T really drops the long-range terms (so the test above cannot pass by truncating nothing)."""
    model = make_model("rnn-tanh", VOCAB, HIDDEN, layers=1, seed=1)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=2)
    _, full = model.loss_and_grads(x, y)
    _, truncated = model.loss_and_grads(x, y, truncate=STEPS - 1)
    assert relative_error(flat(truncated), flat(full)) > 1e-4
    # The output layer's gradient only needs the current step, so truncation never touches it.
    np.testing.assert_array_equal(truncated["out.weight"], full["out.weight"])


@pytest.mark.parametrize("cell", ["rnn-relu", "lstm"])
def test_random_truncation_is_unbiased_exactly(cell: str) -> None:
    """Averaging the ARTBP gradient over all 2^T cut patterns, weighted by their probability, gives full BPTT.

    Brute force over every pattern computes the expectation exactly, so unbiasedness is checked to
    rounding error; plain random truncation (same cuts, no 1/(1−c) compensation) is visibly biased.
    """
    c = 0.4
    model = make_model(cell, VOCAB, HIDDEN, layers=2, seed=3)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=4)
    grad = backward_with(model, x, y)
    full = grad(FullBPTT())
    expected = np.zeros_like(full)
    uncompensated = np.zeros_like(full)
    for bits in itertools.product([False, True], repeat=STEPS):
        cuts = np.array(bits)
        probability = float(np.prod(np.where(cuts, c, 1 - c)))
        expected += probability * grad(CutPattern(cuts, c))
        uncompensated += probability * grad(CutPattern(cuts, 0.0))  # c = 0 in the factor: no reweighting
    assert relative_error(expected, full) < 1e-12
    assert relative_error(uncompensated, full) > 0.05


def test_random_truncation_monte_carlo_mean_approaches_full() -> None:
    """The mean of N seeded ARTBP draws approaches full BPTT as N grows (error < 1% at N = 2000)."""
    model = make_model("rnn-tanh", VOCAB, HIDDEN, layers=1, seed=1)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=3)
    grad = backward_with(model, x, y)
    full = grad(FullBPTT())
    sampler = RandomTruncation(mean_length=3.0, seed=0)
    total = np.zeros_like(full)
    errors = {}
    for n in range(1, 2001):
        total += grad(sampler.draw(STEPS))
        if n in (20, 2000):
            errors[n] = relative_error(total / n, full)
    assert errors[2000] < 0.01
    assert errors[2000] < errors[20] / 3


def test_random_truncation_is_reproducible_and_fresh_per_call() -> None:
    """Two samplers with one seed draw the same patterns; successive draws of one sampler differ."""
    a, b = RandomTruncation(2.0, seed=5), RandomTruncation(2.0, seed=5)
    draws_a = [a.draw(32).cuts for _ in range(3)]
    draws_b = [b.draw(32).cuts for _ in range(3)]
    for da, db in zip(draws_a, draws_b, strict=True):
        np.testing.assert_array_equal(da, db)
    assert not np.array_equal(draws_a[0], draws_a[1])
    assert a.to_dict() == {"mean_length": 2.0, "seed": 5}


def test_lag_weights_match_their_definition() -> None:
    """w(t, j): for k = 2, ones on two diagonals; for cuts, products of 1/(1−c) back to the nearest cut."""
    np.testing.assert_array_equal(
        TruncatedBPTT(2).lag_weights(3), np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=float)
    )
    w = CutPattern(np.array([False, False, True, False]), 0.5).lag_weights(4)
    expected = np.array([[1, 0, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 2, 1]], dtype=float)
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "5"])
def test_bad_truncate_arguments_are_rejected(bad: object) -> None:
    """A truncation that is not None, an int ≥ 1 or a policy raises ConfigError naming the valid forms."""
    model = make_model("gru", VOCAB, HIDDEN)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=0)
    with pytest.raises(ConfigError):
        model.loss_and_grads(x, y, truncate=bad)  # type: ignore[arg-type]


def test_cut_pattern_of_wrong_length_and_bad_mean_are_rejected() -> None:
    """A cut pattern for another length is a ShapeError; a mean truncation length below 1 is a ConfigError."""
    model = make_model("lstm", VOCAB, HIDDEN)
    x, y = tokens(STEPS, BATCH, VOCAB, seed=0)
    with pytest.raises(ShapeError, match="cuts of shape"):
        model.loss_and_grads(x, y, truncate=CutPattern(np.zeros(STEPS - 1, dtype=bool), 0.5))
    with pytest.raises(ConfigError, match="mean truncation length"):
        RandomTruncation(0.5)
