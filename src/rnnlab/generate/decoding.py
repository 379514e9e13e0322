"""Incremental decoding for recurrent language models: sampling, greedy and beam search.

A recurrent model summarises the past in its state, so each new token costs one step:

    prime ─▶ state ─ prompt ─▶ state, logits ─ pick x₁ ─▶ step(x₁) ─ pick x₂ ─▶ …

The prime (a style text, the tutorial's ``prefix_words``) only warms the state up and never
appears in the output; the prompt warms it up *and* is the start of the text.

Any model with ``forward(ids (T, N), state) -> (logits (T, N, V), state)`` decodes here;
``RNNLM`` is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError
from rnnlab.generate.processors import BanTokens, LogitsProcessor, apply_processors, sampling_processors


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

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def processors(self) -> list[LogitsProcessor]:
        chain: list[LogitsProcessor] = [BanTokens(tuple(self.banned_ids))] if self.banned_ids else []
        temperature = 1.0 if self.greedy else self.temperature
        return chain + sampling_processors(temperature, self.top_k, self.top_p, self.repetition_penalty)


def _device_of(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def warm_up(model: nn.Module, ids: Sequence[int], num: int, state: Any = None) -> tuple[Tensor | None, Any]:
    """Feed ``ids`` to ``num`` copies of the model at once; return the last logits (N, V) and the state."""
    if not ids:
        return None, state
    x = torch.tensor(list(ids), dtype=torch.long, device=_device_of(model)).unsqueeze(1).expand(-1, num)
    logits, state = model(x, state)
    return logits[-1], state


@torch.no_grad()
def sample(
    model: nn.Module,
    prompt: Sequence[int],
    config: DecodeConfig | None = None,
    prime: Sequence[int] = (),
    processors: Sequence[LogitsProcessor] = (),
) -> list[list[int]]:
    """Continue ``prompt`` ``config.num_samples`` times; returns the new ids of each continuation.

    ``processors`` run before the sampling filters (use them for constraints such as poem
    forms). A continuation stops after a stop id (which is kept) or ``max_new_tokens``.
    """
    config = config or DecodeConfig()
    if not prompt and not prime:
        raise ConfigError("give a prompt or a prime: the model needs at least one token to start from")
    was_training = model.training
    model.eval()
    try:
        return _sample(model, list(prompt), config, list(prime), list(processors))
    finally:
        if was_training:
            model.train()


def _sample(
    model: nn.Module,
    prompt: list[int],
    config: DecodeConfig,
    prime: list[int],
    extra: list[LogitsProcessor],
) -> list[list[int]]:
    n = config.num_samples
    device = _device_of(model)
    generator = torch.Generator(device=device)
    if config.seed is None:
        generator.seed()
    else:
        generator.manual_seed(config.seed)
    # 1. warm the state up with the prime, then with the prompt (all but its last token)
    context = prime + prompt
    _, state = warm_up(model, context[:-1], n)
    # 2. the last context token produces the first prediction
    last = torch.full((n,), context[-1], dtype=torch.long, device=device)
    chain = extra + config.processors()
    generated = torch.empty(n, 0, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    stop = torch.tensor(config.stop_ids, dtype=torch.long, device=device)
    for _ in range(config.max_new_tokens):
        logits, state = model(last.unsqueeze(0), state)  # one step: (1, N, V)
        scores = apply_processors(chain, generated, logits[0].float())
        # 3. pick: argmax for greedy, else a draw from softmax of the filtered scores
        if config.greedy:
            token = scores.argmax(dim=-1)
        else:
            token = torch.multinomial(scores.softmax(dim=-1), 1, generator=generator).squeeze(1)
        generated = torch.cat([generated, token.unsqueeze(1)], dim=1)
        done |= torch.isin(token, stop)
        if bool(done.all()):
            break
        last = token
    return [_cut_at_stop(row.tolist(), config.stop_ids) for row in generated]


def _cut_at_stop(ids: list[int], stop_ids: Sequence[int]) -> list[int]:
    for i, token in enumerate(ids):
        if token in stop_ids:
            return ids[: i + 1]
    return ids


@dataclass
class Beam:
    ids: list[int]
    log_prob: float
    finished: bool = False


@torch.no_grad()
def beam_search(
    model: nn.Module,
    prompt: Sequence[int],
    beam_size: int = 4,
    max_new_tokens: int = 50,
    stop_ids: Sequence[int] = (),
    length_penalty: float = 0.0,
    prime: Sequence[int] = (),
    processors: Sequence[LogitsProcessor] = (),
) -> list[Beam]:
    """Keep the ``beam_size`` most probable continuations at every step; best first.

    Scores are log-probabilities divided by len^α (``length_penalty`` = α, Wu et al. 2016;
    0 = plain sum). Finished beams (ended by a stop id) compete with running ones.
    """
    if beam_size < 1:
        raise ConfigError(f"beam_size must be ≥ 1, got {beam_size}")
    context = list(prime) + list(prompt)
    if not context:
        raise ConfigError("give a prompt or a prime: the model needs at least one token to start from")
    model.eval()
    device = _device_of(model)
    _, state = warm_up(model, context[:-1], 1)
    beams = [Beam([], 0.0)]
    last = torch.tensor([context[-1]], device=device)
    finished: list[Beam] = []

    def score(b: Beam) -> float:
        return b.log_prob / (max(len(b.ids), 1) ** length_penalty)

    for _ in range(max_new_tokens):
        logits, state = model(last.unsqueeze(0), state)
        generated = torch.tensor([b.ids for b in beams], dtype=torch.long, device=device).reshape(
            len(beams), -1
        )
        scores = apply_processors(list(processors), generated, logits[0].float()).log_softmax(dim=-1)
        total = torch.tensor([b.log_prob for b in beams], device=device).unsqueeze(1) + scores
        flat = total.flatten()
        k = min(beam_size, int(torch.isfinite(flat).sum()))
        if k == 0:
            break
        top = flat.topk(k)
        vocab = scores.shape[1]
        candidates = []
        for value, index in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            parent, token = divmod(index, vocab)
            beam = Beam([*beams[parent].ids, token], value)
            if token in stop_ids:
                beam.finished = True
                finished.append(beam)
            else:
                candidates.append((parent, beam))
        if not candidates:
            break
        parents = torch.tensor([p for p, _ in candidates], device=device)
        state = _select_state(state, parents)
        beams = [b for _, b in candidates]
        last = torch.tensor([b.ids[-1] for b in beams], device=device)
        if length_penalty == 0 and len(finished) >= beam_size:
            best_finished = sorted((b.log_prob for b in finished), reverse=True)[:beam_size]
            if max(b.log_prob for b in beams) < best_finished[-1]:
                break  # log-probabilities only fall, so no running beam can overtake these
    return sorted(finished + beams, key=score, reverse=True)[:beam_size]


def _select_state(state: Any, index: Tensor) -> Any:
    """Reorder the batch dimension (dim 1) of a state: h, or (h, c)."""
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)
