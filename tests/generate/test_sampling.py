"""Top-k/top-p and the draw against brute force: full sorts in float64, counted frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.generate.decoding import row_generators
from rnnlab.generate.sampling import CHUNK, kept_mask, pick_tokens


def brute_force_kept(scores: np.ndarray, k: int, p: float) -> tuple[set[int], set[int]]:
    """The kept ids by definition (rank by probability then id; top-k; smallest prefix reaching p),
    in float64; also the ids whose inclusion is within rounding of the p boundary."""
    z = scores.astype(np.float64)
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    order = sorted(np.flatnonzero(probs > 0).tolist(), key=lambda i: (-probs[i], i))
    if k:
        order = order[:k]
    if p >= 1.0:
        return set(order), set()
    mass = probs[order].sum()
    kept, close, before = [], set(), 0.0
    for i in order:
        if abs(before - p * mass) < 1e-5:
            close.add(i)
        if before < p * mass:
            kept.append(i)
        before += probs[i]
    return set(kept), close


@pytest.mark.parametrize("vocab", [7, 3 * CHUNK])
def test_kept_sets_equal_the_definition(vocab: int) -> None:
    """For peaked, flat and masked rows, with and without top-k/top-p, the kept set is the definition's
    (the vocabulary larger than the sorted chunk exercises the long-nucleus path too)."""
    rng = np.random.default_rng(0)
    rows, settings = [], []
    for sharpness in (0.1, 1.0, 4.0):
        for k, p in ((0, 0.5), (0, 0.9), (0, 0.99), (3, 1.0), (5, 0.7), (2 * CHUNK, 0.95)):
            row = (rng.standard_normal(vocab) * sharpness).astype(np.float32)
            row[rng.random(vocab) < 0.2] = -np.inf  # a constraint masked some tokens
            row[0] = row.max() if np.isfinite(row.max()) else 0.0
            rows.append(row)
            settings.append((k, p))
    scores = np.stack(rows)
    k = np.array([s[0] for s in settings])
    p = np.array([s[1] for s in settings])
    mask = kept_mask(scores, k, p)
    for row, (kk, pp) in enumerate(settings):
        expected, close = brute_force_kept(scores[row], kk, pp)
        got = set(np.flatnonzero(mask[row]).tolist())
        assert got ^ expected <= close, (row, kk, pp, sorted(got ^ expected)[:5])


def test_ties_are_ranked_by_token_id() -> None:
    """Equal probabilities at the top-k cut keep the lower ids."""
    scores = np.array([[1.0, 2.0, 1.0, 2.0, 1.0]], dtype=np.float32)
    assert np.flatnonzero(kept_mask(scores, np.array([3]), np.array([1.0]))[0]).tolist() == [0, 1, 3]


@pytest.mark.parametrize(("k", "p"), [(0, 1.0), (0, 0.8), (2, 1.0)])
def test_draws_follow_the_kept_renormalised_distribution(k: int, p: float) -> None:
    """Frequencies over 40,000 draws match softmax restricted to the kept set (within 4σ)."""
    probs = np.array([0.4, 0.25, 0.0, 0.2, 0.1, 0.05])
    with np.errstate(divide="ignore"):
        scores = np.log(probs).astype(np.float32)[None, :]
    kept = kept_mask(scores, np.array([k]), np.array([p]))[0]
    target = np.where(kept, probs, 0.0) / probs[kept].sum()
    draws, batch = 40_000, 200
    rows = np.repeat(scores, batch, axis=0)
    rngs = row_generators(3, batch)
    counts = np.zeros(len(probs))
    for _ in range(draws // batch):
        tokens = pick_tokens(rows, np.ones(batch), np.full(batch, k), np.full(batch, p), rngs)
        counts += np.bincount(tokens, minlength=len(probs))
    expected = target * draws
    sigma = np.sqrt(expected * (1 - target))
    assert np.all(counts[~kept] == 0)
    assert np.all(np.abs(counts - expected) <= 4 * sigma + 1e-9), (counts, expected)


def test_a_row_draws_the_same_alone_and_in_a_batch() -> None:
    """A row's token depends on its scores and its own generator only, not on the other rows."""
    rng = np.random.default_rng(1)
    scores = (rng.standard_normal((6, 3 * CHUNK)) * 3).astype(np.float32)
    t = np.array([0.7, 1.0, 0.0, 1.3, 0.9, 1.0])
    k = np.array([0, 0, 0, 40, 0, 0])
    p = np.array([0.9, 1.0, 1.0, 0.8, 0.5, 0.95])
    together = pick_tokens(scores, t, k, p, row_generators(5, 6))
    for row, gen in enumerate(row_generators(5, 6)):
        alone = pick_tokens(
            scores[row : row + 1], t[row : row + 1], k[row : row + 1], p[row : row + 1], [gen]
        )
        assert alone[0] == together[row]


def test_a_vanishing_temperature_picks_the_best_token() -> None:
    """T = 1e-70 (1/T overflows float32) still draws the argmax rather than NaN garbage."""
    scores = np.array([[0.5, 2.0, -1.0, -np.inf]], dtype=np.float32)
    for p in (1.0, 0.5):
        token = pick_tokens(scores, np.array([1e-70]), np.array([0]), np.array([p]), row_generators(0, 1))
        assert token.tolist() == [1]
