"""``SequenceEncoder``: the front every task model shares — token ids → vectors → [CNN] → recurrent stack.

    ids (T, B) ─ embedding or one-hot ─ dropout ─▶ (T, B, E)
        ─ [ConvFrontEnd: Conv1d × k, centred or causal] ─▶ (T', B, C)
        ─ RNN / GRU / LSTM × L, uni- or bidirectional ─▶ outputs (T', B, D·H) ─ dropout

A classifier pools these outputs into one vector, a tagger reads one per step, a multi-output
model feeds them to several heads (:mod:`rnnlab.models.classifier`, :mod:`~rnnlab.models.tagger`,
:mod:`~rnnlab.models.multihead`); an encoder–decoder can start from the same piece.

**Variable-length batches.** ``lengths`` (B,) gives each sequence's real length in a padded batch.
The CNN zeroes every padded step before each convolution (the zeros a sequence alone would be
padded with) and the recurrent layers pack the batch (``pack_padded_sequence`` on the fused path,
a masked scan on the reference path), so padding costs no recurrent compute, outputs past a
sequence's length are exactly zero, ``h_n`` is each sequence's own last state, and the backward
direction starts at each sequence's own end. A sequence's outputs therefore do not depend on what
it is batched with (tested). T' = T unless the CNN strides or pools (then ``lengths`` shrink too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.dropout import Dropout
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.layers import RecurrentConfig, RecurrentLayer, State
from rnnlab.models.conv import ConvConfig, ConvFrontEnd
from rnnlab.models.inputs import make_input_layer

INPUTS: tuple[str, ...] = ("embedding", "onehot")


@dataclass
class EncoderConfig:
    """Everything that defines a :class:`SequenceEncoder`; JSON round trip (``to_dict``/``from_dict``)."""

    vocab_size: int  # V, reserved tokens included
    input: str = "embedding"  # "embedding" (learned E-dim vectors) or "onehot" (fixed V-dim)
    embed_size: int = 128  # E; ignored for one-hot input, where E = V
    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    hidden_size: int = 128  # H per layer and direction
    num_layers: int = 1  # L stacked recurrent layers (1–3 is the useful range here)
    bidirectional: bool = True  # a second direction reads right to left; taggers need the right context
    dropout: float = 0.2  # on the input vectors and on the encoder's outputs
    layer_dropout: float = 0.0  # between stacked recurrent layers (only with num_layers > 1)
    cnn: ConvConfig | None = None  # optional Conv1d front end (CNN-LSTM); None = off
    impl: str = "auto"  # recurrent path: "auto", "fused" or "reference"

    def __post_init__(self) -> None:
        if isinstance(self.cnn, Mapping):  # from JSON
            self.cnn = ConvConfig.from_dict(dict(self.cnn))
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if self.input not in INPUTS:
            raise ConfigError(f"unknown input {self.input!r}; options are {list(INPUTS)}")
        if isinstance(self.vocab_size, bool) or not isinstance(self.vocab_size, int) or self.vocab_size < 2:
            raise ConfigError(f"vocab_size must be an integer ≥ 2, got {self.vocab_size!r}")
        if self.input == "embedding" and (not isinstance(self.embed_size, int) or self.embed_size < 1):
            raise ConfigError(f"embed_size must be a positive integer, got {self.embed_size!r}")
        for name in ("dropout", "layer_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"{name} is a probability in [0, 1), got {value!r}")
        if self.cnn is not None and not isinstance(self.cnn, ConvConfig):
            raise ConfigError(
                f"cnn must be a ConvConfig, a JSON object of its fields, or None; got {self.cnn!r}"
            )
        self.recurrent_config()  # validates cell, sizes and impl

    @property
    def input_size(self) -> int:
        """Width of the input vectors: E, or V for one-hot input."""
        return self.vocab_size if self.input == "onehot" else self.embed_size

    @property
    def output_size(self) -> int:
        """Width of each output step: D·H."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def preserves_length(self) -> bool:
        """Whether every input step has its own output step (no CNN stride or pooling)."""
        return self.cnn is None or self.cnn.preserves_length

    @property
    def causal(self) -> bool:
        """Whether output t depends on inputs ≤ t only (unidirectional and, if any, a causal CNN)."""
        return not self.bidirectional and (self.cnn is None or self.cnn.causal)

    def recurrent_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            cell=self.cell,
            input_size=self.cnn.channels[-1] if self.cnn is not None else self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.layer_dropout if self.num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
            impl=self.impl,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncoderConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "encoder option")


class SequenceEncoder(nn.Module):
    """ids (T, B) and lengths (B,) → outputs (T', B, D·H), lengths' (B,), final state; see the module."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding, _ = make_input_layer(
            "embedding" if config.input == "embedding" else "onehot", config.vocab_size, config.embed_size
        )
        self.cnn = ConvFrontEnd(config.input_size, config.cnn) if config.cnn is not None else None
        self.rnn = RecurrentLayer.from_config(config.recurrent_config())
        self.drop = Dropout(config.dropout)

    @property
    def output_size(self) -> int:
        return self.config.output_size

    def forward(self, ids: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None, State]:
        """Encode a padded batch; ``lengths=None`` means every column is T long."""
        if ids.dim() != 2:
            raise ShapeError(f"an encoder reads token ids of shape (T, B), got {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            low, high = int(ids.min()), int(ids.max())
            raise ShapeError(
                f"token ids must lie in [0, {self.config.vocab_size}), got [{low}, {high}]: "
                "encode text with the run's own vocabulary (unknown characters become <unk>)"
            )
        x = self.drop(self.embedding(ids))  # (T, B, E)
        if self.cnn is not None:
            x, lengths, _ = self.cnn(x, lengths)  # (T', B, C)
        out, state = self.rnn(x, lengths=lengths)
        assert isinstance(out, Tensor)  # a padded tensor in, a padded tensor out
        return self.drop(out), lengths, state

    def last_hidden(self, state: State) -> Tensor:
        """The top layer's final h of each direction, concatenated: (B, D·H) (each sequence's own end)."""
        h = state[0] if isinstance(state, tuple) else state  # (L·D, B, H)
        directions = 2 if self.config.bidirectional else 1
        return h[-directions:].transpose(0, 1).reshape(h.shape[1], -1)


def wide(t: Tensor) -> Tensor:
    """At least float32 for losses: bf16/fp16 logits lose too much in a softmax (float64 stays float64)."""
    return t if t.dtype == torch.float64 else t.float()


def padding_mask(lengths: Tensor | None, like: Tensor) -> Tensor:
    """(T, B) bool for a time-major ``like`` (T, B, …): True at real steps t < lengths[b]."""
    steps, batch = like.shape[0], like.shape[1]
    if lengths is None:
        return torch.ones(steps, batch, dtype=torch.bool, device=like.device)
    lengths = lengths.to(like.device)
    return torch.arange(steps, device=like.device).unsqueeze(1) < lengths.unsqueeze(0)
