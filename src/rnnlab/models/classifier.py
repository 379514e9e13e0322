"""``SequenceClassifier``: one sequence in, one label out (many-to-one).

    ids (T, B) ─ SequenceEncoder ─▶ o_1 … o_T (T, B, D·H) ─ pool ─▶ z (B, D·H)
        ─ dropout ─ linear ─▶ logits (B, C)

Pooling turns the variable number of outputs into one vector; padding is never pooled:

* ``last``: the top layer's final state of each direction, h_T (forward) ‖ h_1 (backward), taken at
  each sequence's own end;
* ``mean``: z = (1/T_b) Σ_{t ≤ T_b} o_t;
* ``max``: z_j = max_{t ≤ T_b} o_{t,j} (padded steps are −∞, never the maximum);
* ``attention`` (Yang et al. 2016; Lin et al. 2017): u_t = tanh(W o_t + b), e_t = vᵀu_t,
  α = softmax over the real steps only, z = Σ_t α_t o_t.

The loss is the cross-entropy of the gold label, weighted per class when ``class_weights`` is set
(w_c = N / (C·N_c), "balanced", counters a majority class that would otherwise dominate):
ℒ_sum = Σ_i w_{y_i} · (−log softmax(z_i)[y_i]), returned with the example count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.dropout import Dropout
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.encoder import EncoderConfig, SequenceEncoder, padding_mask, wide

POOLINGS: tuple[str, ...] = ("last", "mean", "max", "attention")


@dataclass
class ClassifierConfig:
    """A classifier: its encoder, the pooling and the output layer; JSON round trip."""

    encoder: EncoderConfig  # embedding/one-hot → [CNN] → recurrent stack
    num_classes: int  # C
    pooling: str = "max"  # "last", "mean", "max" or "attention"
    dropout: float = 0.2  # on the pooled vector, before the output layer
    attention_size: int = 64  # attention pooling: width of u_t
    class_weights: tuple[float, ...] | None = None  # w_c per class (None: all 1)

    def __post_init__(self) -> None:
        if isinstance(self.encoder, Mapping):
            self.encoder = EncoderConfig.from_dict(self.encoder)
        if self.class_weights is not None:
            self.class_weights = tuple(float(w) for w in self.class_weights)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if (
            isinstance(self.num_classes, bool)
            or not isinstance(self.num_classes, int)
            or self.num_classes < 2
        ):
            raise ConfigError(f"a classifier needs num_classes ≥ 2, got {self.num_classes!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {self.pooling!r}; options are {list(POOLINGS)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout is a probability in [0, 1), got {self.dropout!r}")
        if self.attention_size < 1:
            raise ConfigError(f"attention_size must be positive, got {self.attention_size}")
        if self.class_weights is not None:
            if len(self.class_weights) != self.num_classes:
                raise ConfigError(
                    f"class_weights has {len(self.class_weights)} entries for {self.num_classes} classes; "
                    "give one weight per class, or None"
                )
            if any(not w > 0 for w in self.class_weights):
                raise ConfigError(f"class weights must be positive, got {list(self.class_weights)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassifierConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "classifier option")


def balanced_class_weights(counts: Sequence[int]) -> tuple[float, ...]:
    """w_c = N / (C · N_c) (scikit-learn's "balanced"); a class never seen gets weight 1."""
    total, classes = sum(counts), len(counts)
    return tuple(total / (classes * n) if n else 1.0 for n in counts)


class AttentionPooling(nn.Module):
    """z = Σ_t α_t o_t with α = softmax_t(vᵀ tanh(W o_t + b)) over the real steps."""

    def __init__(self, size: int, attention_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def weights(self, out: Tensor, mask: Tensor) -> Tensor:
        """α (T, B): zero at padded steps, summing to 1 over each sequence's real steps."""
        e = self.score(torch.tanh(self.proj(out))).squeeze(-1)  # (T, B)
        return torch.softmax(wide(e).masked_fill(~mask, -torch.inf), dim=0).to(out.dtype)

    def forward(self, out: Tensor, mask: Tensor) -> Tensor:
        return (self.weights(out, mask).unsqueeze(-1) * out).sum(0)


class SequenceClassifier(nn.Module):
    """Encoder → pooling → dropout → linear; see the module docstring."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        size = self.encoder.output_size
        self.attention = (
            AttentionPooling(size, config.attention_size) if config.pooling == "attention" else None
        )
        self.drop = Dropout(config.dropout)
        self.output = nn.Linear(size, config.num_classes)
        weights = torch.tensor(config.class_weights) if config.class_weights is not None else torch.zeros(0)
        self.register_buffer("class_weights", weights, persistent=False)  # rebuilt from the config

    @classmethod
    def from_config(cls, config: ClassifierConfig | Mapping[str, Any]) -> SequenceClassifier:
        return cls(config if isinstance(config, ClassifierConfig) else ClassifierConfig.from_dict(config))

    def pool(self, ids: Tensor, lengths: Tensor | None) -> Tensor:
        """The pooled representation z (B, D·H) of each sequence."""
        out, lengths, state = self.encoder(ids, lengths)  # (T', B, D·H)
        pooling = self.config.pooling
        if pooling == "last":
            return self.encoder.last_hidden(state)
        mask = padding_mask(lengths, out)  # (T', B)
        if pooling == "mean":
            count = mask.sum(0).clamp(min=1).unsqueeze(-1).to(out.dtype)
            return (out * mask.unsqueeze(-1)).sum(0) / count
        if pooling == "max":
            return out.masked_fill(~mask.unsqueeze(-1), -torch.inf).amax(0)
        assert self.attention is not None
        return self.attention(out, mask)

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """ids (T, B), lengths (B,) → logits (B, C)."""
        return self.output(self.drop(self.pool(ids, lengths)))

    def loss(self, ids: Tensor, lengths: Tensor | None, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(ℒ_sum, logits): the (class-weighted) summed cross-entropy of the labels (B,)."""
        logits = self(ids, lengths)
        if labels.shape != (ids.shape[1],):
            raise ShapeError(
                f"labels must have shape ({ids.shape[1]},), one per sequence, got {tuple(labels.shape)}"
            )
        weight = self.get_buffer("class_weights")
        nll = nn.functional.cross_entropy(
            wide(logits), labels, weight=wide(weight) if weight.numel() else None, reduction="sum"
        )
        return nll, logits

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
