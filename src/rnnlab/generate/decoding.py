"""Incremental decoding for recurrent language models: sampling and greedy (beam search: ``beam``).

A recurrent model summarises the past in its state, so each new token costs one step:

    prime ─▶ state ─ prompt ─▶ state, logits ─ pick x₁ ─▶ step(x₁) ─ pick x₂ ─▶ …

The prime (a style text, the tutorial's ``prefix_words``) only warms the state up and never
appears in the output; the prompt warms it up *and* is the start of the text.

Decoding is written once, in NumPy, against the stepper protocol of
:mod:`rnnlab.generate.stepper`; a torch module such as ``RNNLM`` is wrapped automatically, and
:mod:`rnnlab.inference` steps the same models without torch.

**Batches that change while they run.** :class:`DecodeBatch` holds rows of several
:class:`DecodeJob` s (a job is one context continued ``num_samples`` times). Each step picks one
token for every row, then rows whose sequence ended leave (``select``) and the others are
stepped together; a job added between two steps joins (``prefill`` then ``concat``)::

    step   1  2  3  4  5  6  7
    job A  ■  ■  ■  ■  ·           ■ = a token for each of A's rows, · = A has left
    job B        ■  ■  ■  ■  ■     B joined after step 2

Every row keeps its own processors (the job's constraints), temperature, top-k, top-p and random
generator, so a row's tokens do not depend on which rows it shared a batch with: a request
answered in a busy batch equals the same request answered alone (same seed, same logits).
``sample`` is a batch holding one job, so there is one decoding loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError
from rnnlab.generate.processors import (
    BanTokens,
    FloatArray,
    IntArray,
    LogitsProcessor,
    RepetitionPenalty,
    apply_processors,
    sampling_processors,
)
from rnnlab.generate.sampling import RowSettings, pick
from rnnlab.generate.stepper import Stepper, as_stepper


@dataclass
class DecodeConfig:
    """How to pick tokens; every field has the conventional meaning of Hugging Face's ``generate``."""

    max_new_tokens: int = 200  # stop after this many tokens even without an end token
    temperature: float = 1.0  # 0 = greedy (always the most likely token)
    top_k: int = 0  # keep the k most likely tokens; 0 = off
    top_p: float = 1.0  # nucleus: smallest set with probability ≥ p; 1 = off
    repetition_penalty: float = 1.0  # > 1 discourages tokens already generated; 1 = off
    num_samples: int = 1  # independent continuations decoded together as one batch
    seed: int | None = None  # fixes the draws; None = fresh randomness every call
    stop_ids: tuple[int, ...] = ()  # a sequence ends after emitting one of these (e.g. <eos>)
    banned_ids: tuple[int, ...] = field(default_factory=tuple)  # never emitted (e.g. <pad>, <unk>)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 0:
            raise ConfigError(f"max_new_tokens must be ≥ 0, got {self.max_new_tokens}")
        if self.num_samples < 1:
            raise ConfigError(f"num_samples must be ≥ 1, got {self.num_samples}")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be ≥ 0 (0 = greedy), got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be ≥ 0 (0 = off), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if not self.repetition_penalty > 0:
            raise ConfigError(f"repetition_penalty must be > 0 (1 = off), got {self.repetition_penalty}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def processors(self) -> list[LogitsProcessor]:
        """The whole chain as processors: banned tokens, penalty, temperature, top-k, top-p."""
        temperature = 1.0 if self.greedy else self.temperature
        return self.row_processors() + sampling_processors(temperature, self.top_k, self.top_p)

    def row_processors(self) -> list[LogitsProcessor]:
        """The part of the chain that needs each row's history: banned tokens and the penalty.

        Temperature, top-k and top-p follow in :class:`DecodeBatch`, vectorised over all rows.
        """
        chain: list[LogitsProcessor] = [BanTokens(tuple(self.banned_ids))] if self.banned_ids else []
        if self.repetition_penalty != 1.0:
            chain.append(RepetitionPenalty(self.repetition_penalty))
        return chain


def row_generators(seed: int | None, rows: int) -> list[np.random.Generator]:
    """One independent generator per row, from ``seed`` (fresh entropy when None).

    Row i's draws depend on (seed, i) only, not on the rows decoded beside it.
    """
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(rows)]


@dataclass(eq=False)
class DecodeJob:
    """One context continued ``config.num_samples`` times; its rows decode inside a DecodeBatch.

    ``context`` is the prime followed by the prompt (at least one token); its last token makes
    the first prediction. ``processors`` run before the config's own chain (constraints such
    as poem forms). ``state`` is the stepper's state of one row before the context (None: a
    fresh row); an encoder–decoder passes its encoded source here.
    """

    context: Sequence[int]
    config: DecodeConfig = field(default_factory=DecodeConfig)
    processors: Sequence[LogitsProcessor] = ()
    state: Any = None

    def __post_init__(self) -> None:
        if len(self.context) == 0:
            raise ConfigError("give a prompt or a prime: the model needs at least one token to start from")
        n, limit = self.config.num_samples, self.config.max_new_tokens
        self.chain: list[LogitsProcessor] = [*self.processors, *self.config.row_processors()]
        self.tokens: IntArray = np.zeros((n, limit), dtype=np.int64)  # row i's tokens: tokens[i, :lengths[i]]
        self.length = 0  # tokens generated so far by the rows still running (they advance together)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.alive = np.arange(n if limit > 0 else 0)  # the rows still running, in order
        self.stop = np.asarray(self.config.stop_ids, dtype=np.int64)

    @property
    def done(self) -> bool:
        return len(self.alive) == 0

    def generated(self) -> IntArray:
        """The running rows' tokens so far, (rows, t): what the processors see."""
        if len(self.alive) == len(self.tokens):
            return self.tokens[:, : self.length]
        return self.tokens[self.alive, : self.length]

    def record(self, tokens: IntArray) -> NDArray[np.bool_] | None:
        """Append one token to each running row; which of them end with it (None: none do)."""
        self.tokens[self.alive, self.length] = tokens
        self.length += 1
        if self.length >= self.config.max_new_tokens:
            ended = np.ones(len(tokens), dtype=bool)
        elif self.stop.size:
            ended = (tokens[:, None] == self.stop).any(axis=1)
            if not ended.any():
                return None
        else:
            return None
        self.lengths[self.alive[ended]] = self.length
        self.alive = self.alive[~ended]
        return ended

    def outputs(self) -> list[list[int]]:
        """Each row's new tokens, its stop id included."""
        return [self.tokens[i, : self.lengths[i]].tolist() for i in range(len(self.lengths))]


class DecodeBatch:
    """Rows of several jobs decoded together; jobs join with :meth:`add` between steps.

    Row layout: the rows of a job are contiguous and keep their order, so a job's rows are a
    slice of every per-row array; rows that finish are removed, new jobs append at the end.
    """

    def __init__(self, model: Any) -> None:
        self.stepper: Stepper = as_stepper(model)
        self.jobs: list[DecodeJob] = []
        self.spans: list[tuple[DecodeJob, int, int]] = []  # each job's rows [a, b) in the batch
        self.temperature = np.zeros(0)
        self.top_k = np.zeros(0, dtype=np.int64)
        self.top_p = np.zeros(0)
        self.rngs: list[np.random.Generator] = []
        self.logits: FloatArray = np.zeros((0, 0), dtype=np.float32)  # (N, V): next-token logits
        self.state: Any = None

    def __len__(self) -> int:
        """Rows decoding now."""
        return len(self.rngs)

    def add(self, job: DecodeJob) -> None:
        """Read the job's context and append its rows; a job with nothing to generate ends at once."""
        self.add_all([job])

    def add_all(self, jobs: Sequence[DecodeJob]) -> None:
        """Add several jobs; contexts of one length from fresh rows are read as one batch.

        The server admits several waiting requests at a time: reading their prompts together
        costs about what one costs, since a recurrent step over k rows reads the weights once.
        """
        groups: dict[int, list[DecodeJob]] = {}
        for job in jobs:
            if job.done:
                continue
            if job.state is None:
                groups.setdefault(len(job.context), []).append(job)
            else:  # its own initial state (an encoded source): read on its own
                self._join([job], *self.stepper.prefill(np.asarray(job.context)[:, None], job.state))
        for group in groups.values():
            contexts = np.array([job.context for job in group], dtype=np.int64).T  # (T, k)
            self._join(group, *self.stepper.prefill(contexts, None))

    def _join(self, jobs: list[DecodeJob], logits: FloatArray, state: Any) -> None:
        """Append ``jobs``, whose contexts gave one row each of ``logits``/``state``, each row
        repeated for its job's samples."""
        counts = [job.config.num_samples for job in jobs]
        repeat = np.repeat(np.arange(len(jobs)), counts)
        state, logits = self.stepper.select(state, repeat), logits[repeat]
        if len(self):
            self.state = self.stepper.concat([self.state, state])
            self.logits = np.concatenate([self.logits, logits])
        else:
            self.state, self.logits = state, logits
        for job, n in zip(jobs, counts, strict=True):
            config = job.config
            self.jobs.append(job)
            self.temperature = np.concatenate([self.temperature, np.full(n, config.temperature)])
            self.top_k = np.concatenate([self.top_k, np.full(n, config.top_k, dtype=np.int64)])
            self.top_p = np.concatenate([self.top_p, np.full(n, config.top_p)])
            self.rngs += row_generators(config.seed, n)
        self._span()

    def _span(self) -> None:
        """Recompute what depends on the row layout: each job's span and the rows' settings."""
        self.settings = RowSettings.of(self.temperature, self.top_k, self.top_p)
        self.spans, start = [], 0
        for job in self.jobs:
            self.spans.append((job, start, start + len(job.alive)))
            start += len(job.alive)

    def step(self) -> list[DecodeJob]:
        """One token for every row; returns the jobs that finished with it."""
        if not len(self):
            return []
        # 1. each job's own processors (constraints, banned tokens, penalty) on its rows
        parts = [
            apply_processors(job.chain, job.generated(), self.logits[a:b]) if job.chain else self.logits[a:b]
            for job, a, b in self.spans
        ]
        scores = parts[0] if len(parts) == 1 else np.concatenate(parts)
        # 2. temperature, top-k, top-p and the draw, vectorised over rows with their own settings
        tokens = pick(scores, self.settings, self.rngs)
        # 3. record; rows end after a stop id or at the length limit
        leaving: NDArray[np.bool_] | None = None
        finished = []
        for job, a, b in self.spans:
            ended = job.record(tokens[a:b])
            if ended is not None:
                if leaving is None:
                    leaving = np.zeros(len(self), dtype=bool)
                leaving[a:b] = ended
                if job.done:
                    finished.append(job)
        # 4. the rows that go on are stepped together
        if leaving is not None:
            tokens = tokens[~leaving]
            self._keep(np.flatnonzero(~leaving))
        if len(self):
            self.logits, self.state = self.stepper.step(tokens, self.state)
        return finished

    def _keep(self, rows: NDArray[np.intp]) -> None:
        self.jobs = [job for job in self.jobs if not job.done]
        self.temperature, self.top_k, self.top_p = self.temperature[rows], self.top_k[rows], self.top_p[rows]
        self._span()
        self.rngs = [self.rngs[i] for i in rows.tolist()]
        self.logits = self.logits[rows]
        self.state = self.stepper.select(self.state, rows) if len(rows) else None


def decode(model: Any, jobs: Sequence[DecodeJob]) -> list[DecodeJob]:
    """Run ``jobs`` to the end as one batch; returns them (their ``outputs()`` hold the tokens)."""
    batch = DecodeBatch(model)
    batch.add_all(jobs)
    while len(batch):
        batch.step()
    return list(jobs)


def warm_up(model: Any, ids: Sequence[int], num: int, state: Any = None) -> tuple[FloatArray | None, Any]:
    """Feed ``ids`` to ``num`` copies of the model at once; return the last logits (N, V) and the state."""
    if not ids:
        return None, state
    stepper = as_stepper(model)
    context = np.repeat(np.asarray(ids, dtype=np.int64)[:, None], num, axis=1)
    return stepper.prefill(context, state)


def sample(
    model: Any,
    prompt: Sequence[int],
    config: DecodeConfig | None = None,
    prime: Sequence[int] = (),
    processors: Sequence[LogitsProcessor] = (),
) -> list[list[int]]:
    """Continue ``prompt`` ``config.num_samples`` times; returns the new ids of each continuation.

    ``model`` is a stepper or a torch module (see :mod:`rnnlab.generate.stepper`). ``processors``
    run before the sampling filters (use them for constraints such as poem forms). A
    continuation stops after a stop id (which is kept) or ``max_new_tokens``.
    """
    job = DecodeJob([*prime, *prompt], config or DecodeConfig(), processors)
    decode(model, [job])
    return job.outputs()
