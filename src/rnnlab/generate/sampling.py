"""Choosing tokens from scores, vectorised over rows that each bring their own settings.

    z (N, V) ─ ÷ T ─▶ e = exp(z − max z) ─ top-k ─ top-p ─▶ the m most likely ─ u ~ U[0, 1) ─▶ token

A row with temperature 0 takes argmax z. The others draw by inverse CDF with one uniform u
from the row's own generator, so a row's token does not depend on the rows beside it.

* **Ranking.** Tokens are ranked by probability, ties by token id. Top-k (Fan et al. 2018)
  keeps the k best ranked; top-p (Holtzman et al. 2020) then keeps the smallest prefix of the
  ranking whose probability, renormalised after top-k, reaches p — a token is dropped when the
  tokens ranked above it already reach p, so the best one always stays. Tokens of probability
  0 (score −∞) are never kept.
* **Draw.** A truncated row draws along its ranking: the j-th ranked token where j is the first
  position whose cumulative weight exceeds u · (the kept weight). A row without truncation draws
  in token-id order, like the plainest loop, which avoids sorting it at all.

Cost per truncated row: a sort of the V values (vectorised, no index sort), one cumulative sum
of the first ``CHUNK`` of them (the whole row only when the nucleus reaches past it), and a few
passes that compare; ``kept_mask`` gives the same sets to the logits processors TopK and TopP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float32]

CHUNK = 1024  # leading sorted values summed first; a nucleus rarely reaches further


@dataclass(frozen=True)
class Ranked:
    """Rows of weights ranked for truncation: ``sorted`` holds each row's largest values, best
    first (at least its ``kept`` ones), ``cum`` their running sums, ``kept`` how many top-k and
    top-p keep (N,)."""

    weights: FloatArray  # (N, V): e = exp(z − max z)
    sorted: FloatArray  # (N, W): each row's W largest values, descending
    cum: FloatArray  # (N, W): cumulative sums of `sorted`; +∞ past a row's sorted values
    kept: IntArray  # (N,)


def _largest(e: FloatArray, width: int) -> FloatArray:
    """Each row's ``width`` largest values, descending: a partition then a sort of those only."""
    vocab = e.shape[1]
    if width < vocab:
        e = np.partition(e, vocab - width, axis=1)[:, vocab - width :]
    return np.sort(e, axis=1)[:, ::-1]


def rank(e: FloatArray, top_k: NDArray[Any], top_p: NDArray[Any], total: FloatArray | None = None) -> Ranked:
    """How many of each row's best-ranked tokens top-k (0 = off) then top-p (1 = off) keep.

    ``total`` may pass Σ e per row when the caller has it already.
    """
    rows, vocab = e.shape
    k = np.asarray(top_k, dtype=np.int64)
    p = np.asarray(top_p, dtype=np.float64)
    use_k, use_p = k > 0, p < 1.0
    top = np.full(rows, vocab)  # how many top-k keeps; tokens of weight 0 never count
    if use_k.any():
        top[use_k] = np.minimum(k[use_k], np.count_nonzero(e[use_k], axis=1))
    nucleus = use_p & ~use_k  # top-p over the whole distribution: its mass is the row's total
    if total is None:
        total = e.sum(axis=1)
    width = min(vocab, CHUNK)
    ranked = _largest(e, width)
    cum = np.cumsum(ranked, axis=1)
    # Rows whose decision may need values past the chunk: a top-k wider than it, or a nucleus
    # that the chunk's mass does not reach yet. They are ranked in full.
    longer = use_k & (top > width) | nucleus & (cum[:, -1] < p * total)
    if width < vocab and longer.any():
        wide = np.zeros((rows, vocab), dtype=ranked.dtype)
        wide[:, :width] = ranked
        wide[longer] = _largest(e[longer], vocab)
        ranked = wide
        wide_cum = np.full((rows, vocab), np.inf, dtype=cum.dtype)  # never kept, never drawn
        wide_cum[:, :width] = cum
        wide_cum[longer] = np.cumsum(wide[longer], axis=1)
        cum = wide_cum
    if not use_p.any():
        return Ranked(e, ranked, cum, top)
    last = np.minimum(top, cum.shape[1]) - 1
    mass = np.where(use_k, cum[np.arange(rows), last], total)  # what p is a share of
    within = cum - ranked < (p * mass)[:, None]  # the weight ranked above is below p·mass
    if use_k.any():
        within &= np.arange(cum.shape[1]) < top[:, None]
    kept = np.where(use_p, np.maximum(within.sum(axis=1), 1), top)
    return Ranked(e, ranked, cum, kept)


def _ids_at(ranked: Ranked, position: IntArray) -> IntArray:
    """The token id ranked at ``position`` in each row (ties in value ranked by id)."""
    rows = np.arange(len(position))
    value = ranked.sorted[rows, position]
    holds = ranked.weights == value[:, None]
    ids = np.argmax(holds, axis=1)  # the lowest id holding that value: right unless tied above
    ties = (position > 0) & (ranked.sorted[rows, np.maximum(position - 1, 0)] == value)
    for row in np.flatnonzero(ties).tolist():  # rare: equal values ranked before `position`
        ahead = int(position[row] - (ranked.sorted[row] > value[row]).sum())
        ids[row] = np.flatnonzero(holds[row])[ahead]
    return ids.astype(np.int64)


def draw_ranked(ranked: Ranked, u: NDArray[np.float64]) -> IntArray:
    """One token per row among its ``kept`` best ranked, by inverse CDF along the ranking."""
    cum = ranked.cum
    target = u * cum[np.arange(len(u)), ranked.kept - 1]
    # cum never decreases, so this counts the positions before the first that exceeds target.
    position = np.minimum((cum <= target[:, None]).sum(axis=1), ranked.kept - 1)
    return _ids_at(ranked, position)


def draw_full(e: FloatArray, u: NDArray[np.float64]) -> IntArray:
    """One token per row from all of ``e`` (N, V), in token-id order."""
    cdf = np.cumsum(e, axis=1)
    choice = (cdf <= (u * cdf[:, -1])[:, None]).sum(axis=1)
    choice = np.minimum(choice, e.shape[1] - 1)
    stuck = e[np.arange(len(e)), choice] == 0  # u·Σ rounded up to Σ: take the last possible token
    if stuck.any():
        choice[stuck] = e.shape[1] - 1 - np.argmax(e[stuck, ::-1] > 0, axis=1)
    return choice.astype(np.int64)


def exp_shifted(scores: FloatArray) -> FloatArray:
    """e = exp(z − max z) row by row: probabilities up to a factor, 0 for −∞ scores."""
    return np.exp(scores - scores.max(axis=1, keepdims=True))


def pick_tokens(
    scores: FloatArray,
    temperature: NDArray[Any],
    top_k: NDArray[Any],
    top_p: NDArray[Any],
    rngs: Sequence[np.random.Generator],
) -> IntArray:
    """One token per row of ``scores`` (N, V), each row with its own T, k, p and generator."""
    best = scores.max(axis=1)
    if not np.isfinite(best).all():
        raise ConfigError(
            "every token is excluded for some row (the constraints leave nothing to choose); "
            "loosen the constraints or check the vocabulary"
        )
    greedy = temperature == 0
    tokens = np.argmax(scores, axis=1) if greedy.any() else np.zeros(len(scores), dtype=np.int64)
    sampled = np.flatnonzero(~greedy)
    if not len(sampled):
        return tokens.astype(np.int64)
    every = len(sampled) == len(scores)
    # e = exp((z − max z) / T), built in one buffer
    e = scores - best[:, None] if every else scores[sampled] - best[sampled, None]
    # 1/T capped at 10³⁰: a float32 that cannot overflow, so 0 · (1/T) stays 0 for the best token
    # (a T this small already puts all weight on the best tokens).
    e *= np.minimum(1.0 / temperature[sampled], 1e30).astype(np.float32)[:, None]
    np.exp(e, out=e)
    u = np.array([rngs[i].random() for i in sampled.tolist()])
    k, p = np.asarray(top_k)[sampled], np.asarray(top_p)[sampled]
    cut = (k > 0) | (p < 1.0)
    if not cut.all():
        tokens[sampled[~cut]] = draw_full(e[~cut], u[~cut])
    if cut.any():
        if not cut.all():
            e, k, p, u, sampled = e[cut], k[cut], p[cut], u[cut], sampled[cut]
        total = e.sum(axis=1)
        # The best token (weight 1) alone reaches p · Σe: the nucleus is that token and needs no
        # ranking (a position the constraints force, or a model that is sure).
        sure = (k == 0) & (p * total <= 1.0)
        tokens[sampled[sure]] = np.argmax(e[sure], axis=1)
        if not sure.all():
            rest = ~sure
            tokens[sampled[rest]] = draw_ranked(rank(e[rest], k[rest], p[rest], total[rest]), u[rest])
    return tokens.astype(np.int64)


def kept_mask(scores: FloatArray, top_k: NDArray[Any], top_p: NDArray[Any]) -> NDArray[np.bool_]:
    """(N, V) True where top-k/top-p keep a token of ``scores``: the sets ``pick_tokens`` draws from."""
    ranked = rank(exp_shifted(scores), top_k, top_p)
    rows = np.arange(len(scores))
    cut = ranked.sorted[rows, ranked.kept - 1]  # the value of the last token kept
    mask = ranked.weights >= cut[:, None]
    # Tokens tied with the last kept one are kept up to its position, by id.
    for row in np.flatnonzero(mask.sum(axis=1) > ranked.kept).tolist():
        tied = np.flatnonzero(ranked.weights[row] == cut[row])
        ahead = int((ranked.weights[row] > cut[row]).sum())
        mask[row, tied[ranked.kept[row] - ahead :]] = False
    return mask
