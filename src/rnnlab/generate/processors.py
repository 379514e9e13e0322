"""Logits processors: each reshapes the next-token scores before a token is chosen.

A processor is a callable ``(generated (N, t) int64, logits (N, V)) -> logits (N, V)``;
decoding applies them in order, so constraints (poem forms, banned tokens) and sampling
filters compose. Masked-out tokens get −∞, so softmax gives them probability exactly 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.errors import ConfigError

LogitsProcessor = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Temperature:
    """p_i ∝ exp(z_i / T): T < 1 sharpens, T > 1 flattens. T = 0 is greedy and handled by the decoder."""

    value: float

    def __post_init__(self) -> None:
        if not self.value > 0:
            raise ConfigError(f"temperature must be > 0 (use greedy decoding for 0), got {self.value}")

    def __call__(self, generated: Tensor, logits: Tensor) -> Tensor:
        return logits / self.value


@dataclass(frozen=True)
class TopK:
    """Keep the k highest-scoring tokens (Fan et al. 2018); ties at the k-th score are all kept."""

    k: int

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"top_k must be ≥ 1 (0 turns it off), got {self.k}")

    def __call__(self, generated: Tensor, logits: Tensor) -> Tensor:
        k = min(self.k, logits.shape[-1])
        kth = logits.topk(k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, float("-inf"))


@dataclass(frozen=True)
class TopP:
    """Nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely tokens whose
    probabilities add up to at least p; the most likely token is always kept."""

    p: float

    def __post_init__(self) -> None:
        if not 0 < self.p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.p}")

    def __call__(self, generated: Tensor, logits: Tensor) -> Tensor:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # A token is dropped when the tokens ranked above it already reach p.
        drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= self.p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        return logits.masked_fill(drop, float("-inf"))


@dataclass(frozen=True)
class RepetitionPenalty:
    """CTRL's penalty (Keskar et al. 2019): a token already generated has its score divided by θ
    when positive and multiplied by θ when negative, so θ > 1 discourages repeats."""

    penalty: float
    ignore: tuple[int, ...] = ()  # ids never penalised (punctuation that a form requires, say)

    def __post_init__(self) -> None:
        if not self.penalty > 0:
            raise ConfigError(f"repetition_penalty must be > 0 (1 turns it off), got {self.penalty}")

    def __call__(self, generated: Tensor, logits: Tensor) -> Tensor:
        if generated.shape[1] == 0:
            return logits
        seen = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, generated, True)
        if self.ignore:
            seen[:, list(self.ignore)] = False
        penalised = torch.where(logits > 0, logits / self.penalty, logits * self.penalty)
        return torch.where(seen, penalised, logits)


@dataclass(frozen=True)
class BanTokens:
    """Never emit these ids (e.g. ``<pad>``, ``<unk>``, ``<bos>``)."""

    ids: tuple[int, ...]

    def __call__(self, generated: Tensor, logits: Tensor) -> Tensor:
        if not self.ids:
            return logits
        out = logits.clone()
        out[:, list(self.ids)] = float("-inf")
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


def apply_processors(processors: Sequence[LogitsProcessor], generated: Tensor, logits: Tensor) -> Tensor:
    for processor in processors:
        logits = processor(generated, logits)
    return logits
