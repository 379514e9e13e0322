"""N-gram language models over token ids: add-k and interpolated (modified) Kneser–Ney smoothing.

The baselines a recurrent language model has to beat. They read the same token ids, over the same
vocabulary of ``V`` ids, and follow the neural model's conventions exactly, so their perplexities
compare one to one:

* **Sequences** (``bos_id``/``eos_id`` given, e.g. poems): each sequence ``w_1 … w_m`` is read as
  ``<bos>^{n−1} w_1 … w_m <eos>``. The targets are ``w_1 … w_m, <eos>`` — the end is a prediction
  too — and ``<bos>`` is context only, never predicted.
* **Streams** (``bos_id = eos_id = None``, e.g. plain text): no padding and no end token; the first
  ``n − 1`` tokens of a stream are predicted from the shorter contexts they have.
* ``<unk>`` is an ordinary token (ids outside the vocabulary were mapped to it upstream), and every
  distribution spans all ``V`` ids, as the neural softmax does: ids never seen as targets (pad, bos)
  get only smoothing mass.
* ``perplexity = exp(Σ −log p(w_i | h_i) / N)``, with ``N`` the number of predicted tokens
  (``<eos>`` included).

Notation (Chen & Goodman 1998; Jurafsky & Martin, ch. 3): ``h`` is the context (the ``n − 1``
tokens before ``w``, fewer at a stream's start), ``h'`` is ``h`` without its oldest token,
``c(h w)`` counts how often ``w`` followed ``h`` in training and ``c(h) = Σ_w c(h w)``.

Add-k (Laplace when ``k = 1``)::

    p(w | h) = (c(h w) + k) / (c(h) + k V)

Interpolated Kneser–Ney, recursively from the full context down to the uniform distribution::

    p(w | h)  = (c(h w) − D(c(h w))) / c(h)  +  γ(h) · p(w | h')          if c(h) > 0
              = p(w | h')                                                  if c(h) = 0
    γ(h)      = (D₁ N₁(h •) + D₂ N₂(h •) + D₃₊ N₃₊(h •)) / c(h)
    p(w | ∅)  = ... the same with h = ∅, interpolated with p₀(w) = 1 / V

``N_r(h •)`` is the number of distinct ``w`` with ``c(h w) = r`` (``N₃₊``: ``≥ 3``). The longest
context uses ordinary counts ``c``; every shorter one uses *continuation counts*
``c'(h w) = N₁₊(• h w)``, the number of distinct tokens seen before ``h w``, because a lower order is
only consulted to spread mass over tokens that appear in many contexts. (An n-gram inside the
``<bos>`` padding has only ``<bos>`` before it, so its continuation count is 1; KenLM, which pads
with a single ``<s>``, keeps ordinary counts there instead. With n − 1 pads that rule copies the same
counts into every lower order, and measured on the Tang poems it was slightly worse: 5-gram mkn test
perplexity 165.1 against 164.3.) ``kn`` uses one discount
per order (``D₁ = D₂ = D₃₊ = D``); ``mkn`` (modified Kneser–Ney) uses three. By default they are
estimated per order from the count-of-counts ``n_r`` (the number of n-grams seen exactly ``r`` times,
of the counts that order uses)::

    Y = n₁ / (n₁ + 2 n₂)          kn:  D = Y
    mkn:  D₁ = 1 − 2Y n₂/n₁,   D₂ = 2 − 3Y n₃/n₂,   D₃₊ = 3 − 4Y n₄/n₃

Each distribution sums to one because ``Σ_w (c(h w) − D(c(h w))) = c(h) − γ(h) c(h)`` whenever
``0 < D_r ≤ r``; an estimate outside that range (tiny corpora) falls back to a fixed default.

Storage: the m-grams of each order are kept as sorted int64 keys ``id(prefix) · V + w``, where
``id(prefix)`` is the index of the (m−1)-gram prefix in the order below — a trie flattened into
NumPy arrays, so counting is ``np.unique`` and lookup is ``np.searchsorted``, both vectorised.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from rnnlab.config import from_dict_strict
from rnnlab.errors import CheckpointError, ConfigError, DataError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# The issue asks for n = 1…5; higher orders are mostly unseen contexts on corpora of a few million
# tokens, so they would only cost memory.
MAX_ORDER = 5
SMOOTHINGS = ("add-k", "kn", "mkn")
# Used when count-of-counts cannot support an estimate (e.g. no n-gram seen twice in a toy corpus).
FALLBACK_DISCOUNTS = {"kn": (0.75, 0.75, 0.75), "mkn": (0.5, 1.0, 1.5)}
# Bumped whenever the saved layout changes, so an old file fails loudly instead of loading wrongly.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NGramConfig:
    """Hyper-parameters of an n-gram model; the vocabulary facts (V, bos, eos) go to NGramLM."""

    n: int = 3  # order: each token is predicted from the n − 1 before it (1 = unigram)
    smoothing: str = "mkn"  # "add-k", "kn" (one discount per order) or "mkn" (three per order)
    k: float = 1.0  # add-k pseudo-count added to every n-gram (1 = Laplace); unused by kn/mkn
    # Kneser–Ney discounts used at every order: (D,) for kn, (D₁, D₂, D₃₊) for mkn.
    # None estimates them per order from count-of-counts (Chen & Goodman 1998).
    discounts: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.discounts is not None:
            # JSON gives lists; a frozen dataclass must be rebuilt field by field.
            object.__setattr__(self, "discounts", tuple(float(d) for d in self.discounts))
        _validate_config(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON types."""
        out = asdict(self)
        out["discounts"] = None if self.discounts is None else list(self.discounts)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NGramConfig:
        """Rebuild a config, refusing unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "n-gram config key")

    def to_json(self) -> str:
        """The config as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NGramConfig:
        """Rebuild a config from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _validate_config(config: NGramConfig) -> None:
    """Raise ConfigError naming the bad field and its valid range."""
    n = config.n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ORDER:
        raise ConfigError(f"n-gram order n must be an integer in 1…{MAX_ORDER}, got {n!r}")
    if config.smoothing not in SMOOTHINGS:
        raise ConfigError(f"unknown smoothing {config.smoothing!r}; options are {list(SMOOTHINGS)}")
    k = config.k
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (math.isfinite(k) and k > 0):
        raise ConfigError(f"add-k pseudo-count k must be a finite number > 0 (1 = Laplace), got {k!r}")
    if config.discounts is None:
        return
    if config.smoothing == "add-k":
        raise ConfigError("discounts apply to smoothing 'kn' or 'mkn' only; drop them or change smoothing")
    expected = 1 if config.smoothing == "kn" else 3
    if len(config.discounts) != expected:
        raise ConfigError(
            f"smoothing {config.smoothing!r} takes {expected} discount(s), got {len(config.discounts)}: "
            "(D,) for kn, (D1, D2, D3+) for mkn"
        )
    for r, d in enumerate(config.discounts, start=1):
        limit = 1 if expected == 1 else r
        if not (math.isfinite(d) and 0 < d <= limit):
            raise ConfigError(
                f"discount D{r} = {d} must lie in (0, {limit}] so no count turns negative "
                "and unseen tokens keep some probability"
            )


@dataclass(frozen=True)
class _Level:
    """The counts of one order as one estimate uses them (ordinary or continuation counts).

    ``keys[j] = ctx · V + w`` (sorted) where ``ctx`` indexes the context in the order below;
    ``context_total[ctx] = c(h)`` and ``context_gamma[ctx] = Σ_w D(c(h w))``, the mass moved to the
    lower order (γ(h) · c(h)).
    """

    keys: IntArray  # (G,) sorted m-gram keys, shared by both estimates of an order
    counts: IntArray  # (G,) c(h w) or c'(h w)
    discount_table: FloatArray  # (4,) D(0) = 0, D₁, D₂, D₃₊  (all zero for add-k)
    context_total: FloatArray  # (C,) c(h)
    context_gamma: FloatArray  # (C,) Σ_w D(c(h w))

    def discount(self, counts: IntArray) -> FloatArray:
        """D(c) elementwise: 0 for unseen, D₁, D₂, D₃₊ for counts 1, 2, ≥ 3."""
        return self.discount_table[np.minimum(counts, 3)]


def estimate_discounts(counts: IntArray, smoothing: str) -> tuple[float, float, float]:
    """Kneser–Ney discounts (D₁, D₂, D₃₊) from the count-of-counts of ``counts`` (Chen & Goodman 1998).

    ``Y = n₁/(n₁ + 2n₂)``; kn uses ``D = Y`` at every count, mkn ``D_r = r − (r+1) Y n_{r+1}/n_r``.
    An estimate that is undefined or outside ``(0, r]`` falls back to FALLBACK_DISCOUNTS.
    """
    n_r = np.bincount(np.minimum(counts, 5), minlength=6).astype(np.float64)
    fallback = FALLBACK_DISCOUNTS[smoothing]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n_r[1] / (n_r[1] + 2 * n_r[2])
        if smoothing == "kn":
            estimates = [y, y, y]
        else:
            estimates = [r - (r + 1) * y * n_r[r + 1] / n_r[r] for r in (1, 2, 3)]
    out = []
    for r, (d, default) in enumerate(zip(estimates, fallback, strict=True), start=1):
        limit = 1 if smoothing == "kn" else r
        out.append(float(d) if math.isfinite(d) and 0 < d <= limit else default)
    return out[0], out[1], out[2]


@dataclass(frozen=True)
class _Layout:
    """Sequences laid end to end, as the model reads them (with <bos> padding and <eos>)."""

    tokens: IntArray  # (P,) every token, padding included
    offsets: IntArray  # (P,) position of each token inside its own (padded) sequence
    predicted: npt.NDArray[np.bool_]  # (P,) True where the token is a target (never <bos> padding)


class NGramLM:
    """An n-gram language model over token ids ``0 … V−1`` (see the module docstring for the formulas).

    ``bos_id``/``eos_id``: the sequence-start and end tokens of the vocabulary; leave both None to
    read every sequence as a stream (no padding, no end prediction).

    Example::

        lm = NGramLM(NGramConfig(n=3, smoothing="mkn"), vocab_size=6, bos_id=0, eos_id=1)
        lm.fit([[2, 3, 4], [2, 3, 5]])
        lm.distribution([2, 3])        # (6,) probabilities of the token after 2 3
        lm.perplexity([[2, 3, 4]])
    """

    def __init__(
        self,
        config: NGramConfig,
        vocab_size: int,
        *,
        bos_id: int | None = None,
        eos_id: int | None = None,
    ) -> None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ConfigError(f"vocab_size must be a positive integer, got {vocab_size!r}")
        for name, value in (("bos_id", bos_id), ("eos_id", eos_id)):
            if value is not None and not (isinstance(value, (int, np.integer)) and 0 <= value < vocab_size):
                raise ConfigError(f"{name} must be None or an id in 0…{vocab_size - 1}, got {value!r}")
        self.config = config
        self.vocab_size = int(vocab_size)
        self.bos_id = None if bos_id is None else int(bos_id)
        self.eos_id = None if eos_id is None else int(eos_id)
        # Per order m = 1…n (index m − 1): sorted keys, ordinary counts, continuation counts (m < n).
        self._keys: list[IntArray] = []
        self._raw: list[IntArray] = []
        self._cont: list[IntArray] = []
        self._levels_raw: list[_Level] = []
        self._levels_cont: list[_Level] = []
        # Wall-clock seconds of the last fit: the "training time" of an evaluation table.
        self.fit_seconds: float | None = None

    # ------------------------------------------------------------------ fitting

    @property
    def n(self) -> int:
        """The order of the model."""
        return self.config.n

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :meth:`load`) has filled the counts."""
        return bool(self._keys)

    @property
    def num_ngrams(self) -> int:
        """Distinct m-grams (m = 1…n) seen as targets in training: the model's stored parameters."""
        self._require_fitted()
        return int(sum(np.count_nonzero(raw) for raw in self._raw))

    def fit(self, sequences: Iterable[Sequence[int] | npt.ArrayLike], *, progress: bool = False) -> NGramLM:
        """Count every m-gram (m = 1…n) of ``sequences`` and derive the smoothed estimates; returns self.

        ``sequences``: an iterable of 1-D integer id sequences (poems without special tokens, or
        streams); a single stream is passed as ``[stream]``. Refitting replaces the previous counts.
        """
        started = time.perf_counter()
        layout = self._layout(sequences)
        if not layout.predicted.any():
            raise DataError(
                "the training corpus is empty: no token to predict; pass non-empty sequences "
                "(or set eos_id so that every sequence predicts its end)"
            )
        vocab = self.vocab_size
        keys: list[IntArray] = []
        raw: list[IntArray] = []
        cont: list[IntArray] = []
        gram_id = np.zeros(0, dtype=np.int64)
        for m in tqdm(range(1, self.n + 1), desc="counting n-grams", unit="order", disable=not progress):
            ctx = self._context_ids(gram_id, layout.offsets, m)
            valid = ctx >= 0
            uniq, inverse = np.unique(ctx[valid] * vocab + layout.tokens[valid], return_inverse=True)
            new_id = np.full(len(layout.tokens), -1, dtype=np.int64)
            new_id[valid] = inverse
            counts = np.bincount(inverse[layout.predicted[valid]], minlength=len(uniq)).astype(np.int64)
            if m > 1:
                # c'(h w) = N₁₊(• h w): how many distinct m-grams seen as targets end with the (m−1)-gram.
                suffix = np.full(len(uniq), -1, dtype=np.int64)
                suffix[inverse] = gram_id[valid]
                cont.append(np.bincount(suffix[counts > 0], minlength=len(keys[-1])).astype(np.int64))
            keys.append(uniq.astype(np.int64))
            raw.append(counts)
            gram_id = new_id
        self._keys, self._raw, self._cont = keys, raw, cont
        self._build_levels()
        self.fit_seconds = time.perf_counter() - started
        return self

    def _build_levels(self) -> None:
        """Derive per-context totals and back-off masses from the stored counts."""
        self._levels_raw = [self._level(m, self._raw[m - 1]) for m in range(1, self.n + 1)]
        self._levels_cont = [self._level(m, self._cont[m - 1]) for m in range(1, self.n)]

    def _level(self, m: int, counts: IntArray) -> _Level:
        """One order's estimate from its counts: discounts, c(h) and Σ_w D(c(h w)) per context."""
        if self.config.smoothing == "add-k":
            table = np.zeros(4)
        else:
            d = self.config.discounts or estimate_discounts(counts, self.config.smoothing)
            d3 = (d[0], d[0], d[0]) if len(d) == 1 else d
            table = np.array([0.0, *d3])
        keys = self._keys[m - 1]
        n_contexts = 1 if m == 1 else len(self._keys[m - 2])
        ctx = keys // self.vocab_size
        total = np.bincount(ctx, weights=counts.astype(np.float64), minlength=n_contexts)
        gamma = np.bincount(ctx, weights=table[np.minimum(counts, 3)], minlength=n_contexts)
        return _Level(keys, counts, table, total.astype(np.float64), gamma.astype(np.float64))

    def discounts(self) -> dict[int, tuple[float, float, float]]:
        """The (D₁, D₂, D₃₊) used at each order m for a full context.

        Order n discounts ordinary counts, the lower orders continuation counts; all zero for add-k.
        """
        self._require_fitted()
        levels = [*self._levels_cont, self._levels_raw[-1]]
        out: dict[int, tuple[float, float, float]] = {}
        for m, level in enumerate(levels, start=1):
            d1, d2, d3 = (float(x) for x in level.discount_table[1:])
            out[m] = (d1, d2, d3)
        return out

    # ------------------------------------------------------------------ querying

    def distribution(self, context: Sequence[int] | npt.ArrayLike) -> FloatArray:
        """p(· | context) over all V ids, shape (V,), summing to one. O(n V), vectorised.

        ``context`` holds the tokens before the one predicted, oldest first, without padding: only
        its last n − 1 count. With ``bos_id`` set, a shorter context is the start of a sequence and is
        left-padded with <bos>; in stream mode it is used as it is (a lower order predicts).
        """
        self._require_fitted()
        history = self._context(context)
        vocab = self.vocab_size
        top = len(history) + 1
        p = np.full(vocab, 1.0 / vocab)
        for m in range(1, top + 1):
            if self.config.smoothing == "add-k" and m < top:
                continue
            level = self._levels_raw[m - 1] if m == top else self._levels_cont[m - 1]
            ctx = self._walk(history[len(history) - (m - 1) :])
            counts = np.zeros(vocab, dtype=np.int64)
            if ctx >= 0:
                lo, hi = np.searchsorted(level.keys, [ctx * vocab, (ctx + 1) * vocab])
                counts[level.keys[lo:hi] - ctx * vocab] = level.counts[lo:hi]
            total = level.context_total[ctx] if ctx >= 0 else 0.0
            gamma = level.context_gamma[ctx] if ctx >= 0 else 0.0
            p = self._estimate(counts, total, gamma, p, level)
        return p

    def prob(self, context: Sequence[int] | npt.ArrayLike, token: int) -> float:
        """p(token | context); see :meth:`distribution` for how the context is read."""
        if not (isinstance(token, (int, np.integer)) and 0 <= token < self.vocab_size):
            raise DataError(f"token must be an id in 0…{self.vocab_size - 1}, got {token!r}")
        return float(self.distribution(context)[int(token)])

    def nll(self, sequences: Iterable[Sequence[int] | npt.ArrayLike]) -> tuple[float, int]:
        """(Σ −log p(w_i | h_i) in nats, number of predicted tokens) over ``sequences``, <eos> included."""
        self._require_fitted()
        layout = self._layout(sequences)
        p = self._target_probs(layout)
        return float(-np.log(p).sum()), int(p.size)

    def log_prob(self, sequence: Sequence[int] | npt.ArrayLike) -> float:
        """log p(sequence) in nats: the sum over its tokens and, with eos_id set, its end."""
        return -self.nll([sequence])[0]

    def perplexity(self, sequences: Iterable[Sequence[int] | npt.ArrayLike]) -> float:
        """exp(mean NLL per predicted token), the neural model's definition."""
        total, count = self.nll(sequences)
        if count == 0:
            raise DataError("nothing to evaluate: the sequences hold no token to predict")
        return math.exp(total / count)

    def _target_probs(self, layout: _Layout) -> FloatArray:
        """p(w_i | h_i) at every predicted position, all orders vectorised over positions."""
        vocab = self.vocab_size
        targets = layout.tokens[layout.predicted]
        # The longest context a position has: n − 1, or fewer at a stream's start.
        top = np.minimum(self.n, layout.offsets[layout.predicted] + 1)
        p = np.full(targets.shape, 1.0 / vocab)
        gram_id = np.zeros(0, dtype=np.int64)
        for m in range(1, self.n + 1):
            ctx = self._context_ids(gram_id, layout.offsets, m)
            gram_id = _lookup(self._keys[m - 1], ctx, layout.tokens, vocab)
            ctx_t, gram_t = ctx[layout.predicted], gram_id[layout.predicted]
            uses = [(self._levels_raw[m - 1], top == m)]
            if m < self.n and self.config.smoothing != "add-k":
                uses.append((self._levels_cont[m - 1], top > m))
            for level, where in uses:
                if not where.any():
                    continue
                c, g = ctx_t[where], gram_t[where]
                counts = np.where(g >= 0, level.counts[np.maximum(g, 0)], 0)
                total = np.where(c >= 0, level.context_total[np.maximum(c, 0)], 0.0)
                gamma = np.where(c >= 0, level.context_gamma[np.maximum(c, 0)], 0.0)
                p[where] = self._estimate(counts, total, gamma, p[where], level)
        return p

    def _estimate(
        self,
        counts: IntArray,
        total: FloatArray | float,
        gamma: FloatArray | float,
        lower: FloatArray,
        level: _Level,
    ) -> FloatArray:
        """One order's probability from its counts and the lower order's ``lower`` (elementwise).

        add-k: (c + k) / (c(h) + kV), ignoring ``lower``. Kneser–Ney:
        (c − D(c) + Σ_w D(c(h w)) · lower) / c(h), or ``lower`` itself when c(h) = 0.
        """
        if self.config.smoothing == "add-k":
            k = self.config.k
            return (counts + k) / (np.asarray(total, dtype=np.float64) + k * self.vocab_size)
        total_arr = np.asarray(total, dtype=np.float64)
        numerator = counts - level.discount(counts) + gamma * lower
        seen = total_arr > 0
        return np.where(seen, numerator / np.where(seen, total_arr, 1.0), lower)

    # ------------------------------------------------------------------ helpers

    def _context_ids(self, gram_id: IntArray, offsets: IntArray, m: int) -> IntArray:
        """For order m, the id of each position's context: the (m−1)-gram ending just before it.

        Order 1 has the single empty context (id 0). Otherwise ``gram_id`` holds the (m−1)-gram id
        ending at each position, shifted by one; −1 where the context would cross the sequence start.
        """
        if m == 1:
            return np.zeros(len(offsets), dtype=np.int64)
        ctx = np.full(len(offsets), -1, dtype=np.int64)
        ctx[1:] = gram_id[:-1]
        ctx[offsets < m - 1] = -1
        return ctx

    def _walk(self, history: Sequence[int]) -> int:
        """Id of the (len(history))-gram ``history`` in its order's table (0 for the empty one), or −1."""
        ctx = 0
        for m, token in enumerate(history, start=1):
            found = _lookup(self._keys[m - 1], np.array([ctx]), np.array([token]), self.vocab_size)
            ctx = int(found[0])
            if ctx < 0:
                return -1
        return ctx

    def _context(self, context: Sequence[int] | npt.ArrayLike) -> list[int]:
        """The last ≤ n − 1 tokens of a user context, <bos>-padded in sequence mode."""
        arr = _as_ids(context, "context", self.vocab_size)
        if self.bos_id is not None:
            arr = np.concatenate([np.full(self.n - 1, self.bos_id, dtype=np.int64), arr])
        return [int(t) for t in arr[len(arr) - min(len(arr), self.n - 1) :]]

    def _layout(self, sequences: Iterable[Sequence[int] | npt.ArrayLike]) -> _Layout:
        """Concatenate the sequences as the model reads them: <bos>^{n−1} w_1 … w_m <eos>."""
        if isinstance(sequences, (str, bytes)):
            raise DataError(
                "sequences must be token ids, not text; map characters to ids with a vocabulary first"
            )
        pad = self.n - 1 if self.bos_id is not None else 0
        head = np.full(pad, self.bos_id if self.bos_id is not None else 0, dtype=np.int64)
        tail = np.array([] if self.eos_id is None else [self.eos_id], dtype=np.int64)
        pieces: list[IntArray] = []
        for i, seq in enumerate(sequences):
            arr = _as_ids(seq, f"sequence {i}", self.vocab_size)
            pieces += [head, arr, tail]
        if not pieces:
            return _Layout(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
        lengths = np.array([len(p) for p in pieces], dtype=np.int64).reshape(-1, 3).sum(axis=1)
        tokens = np.concatenate(pieces)
        starts = np.cumsum(lengths) - lengths
        offsets = np.arange(len(tokens), dtype=np.int64) - np.repeat(starts, lengths)
        return _Layout(tokens, offsets, offsets >= pad)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise ConfigError(
                "this n-gram model has no counts yet; call fit(sequences) or NGramLM.load(path)"
            )

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one ``.npz`` (arrays + JSON metadata, no pickle), atomically."""
        self._require_fitted()
        path = Path(path)
        meta = {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "vocab_size": self.vocab_size,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
            "discounts": {str(m): list(d) for m, d in self.discounts().items()},
            "fit_seconds": self.fit_seconds,
        }
        arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
        for m in range(1, self.n + 1):
            arrays[f"keys_{m}"] = self._keys[m - 1]
            arrays[f"raw_{m}"] = self._raw[m - 1]
            if m < self.n:
                arrays[f"cont_{m}"] = self._cont[m - 1]
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        # Rename last, so a crash never leaves a half-written model under the real name.
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> NGramLM:
        """Rebuild a model written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format_version") != FORMAT_VERSION:
                    raise CheckpointError(
                        f"{path} has n-gram format {meta.get('format_version')!r}, this rnnlab reads "
                        f"{FORMAT_VERSION}; refit the model"
                    )
                model = cls(
                    NGramConfig.from_dict(meta["config"]),
                    meta["vocab_size"],
                    bos_id=meta["bos_id"],
                    eos_id=meta["eos_id"],
                )
                n = model.n
                model._keys = [data[f"keys_{m}"].astype(np.int64) for m in range(1, n + 1)]
                model._raw = [data[f"raw_{m}"].astype(np.int64) for m in range(1, n + 1)]
                model._cont = [data[f"cont_{m}"].astype(np.int64) for m in range(1, n)]
                model.fit_seconds = meta.get("fit_seconds")
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as err:
            if isinstance(err, CheckpointError):
                raise
            raise CheckpointError(
                f"cannot read an n-gram model from {path}: {err}; save it again with save()"
            ) from err
        if any(len(k) != len(r) for k, r in zip(model._keys, model._raw, strict=True)):
            raise CheckpointError(f"{path} is inconsistent (keys and counts differ in length); save it again")
        model._build_levels()
        return model


def _lookup(keys: IntArray, ctx: IntArray, tokens: IntArray, vocab: int) -> IntArray:
    """Index of ``ctx · V + token`` in the sorted ``keys``, or −1 where absent (or where ctx = −1)."""
    if len(keys) == 0:  # an order no sequence was long enough to reach
        return np.full(len(tokens), -1, dtype=np.int64)
    wanted = ctx * vocab + tokens
    idx = np.searchsorted(keys, wanted)
    idx = np.minimum(idx, len(keys) - 1)
    found = (ctx >= 0) & (keys[idx] == wanted)
    return np.where(found, idx, -1).astype(np.int64)


def _as_ids(seq: Sequence[int] | npt.ArrayLike, what: str, vocab: int) -> IntArray:
    """A 1-D int64 array of ids in 0…V−1, or a DataError saying what is wrong with ``seq``."""
    if isinstance(seq, (str, bytes)):
        raise DataError(f"{what} is text; map characters to ids with a vocabulary first")
    arr = np.asarray(seq)
    if arr.ndim != 1:
        hint = "; fit() takes a list of sequences: wrap a single stream as [stream]" if arr.ndim == 0 else ""
        raise DataError(f"{what} must be a 1-D sequence of token ids, got shape {arr.shape}{hint}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise DataError(f"{what} must hold integer token ids, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= vocab)
    if bad.any():
        j = int(np.argmax(bad))
        raise DataError(
            f"{what} has id {int(arr[j])} at position {j}, outside the vocabulary 0…{vocab - 1}; "
            "map unknown tokens to <unk> before counting, or build the model with the right vocab_size"
        )
    return arr.astype(np.int64, copy=False)
