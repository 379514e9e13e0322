"""``MultiOutputModel``: one shared encoder, several per-step output heads, a weighted sum of losses.

    ids (T, B) ─ SequenceEncoder ─▶ o_t (T, B, D·H) ─┬─ linear_1 ─▶ logits_1 (T, B, K_1)  the next character
                                                     ├─ linear_2 ─▶ logits_2 (T, B, K_2)  its tone
                                                     └─ …

The textbook multi-task example (predict the next word *and* its tag): every head reads the same
o_t, so what helps one task shapes the representation the others use. Training minimises

    ℒ = (1/N) Σ_h w_h Σ_{(t,b) ∈ M_h} −log softmax(logits_h[t, b])[y_h[t, b]]

over the N real steps, where M_h are the steps at which head h has a target (``ignore_index``
elsewhere) and w_h the head's weight. The targets of a batch are one (T, B, H) tensor, column h
for head h in the order of ``heads``. What a head predicts is the data's business: a model that
predicts anything about x_{t+1} must be causal (unidirectional, causal CNN), which the task
layer checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.crf import IGNORE_INDEX
from rnnlab.models.encoder import EncoderConfig, SequenceEncoder, padding_mask, wide


@dataclass
class MultiOutputConfig:
    """The shared encoder and the heads: ``heads`` maps each head's name to its number of classes."""

    encoder: EncoderConfig  # shared by every head
    heads: dict[str, int]  # name → classes, in target-column order (JSON objects keep their order)
    loss_weights: dict[str, float] | None = None  # w_h per head (None: all 1)

    def __post_init__(self) -> None:
        if isinstance(self.encoder, Mapping):
            self.encoder = EncoderConfig.from_dict(self.encoder)
        self.heads = dict(self.heads)
        if not self.heads:
            raise ConfigError("a multi-output model needs at least one head, e.g. {'next': V, 'next-tag': 2}")
        for name, size in self.heads.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < 2:
                raise ConfigError(f"head {name!r} needs at least 2 classes, got {size!r}")
        if self.loss_weights is not None:
            self.loss_weights = {k: float(v) for k, v in self.loss_weights.items()}
            unknown = sorted(set(self.loss_weights) - set(self.heads))
            if unknown:
                raise ConfigError(
                    f"loss weights for unknown heads {unknown}; the heads are {list(self.heads)}"
                )
            if any(w < 0 for w in self.loss_weights.values()):
                raise ConfigError(f"loss weights must be ≥ 0, got {self.loss_weights}")

    def weight(self, head: str) -> float:
        return 1.0 if self.loss_weights is None else self.loss_weights.get(head, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultiOutputConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "multi-output option")


class MultiOutputModel(nn.Module):
    """Shared encoder → one linear head per task; see the module docstring."""

    def __init__(self, config: MultiOutputConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        self.heads = nn.ModuleDict(
            {name: nn.Linear(self.encoder.output_size, size) for name, size in config.heads.items()}
        )

    @classmethod
    def from_config(cls, config: MultiOutputConfig | Mapping[str, Any]) -> MultiOutputModel:
        return cls(config if isinstance(config, MultiOutputConfig) else MultiOutputConfig.from_dict(config))

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> dict[str, Tensor]:
        """ids (T, B), lengths (B,) → {head: logits (T, B, K_h)}."""
        out, _, _ = self.encoder(ids, lengths)
        return {name: head(out) for name, head in self.heads.items()}

    def loss(
        self, ids: Tensor, lengths: Tensor | None, targets: Tensor
    ) -> tuple[Tensor, int, dict[str, tuple[Tensor, int]], dict[str, Tensor]]:
        """(ℒ_sum, N real steps, {head: (summed NLL, count)}, {head: logits}) for targets (T, B, H)."""
        if targets.shape != (*ids.shape, len(self.heads)):
            raise ShapeError(
                f"targets must be (T, B, H) = {(*ids.shape, len(self.heads))}, one column per head "
                f"{list(self.heads)}; got {tuple(targets.shape)}"
            )
        logits = self(ids, lengths)
        mask = padding_mask(lengths, targets)
        total = torch.zeros((), device=ids.device)
        per_head: dict[str, tuple[Tensor, int]] = {}
        for h, (name, z) in enumerate(logits.items()):
            y = targets[..., h].masked_fill(~mask, IGNORE_INDEX)
            nll = nn.functional.cross_entropy(
                wide(z).flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
            )
            per_head[name] = (nll, int((y != IGNORE_INDEX).sum()))
            total = total + self.config.weight(name) * nll
        return total, int(mask.sum()), per_head, logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
