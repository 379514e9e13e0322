"""Logits processors: each reshapes the next-token scores before a token is chosen.

A processor is a callable ``(generated (N, t) int64, logits (N, V) float32) -> logits (N, V)``
on NumPy arrays, whatever engine computed the logits (the NumPy engine, or torch whose step's
logits are converted); decoding applies them in order, so constraints (poem forms, banned
tokens) and sampling filters compose. Masked-out tokens get −∞, so softmax gives them
probability exactly 0. A processor must not modify its input arrays in place.

The sampling filters (temperature, top-k, top-p) accept one value for every row or one value
per row (an ``(N,)`` array): a batch that mixes requests decodes each row with its own settings
in one vectorised call (see :func:`filter_scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError
from rnnlab.generate.sampling import kept_mask

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float32]
LogitsProcessor = Callable[[IntArray, FloatArray], FloatArray]
RowValues = float | NDArray[Any]  # one setting for every row, or one per row (N,)

NEG_INF = np.float32(-np.inf)


def _per_row(value: RowValues, rows: int) -> NDArray[np.float64]:
    """A setting as one float per row: (N,)."""
    arr = np.asarray(value, dtype=np.float64)
    return np.broadcast_to(arr, (rows,)) if arr.ndim == 0 else arr


def filter_scores(scores: FloatArray, top_k: RowValues = 0, top_p: RowValues = 1.0) -> FloatArray:
    """Top-k then top-p (nucleus) filtering, each setting one value or one per row (N,).

    The tokens kept are exactly those :func:`rnnlab.generate.sampling.pick_tokens` draws from
    (see :mod:`rnnlab.generate.sampling` for the definitions); the others get −∞.
    """
    rows = len(scores)
    k = _per_row(top_k, rows).astype(np.int64)
    p = _per_row(top_p, rows)
    cut = (k > 0) | (p < 1.0)
    if not cut.any():
        return scores
    mask = np.ones(scores.shape, dtype=bool)
    mask[cut] = kept_mask(scores[cut], k[cut], p[cut])
    return np.where(mask, scores, NEG_INF)


@dataclass(frozen=True)
class Temperature:
    """p_i ∝ exp(z_i / T): T < 1 sharpens, T > 1 flattens. T = 0 is greedy and handled by the decoder."""

    value: RowValues

    def __post_init__(self) -> None:
        if not np.all(np.asarray(self.value) > 0):
            raise ConfigError(f"temperature must be > 0 (use greedy decoding for 0), got {self.value}")

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        t = _per_row(self.value, logits.shape[0]).astype(logits.dtype)
        return logits / t[:, None]


@dataclass(frozen=True)
class TopK:
    """Keep the k highest-scoring tokens (Fan et al. 2018); ties are ranked by token id."""

    k: int

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"top_k must be ≥ 1 (0 turns it off), got {self.k}")

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        return filter_scores(logits, top_k=self.k)


@dataclass(frozen=True)
class TopP:
    """Nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely tokens whose
    probabilities add up to at least p; the most likely token is always kept."""

    p: float

    def __post_init__(self) -> None:
        if not 0 < self.p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.p}")

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        return filter_scores(logits, top_p=self.p)


@dataclass(frozen=True)
class RepetitionPenalty:
    """CTRL's penalty (Keskar et al. 2019): a token already generated has its score divided by θ
    when positive and multiplied by θ when negative, so θ > 1 discourages repeats."""

    penalty: float
    ignore: tuple[int, ...] = ()  # ids never penalised (punctuation that a form requires, say)

    def __post_init__(self) -> None:
        if not self.penalty > 0:
            raise ConfigError(f"repetition_penalty must be > 0 (1 turns it off), got {self.penalty}")

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        if generated.shape[1] == 0:
            return logits
        # Only the t generated positions of each row change: gather, penalise, scatter back
        # (O(N·t) work rather than a mask over the whole vocabulary; repeated ids agree).
        rows = np.arange(len(generated))[:, None]
        values = logits[rows, generated]
        factor = np.where(values > 0, np.float32(1.0 / self.penalty), np.float32(self.penalty))
        for exempt in self.ignore:
            factor[generated == exempt] = 1.0
        out = logits.copy()
        out[rows, generated] = values * factor
        return out


@dataclass(frozen=True)
class BanTokens:
    """Never emit these ids (e.g. ``<pad>``, ``<unk>``, ``<bos>``)."""

    ids: tuple[int, ...]

    def __call__(self, generated: IntArray, logits: FloatArray) -> FloatArray:
        if not self.ids:
            return logits
        out = logits.copy()
        out[:, list(self.ids)] = NEG_INF
        return out


def sampling_processors(
    temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, repetition_penalty: float = 1.0
) -> list[LogitsProcessor]:
    """The usual chain, in the usual order: penalty, temperature, then the two truncations."""
    chain: list[LogitsProcessor] = []
    if repetition_penalty != 1.0:
        chain.append(RepetitionPenalty(repetition_penalty))
    if temperature != 1.0:
        chain.append(Temperature(temperature))
    if top_k:
        chain.append(TopK(top_k))
    if top_p < 1.0:
        chain.append(TopP(top_p))
    return chain


def apply_processors(
    processors: Sequence[LogitsProcessor], generated: IntArray, logits: FloatArray
) -> FloatArray:
    for processor in processors:
        logits = processor(generated, logits)
    return logits
