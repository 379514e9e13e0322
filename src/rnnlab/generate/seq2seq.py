"""Decoding many sources with an encoder–decoder: sampling, greedy or beam search, in batches.

An encoder–decoder's stepper adds one method to the protocol of :mod:`rnnlab.generate.stepper`,
``encode(sources) -> state``: the decoder's initial state of each source, one row per source. Each
source then becomes a job whose ``state`` is its row, started from ``<bos>``::

    sources ─ encode (one padded batch) ─▶ rows ─ select(i) ─▶ DecodeJob / BeamJob([<bos>], state=row i)
                                                         ─▶ decode / beam_search_batch ─▶ ids up to <eos>

Sources are taken ``batch`` at a time, so memory stays bounded for a whole test file. What a
source gets does not depend on the sources decoded beside it (rows keep their own seeds and
processors), so batched decoding equals decoding one at a time (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rnnlab.errors import ConfigError
from rnnlab.generate.beam import BeamJob, beam_search_batch
from rnnlab.generate.decoding import DecodeConfig, DecodeJob, decode
from rnnlab.generate.processors import LogitsProcessor

ProcessorsFor = Callable[[int], Sequence[LogitsProcessor]]  # source index → its processors


def translate(
    stepper: Any,
    sources: Sequence[Sequence[int]],
    *,
    bos_id: int,
    eos_id: int,
    max_new_tokens: int | Sequence[int],
    config: DecodeConfig | None = None,
    beam: int = 0,
    length_penalty: float = 1.0,
    processors: ProcessorsFor | None = None,
    batch: int = 256,
) -> list[list[list[int]]]:
    """For each source, its outputs as ids (without the ``<eos>``).

    ``beam`` = 0 samples (``config``: temperature 0 is greedy; ``num_samples`` outputs per
    source); ``beam`` ≥ 1 returns the ``config.num_samples`` best of ``beam`` beams, ranked by
    log p / len^``length_penalty``. ``max_new_tokens`` is one limit or one per source (the <eos>
    counts). ``stepper`` needs ``encode`` besides the stepper protocol.
    """
    if batch < 1:
        raise ConfigError(f"batch must be ≥ 1, got {batch}")
    config = config or DecodeConfig(temperature=0.0)
    limits = [max_new_tokens] * len(sources) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(limits) != len(sources):
        raise ConfigError(f"{len(limits)} length limits for {len(sources)} sources; give one per source")
    if beam and config.num_samples > beam:
        raise ConfigError(
            f"beam search keeps {beam} hypotheses; ask for at most {beam} outputs, not {config.num_samples}"
        )
    out: list[list[list[int]]] = []
    for start in range(0, len(sources), batch):
        chunk = list(range(start, min(start + batch, len(sources))))
        chains = [list(processors(i)) if processors else [] for i in chunk]
        rows = encoded_rows(stepper, [sources[i] for i in chunk])
        if beam:
            jobs = [
                BeamJob([bos_id], beam, limits[i], (eos_id,), length_penalty, chain, row)
                for i, chain, row in zip(chunk, chains, rows, strict=True)
            ]
            for beams in beam_search_batch(stepper, jobs):
                out.append([_strip(b.ids, eos_id) for b in beams[: config.num_samples]])
        else:
            decode_jobs = source_jobs(rows, [limits[i] for i in chunk], chains, config, bos_id, eos_id)
            decode(stepper, decode_jobs)
            out += [outputs(job, eos_id) for job in decode_jobs]
    return out


def encoded_rows(stepper: Any, sources: Sequence[Sequence[int]]) -> list[Any]:
    """Each source's encoded state as a row of its own (encoded together, in one padded batch)."""
    state = stepper.encode(sources)
    return [stepper.select(state, np.array([j], dtype=np.intp)) for j in range(len(sources))]


def source_jobs(
    rows: Sequence[Any],
    limits: Sequence[int],
    chains: Sequence[Sequence[LogitsProcessor]],
    config: DecodeConfig,
    bos_id: int,
    eos_id: int,
) -> list[DecodeJob]:
    """One sampling/greedy job per encoded source row, started from ``<bos>`` (see the module docstring)."""
    return [
        DecodeJob([bos_id], replace(config, max_new_tokens=limit, stop_ids=(eos_id,)), chain, row)
        for row, limit, chain in zip(rows, limits, chains, strict=True)
    ]


def outputs(job: DecodeJob, eos_id: int) -> list[list[int]]:
    """A finished job's outputs without their ``<eos>``."""
    return [_strip(ids, eos_id) for ids in job.outputs()]


def _strip(ids: Sequence[int], eos_id: int) -> list[int]:
    ids = list(ids)
    return ids[:-1] if ids and ids[-1] == eos_id else ids
