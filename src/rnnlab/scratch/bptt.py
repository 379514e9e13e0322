"""How far the gradient travels back in time: full, truncated-k and randomly truncated (ARTBP) BPTT.

With per-step losses L = Σ_t E_t and the state recursion s_t = F(x_t, s_{t−1}; θ), the gradient of
one loss term with respect to the parameters used at step j ≤ t is

    ∂E_t/∂θ|_j = ∂E_t/∂s_t · ∏_{m=j+1}^{t} ∂s_m/∂s_{m−1} · ∂⁺s_j/∂θ,

and full BPTT sums it over every pair j ≤ t. The policies here decide which pairs (t, j) count and
with what weight w(t, j):

    full            w = 1 for every j ≤ t
    truncated-k     w = 1 if t − j < k else 0   (each E_t reaches back k steps: j = t, …, t−k+1)
    random (ARTBP)  a cut is drawn at every step m with probability c; w(t, j) = 0 if a cut lies in
                    (j, t], else (1 − c)^{−(t−j)}  — the compensation that keeps E[w] = 1

    step:       0     1     2     3     4     5
    full:       ◀─────◀─────◀─────◀─────◀─────●     E_5 reaches every step
    k = 3:                        ◀─────◀─────●     E_5 reaches steps 3, 4, 5
    ARTBP:                  ✂ ×1/(1−c) ×1/(1−c) ●   a cut before step 2; each kept link reweighted

Tallec & Ollivier (2017), "Unbiasing Truncated Backpropagation Through Time": since the cut
indicators ε_m are independent with P(ε_m = 1) = c, each kept link is multiplied by
(1 − ε_m)/(1 − c), whose expectation is 1, and the backward recursion is linear, so the expected
gradient equals the full-BPTT gradient. The distance back to the nearest cut — the truncation
length — is geometric with mean 1/c, drawn afresh along the sequence.

Each policy offers two views of the same rule: ``carry`` is what the backward recursion applies
to the gradient crossing from step t to step t−1, and ``lag_weights`` writes w(t, j) out in closed
form, which the finite-difference reference in ``gradcheck`` uses independently of the recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError, ShapeError

Array = NDArray[np.floating]


@runtime_checkable
class BackwardPolicy(Protocol):
    """What the BPTT engine needs to know about a truncation rule."""

    @property
    def buckets(self) -> int:
        """How many age buckets the carried gradient keeps apart (1 unless ages matter)."""
        ...

    def carry(self, delta: Array, t: int) -> Array:
        """The gradient (buckets, B, H) that crosses from step t back to step t−1, after the rule."""
        ...

    def lag_weights(self, length: int) -> Array:
        """w(t, j) as a (length, length) matrix, zero above the diagonal (j > t)."""
        ...


@dataclass(frozen=True)
class FullBPTT:
    """Back-propagate every loss term to the first step."""

    @property
    def buckets(self) -> int:
        """One bucket: all ages are summed."""
        return 1

    def carry(self, delta: Array, t: int) -> Array:
        """Pass the gradient on unchanged."""
        return delta

    def lag_weights(self, length: int) -> Array:
        """w(t, j) = 1 for j ≤ t."""
        return np.tril(np.ones((length, length)))


@dataclass(frozen=True)
class TruncatedBPTT:
    """Each loss term E_t reaches back k steps (the parameters used at steps t−k+1 … t).

    The carried gradient keeps one bucket per age a = t − j (a = 0 … k−1): crossing a step moves
    every bucket one age up and drops the one that reaches age k. That is exactly "stop the Jacobian
    product after k factors", done for all loss terms in one backward sweep at cost O(T·k).
    """

    k: int  # truncation length in steps, ≥ 1

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 1:
            raise ConfigError(
                f"truncation length k must be an integer ≥ 1, got {self.k!r}; use None for full BPTT"
            )

    @property
    def buckets(self) -> int:
        """One bucket per age 0 … k−1."""
        return int(self.k)

    def carry(self, delta: Array, t: int) -> Array:
        """Age every bucket by one step; the oldest (age k−1 → k) falls out of the window."""
        aged = np.zeros_like(delta)
        aged[1:] = delta[:-1]
        return aged

    def lag_weights(self, length: int) -> Array:
        """w(t, j) = 1 if 0 ≤ t − j < k else 0."""
        t, j = np.indices((length, length))
        return ((t - j >= 0) & (t - j < self.k)).astype(np.float64)


@dataclass(frozen=True)
class CutPattern:
    """One draw of randomly truncated BPTT: where the backward flow is cut, and the compensation.

    ``cuts[m]`` is True when the gradient is not passed from step m back to step m−1 (for m = 0:
    into the initial state). Every link that is kept is multiplied by 1/(1 − c).
    """

    cuts: NDArray[np.bool_]  # (T,)
    cut_probability: float  # c, the probability with which each cut was drawn

    def __post_init__(self) -> None:
        if not 0.0 <= self.cut_probability < 1.0:
            raise ConfigError(f"cut probability must lie in [0, 1), got {self.cut_probability}")

    @property
    def buckets(self) -> int:
        """One bucket: the reweighting is a scalar per step, it needs no ages."""
        return 1

    def carry(self, delta: Array, t: int) -> Array:
        """Cut (zero) or pass with the compensation factor 1/(1 − c)."""
        if self.cuts[t]:
            return np.zeros_like(delta)
        return delta * (1.0 / (1.0 - self.cut_probability))

    def lag_weights(self, length: int) -> Array:
        """w(t, j) = ∏_{m=j+1}^{t} (1 − ε_m)/(1 − c), written out directly."""
        link = np.where(self.cuts[:length], 0.0, 1.0 / (1.0 - self.cut_probability))
        w = np.zeros((length, length))
        for t in range(length):
            for j in range(t + 1):
                w[t, j] = float(np.prod(link[j + 1 : t + 1]))
        return w


@dataclass
class RandomTruncation:
    """Randomly truncated BPTT (ARTBP): a fresh cut pattern for every sequence it is applied to.

    ``mean_length`` is the mean truncation length 1/c. Draws come from a generator seeded with
    ``seed``, so a run is reproducible; two calls draw different patterns.
    """

    mean_length: float  # mean distance back to a cut, 1/c; must be ≥ 1
    seed: int = 0  # seed of the generator the cuts are drawn from
    _rng: np.random.Generator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.mean_length >= 1.0:
            raise ConfigError(f"mean truncation length must be ≥ 1 step, got {self.mean_length}")
        self._rng = np.random.default_rng(self.seed)

    @property
    def cut_probability(self) -> float:
        """c = 1 / mean_length."""
        return 1.0 / self.mean_length

    def draw(self, length: int) -> CutPattern:
        """Draw independent cuts ε_m ~ Bernoulli(c) for m = 0 … length−1."""
        return CutPattern(
            cuts=self._rng.random(length) < self.cut_probability, cut_probability=self.cut_probability
        )

    def to_dict(self) -> dict[str, float | int]:
        """The JSON-serialisable configuration (the generator state is not part of it)."""
        return {"mean_length": self.mean_length, "seed": self.seed}


Truncation = None | int | BackwardPolicy | RandomTruncation


def resolve_truncation(truncate: Truncation, length: int) -> BackwardPolicy:
    """Turn the ``truncate`` argument of ``loss_and_grads`` into a policy for a sequence of ``length`` steps.

    None → full BPTT; an int k → truncated to k steps; a RandomTruncation → a fresh cut pattern;
    a policy object is used as it is.
    """
    if truncate is None:
        return FullBPTT()
    if isinstance(truncate, RandomTruncation):
        return truncate.draw(length)
    if isinstance(truncate, int | np.integer) and not isinstance(truncate, bool):
        policy = TruncatedBPTT(int(truncate))
        # With k ≥ T no loss term can age out of the window: the sweep is full BPTT, done in O(T)
        # instead of O(T·k) and with full BPTT's summation order, so the results are identical.
        return FullBPTT() if policy.k >= length else policy
    if isinstance(truncate, CutPattern) and truncate.cuts.shape != (length,):
        raise ShapeError(
            f"a CutPattern for a sequence of {length} steps needs cuts of shape ({length},), "
            f"got {truncate.cuts.shape}; draw it with RandomTruncation.draw({length})"
        )
    if isinstance(truncate, BackwardPolicy):
        return truncate
    raise ConfigError(
        f"truncate must be None (full BPTT), an int k ≥ 1 (truncated), a RandomTruncation, "
        f"or a policy (FullBPTT, TruncatedBPTT, CutPattern); got {truncate!r}"
    )
