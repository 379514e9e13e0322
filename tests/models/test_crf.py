"""The CRF layer against brute-force enumeration of every tag sequence on tiny cases."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.models.crf import CRF, IGNORE_INDEX


def _crf(k: int, seed: int = 0) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(k).double()
    with torch.no_grad():  # scores far from the small initial ones, so mistakes show
        for p in crf.parameters():
            p.normal_(0, 1.5)
    return crf


def _brute_score(crf: CRF, e: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """score(y) written out term by term for one sequence e (T, K)."""
    total = crf.start[path[0]] + crf.end[path[-1]]
    for t, y in enumerate(path):
        total = total + e[t, y]
        if t:
            total = total + crf.transitions[path[t - 1], y]
    return total


def _batch(k: int, lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(max(lengths), len(lengths), k, generator=g, dtype=torch.float64) * 2
    mask = torch.arange(max(lengths)).unsqueeze(1) < torch.tensor(lengths).unsqueeze(0)
    return e, mask


@pytest.mark.parametrize("k", [1, 2, 3])
def test_forward_algorithm_equals_brute_force_log_partition(k: int) -> None:
    """log Z from the forward algorithm = log Σ exp score(y) over all K^T paths, per sequence length."""
    crf = _crf(k)
    lengths = [4, 1, 3, 2]
    e, mask = _batch(k, lengths)
    log_z = crf.log_partition(e, mask)
    for b, n in enumerate(lengths):
        scores = torch.stack([_brute_score(crf, e[:n, b], p) for p in itertools.product(range(k), repeat=n)])
        assert torch.allclose(log_z[b], torch.logsumexp(scores, 0), atol=1e-10)


def test_score_and_nll_match_brute_force() -> None:
    """score(y) is the formula's sum; the NLL of a full path is log Z − score(y) = −log p(y|x)."""
    crf = _crf(3)
    lengths = [4, 2, 3]
    e, mask = _batch(3, lengths, seed=2)
    tags = torch.tensor([[0, 2, 1], [1, 0, 2], [2, 0, 0], [0, 0, 0]])
    score = crf.score(e, tags, mask)
    nll = crf.nll(e, tags.masked_fill(~mask, IGNORE_INDEX), mask)
    for b, n in enumerate(lengths):
        path = tuple(tags[:n, b].tolist())
        expected = _brute_score(crf, e[:n, b], path)
        assert torch.allclose(score[b], expected, atol=1e-10)
        all_scores = torch.stack(
            [_brute_score(crf, e[:n, b], p) for p in itertools.product(range(3), repeat=n)]
        )
        assert torch.allclose(nll[b], torch.logsumexp(all_scores, 0) - expected, atol=1e-10)


def test_partly_labelled_nll_marginalises_the_unknown_positions() -> None:
    """With unknown steps, −log p(y_known|x) = log Z − log Σ_{paths agreeing on the known tags}."""
    crf = _crf(3, seed=3)
    e, mask = _batch(3, [4, 3], seed=4)
    tags = torch.tensor(
        [[1, IGNORE_INDEX], [IGNORE_INDEX, 2], [0, IGNORE_INDEX], [IGNORE_INDEX, IGNORE_INDEX]]
    )
    nll = crf.nll(e, tags, mask)
    for b, n in enumerate([4, 3]):
        paths = list(itertools.product(range(3), repeat=n))
        scores = torch.stack([_brute_score(crf, e[:n, b], p) for p in paths])
        known = [(t, int(tags[t, b])) for t in range(n) if tags[t, b] != IGNORE_INDEX]
        agree = torch.tensor([all(p[t] == y for t, y in known) for p in paths])
        expected = torch.logsumexp(scores, 0) - torch.logsumexp(scores[agree], 0)
        assert torch.allclose(nll[b], expected, atol=1e-10)
    # All unknown: nothing is claimed, the likelihood is 1.
    none_known = torch.full((4, 2), IGNORE_INDEX)
    assert torch.allclose(crf.nll(e, none_known, mask), torch.zeros(2, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_viterbi_is_the_brute_force_argmax(seed: int) -> None:
    """decode() returns the highest-scoring path of each sequence (and 0 at padding)."""
    crf = _crf(3, seed)
    lengths = [5, 2, 4, 1]
    e, mask = _batch(3, lengths, seed=seed + 10)
    best = crf.decode(e, mask)
    for b, n in enumerate(lengths):
        paths = list(itertools.product(range(3), repeat=n))
        scores = torch.stack([_brute_score(crf, e[:n, b], p) for p in paths])
        assert tuple(best[:n, b].tolist()) == paths[int(scores.argmax())]
        assert best[n:, b].eq(0).all()


def test_gradient_of_the_nll_is_finite_with_unknown_tags() -> None:
    """The restricted forward pass (−∞ on disallowed tags) still back-propagates finite gradients."""
    crf = _crf(4)
    e, mask = _batch(4, [6, 3], seed=5)
    e.requires_grad_(True)
    tags = torch.tensor([[1, 2], [IGNORE_INDEX, 0], [3, 1], [0, 0], [IGNORE_INDEX, 0], [2, 0]])
    crf.nll(e, tags, mask).sum().backward()
    assert e.grad is not None and torch.isfinite(e.grad).all()
    assert e.grad[3:, 1].abs().sum() == 0  # padding gets no gradient
    assert all(torch.isfinite(p.grad).all() for p in crf.parameters() if p.grad is not None)
