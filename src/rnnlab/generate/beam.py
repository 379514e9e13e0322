"""Beam search for many contexts at once, with length normalisation, against the stepper protocol.

Each :class:`BeamJob` keeps its ``beam_size`` most probable continuations; the running beams of all
jobs are rows of one batch, so one ``step`` advances every beam of every job::

    rows   job A: a1 a2 a3 | job B: b1 b2 b3 | …     (k rows per running job)
    step   logits (N, V) → per job: log p of each (beam, token) = beam's log p + log softmax
           → the k best over the job's k·V candidates → parents reorder the rows (``select``)

A candidate ending in a stop id is *finished* and leaves the batch; a job ends when none of its
beams runs any more, at ``max_new_tokens``, or when no running beam can still overtake its k-th
best finished one. Hypotheses are ranked by ``log p / len^α`` (``length_penalty`` α; Wu et al. 2016),
and since log p only falls as a beam grows, the best a running beam of log p ℓ can reach is
ℓ / L^α at the longest length L = ``max_new_tokens`` (ℓ itself when α = 0) — the stopping test.

A job's processors (constraints such as a couplet's length and punctuation) see its beams'
tokens, as in sampling, so beam search and sampling honour the same constraints. With
``beam_size=1`` beam search is greedy decoding (tested). A job's results do not depend on the
jobs decoded beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.generate.processors import FloatArray, LogitsProcessor, apply_processors
from rnnlab.generate.stepper import Stepper, as_stepper


@dataclass
class Beam:
    """One hypothesis: its new ids (the stop id included when finished) and their total log-probability."""

    ids: list[int]
    log_prob: float
    finished: bool = False

    def score(self, length_penalty: float) -> float:
        """log p / len^α: what hypotheses are ranked by."""
        return self.log_prob / (max(len(self.ids), 1) ** length_penalty)


@dataclass(eq=False)
class BeamJob:
    """One context searched with ``beam_size`` beams; ``state`` as in :class:`DecodeJob` (None: fresh)."""

    context: Sequence[int]
    beam_size: int = 4
    max_new_tokens: int = 50
    stop_ids: tuple[int, ...] = ()
    length_penalty: float = 0.0
    processors: Sequence[LogitsProcessor] = ()
    state: Any = None
    running: list[Beam] = field(default_factory=list, init=False)
    finished: list[Beam] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ConfigError(f"beam_size must be ≥ 1, got {self.beam_size}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be ≥ 1, got {self.max_new_tokens}")
        if len(self.context) == 0:
            raise ConfigError("give a prompt or a prime: the model needs at least one token to start from")

    def best(self) -> list[Beam]:
        """The ``beam_size`` best hypotheses, finished or not, best first."""
        alpha = self.length_penalty
        ranked = sorted(self.finished + self.running, key=lambda b: b.score(alpha), reverse=True)
        return ranked[: self.beam_size]

    def can_improve(self) -> bool:
        """Whether a running beam could still beat the k-th best finished hypothesis."""
        if not self.running:
            return False
        if len(self.finished) < self.beam_size:
            return True
        kth = sorted((b.score(self.length_penalty) for b in self.finished), reverse=True)[self.beam_size - 1]
        best_log_prob = max(b.log_prob for b in self.running)
        reachable = best_log_prob / (self.max_new_tokens**self.length_penalty)
        return reachable > kth


def log_softmax(scores: FloatArray) -> FloatArray:
    """log p = z − log Σ e^z, with the maximum subtracted first (−∞ scores stay −∞)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _advance(job: BeamJob, logits: FloatArray) -> list[int]:
    """One step of ``job`` from its rows' logits; the parent row (within the job) of each new beam."""
    generated = np.array([b.ids for b in job.running], dtype=np.int64).reshape(len(job.running), -1)
    scores = log_softmax(apply_processors(list(job.processors), generated, logits).astype(np.float64))
    total = np.array([b.log_prob for b in job.running])[:, None] + scores
    flat = total.ravel()
    k = min(job.beam_size, int(np.isfinite(flat).sum()))
    top = np.argsort(-flat, kind="stable")[:k]
    vocab = scores.shape[1]
    parents: list[int] = []
    running: list[Beam] = []
    for index in top.tolist():
        parent, token = divmod(index, vocab)
        beam = Beam([*job.running[parent].ids, token], float(flat[index]))
        if token in job.stop_ids:
            beam.finished = True
            job.finished.append(beam)
        else:
            parents.append(parent)
            running.append(beam)
    job.running = running
    if len(job.running[0].ids if job.running else ()) >= job.max_new_tokens or not job.can_improve():
        job.finished += job.running  # out of room (or hopeless): they compete as they are
        job.running, parents = [], []
    return parents


def beam_search_batch(model: Any, jobs: Sequence[BeamJob]) -> list[list[Beam]]:
    """Search every job to its end in one batch; each job's best hypotheses, best first."""
    stepper: Stepper = as_stepper(model)
    states, logits_parts = [], []
    for job in jobs:
        job.running, job.finished = [Beam([], 0.0)], []
        logits, state = stepper.prefill(np.asarray(job.context, dtype=np.int64)[:, None], job.state)
        states.append(state)
        logits_parts.append(logits)
    state = stepper.concat(states) if len(states) > 1 else states[0] if states else None
    logits = np.concatenate(logits_parts) if logits_parts else np.zeros((0, 0), dtype=np.float32)
    active = list(jobs)
    while active:
        rows: list[int] = []
        tokens: list[int] = []
        start = 0
        still: list[BeamJob] = []
        for job in active:
            n = len(job.running)
            parents = _advance(job, logits[start : start + n])
            rows += [start + p for p in parents]
            tokens += [b.ids[-1] for b in job.running]
            if job.running:
                still.append(job)
            start += n
        active = still
        if not active:
            break
        state = stepper.select(state, np.asarray(rows, dtype=np.intp))
        logits, state = stepper.step(np.asarray(tokens, dtype=np.int64), state)
    return [job.best() for job in jobs]


def beam_search(
    model: Any,
    prompt: Sequence[int],
    beam_size: int = 4,
    max_new_tokens: int = 50,
    stop_ids: Sequence[int] = (),
    length_penalty: float = 0.0,
    prime: Sequence[int] = (),
    processors: Sequence[LogitsProcessor] = (),
    state: Any = None,
) -> list[Beam]:
    """Beam search for one context (``prime`` then ``prompt``); the best hypotheses, best first."""
    job = BeamJob(
        [*prime, *prompt], beam_size, max_new_tokens, tuple(stop_ids), length_penalty, processors, state
    )
    return beam_search_batch(model, [job])[0]
