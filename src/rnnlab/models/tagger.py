"""``SequenceTagger``: one tag per input step (aligned many-to-many).

    ids (T, B) ─ SequenceEncoder (bidirectional by default) ─▶ o_t (T, B, D·H) ─ linear ─▶ E_t (T, B, K)
        ─ softmax per step          ŷ_t = arg max_k E_{t,k}
        └ or a CRF over the chain   ŷ = Viterbi(E, A)          (``crf=True``; :mod:`rnnlab.models.crf`)

The tag at step t often depends on what follows (the tone of 行 in 行人 and in 银行; whether a
sentence ends after 也), which is why taggers read both directions: o_t = [h→_t ; h←_t], where
h←_t has read x_T … x_t. A unidirectional tagger sees x_{≤t} only.

Positions whose gold tag is unknown carry ``ignore_index`` and count in neither the loss nor the
metrics (a per-step softmax skips them; the CRF marginalises over them). The CNN front end, if
any, must keep one output per step (stride 1, no pooling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.models.crf import CRF, IGNORE_INDEX
from rnnlab.models.encoder import EncoderConfig, SequenceEncoder, padding_mask, wide


@dataclass
class TaggerConfig:
    """A tagger: its encoder, the number of tags and the output layer; JSON round trip."""

    encoder: EncoderConfig  # embedding/one-hot → [CNN] → recurrent stack (bidirectional by default)
    num_tags: int  # K
    crf: bool = False  # a CRF output layer (Viterbi decoding) instead of independent per-step softmax

    def __post_init__(self) -> None:
        if isinstance(self.encoder, Mapping):
            self.encoder = EncoderConfig.from_dict(self.encoder)
        if isinstance(self.num_tags, bool) or not isinstance(self.num_tags, int) or self.num_tags < 2:
            raise ConfigError(f"a tagger needs num_tags ≥ 2, got {self.num_tags!r}")
        if not self.encoder.preserves_length:
            raise ConfigError(
                "a tagger needs one output per character, so its CNN front end must use stride=1 and pool=1"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaggerConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "tagger option")


class SequenceTagger(nn.Module):
    """Encoder → per-step linear → softmax or CRF; see the module docstring."""

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(config.encoder)
        self.output = nn.Linear(self.encoder.output_size, config.num_tags)
        self.crf = CRF(config.num_tags) if config.crf else None

    @classmethod
    def from_config(cls, config: TaggerConfig | Mapping[str, Any]) -> SequenceTagger:
        return cls(config if isinstance(config, TaggerConfig) else TaggerConfig.from_dict(config))

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> Tensor:
        """ids (T, B), lengths (B,) → emissions E (T, B, K) (zero rows' logits at padded steps are unused)."""
        out, _, _ = self.encoder(ids, lengths)
        return self.output(out)

    def loss(self, ids: Tensor, lengths: Tensor | None, tags: Tensor) -> tuple[Tensor, int, Tensor]:
        """(ℒ_sum, counted tags, emissions): summed NLL over the known tags of ``tags`` (T, B)."""
        emissions = self(ids, lengths)
        if tags.shape != ids.shape:
            raise ShapeError(
                f"tags must have the shape of the ids {tuple(ids.shape)}, got {tuple(tags.shape)}"
            )
        mask = padding_mask(lengths, emissions)
        known = (tags != IGNORE_INDEX) & mask
        n = int(known.sum())
        if self.crf is not None:
            return self.crf.nll(emissions, tags.masked_fill(~mask, IGNORE_INDEX), mask).sum(), n, emissions
        nll = nn.functional.cross_entropy(
            wide(emissions).flatten(0, 1),
            tags.masked_fill(~known, IGNORE_INDEX).flatten(),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
        return nll, n, emissions

    def decode(self, emissions: Tensor, lengths: Tensor | None) -> Tensor:
        """Best tags (T, B): per-step arg max, or the Viterbi path with a CRF; 0 at padded steps."""
        mask = padding_mask(lengths, emissions)
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        return emissions.argmax(-1).masked_fill(~mask, 0)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
