"""``Seq2Seq``: an encoder–decoder for unaligned sequence pairs, with optional attention.

::

    source (S, B) ─ embedding ─ (bi)RNN/GRU/LSTM × L_e ─▶ outputs h_1…h_S (S, B, D·H_e), final state
                                                           │                          │
                                                           │      bridge: s_0 = tanh(W_b [h→_S; h←_1])
                                                           ▼                          ▼
    target in  <bos> y_1 … y_{T−1} ─ embedding ─ RNN/GRU/LSTM × L_d (from s_0) ─▶ s_t (T, B, H_d)
                                                           │
                       attention(s_t, h) ─▶ c_t, α_t       │      (no attention: h̃_t = s_t)
                        h̃_t = tanh(W_c [s_t; c_t])  ◀──────┘
                        ─ dropout ─ [projection H_d→E when tied] ─ linear ─▶ logits of y_1 … y_T <eos>

The attention is computed *after* the decoder's recurrent step, from s_t (Luong et al. 2015's
global attention), with the score function of choice: additive (Bahdanau et al. 2015), dot or
general (Luong); see :mod:`rnnlab.models.attention`. Because the context does not feed back into
the recurrence, training with teacher forcing runs the decoder over the whole target in one fused
call, and decoding one token at a time computes exactly the same thing (tested).

Source and target share one character vocabulary and one embedding matrix, which the output layer
also reuses when ``tie_weights`` (Press & Wolf 2017). The encoder packs padded batches, so each
source's outputs and final state are its own whatever it is batched with; attention masks the
padding, so the decoder cannot see it either.

**Scheduled sampling** (Bengio et al. 2015). With ``sampling_rate`` ε > 0 in training, each
decoder input is, with probability ε, a token drawn from the model's own previous prediction instead
of the gold one, so the model learns to continue from its own mistakes; this needs a step-by-step
loop instead of the one fused call (slower). ε = 0 is plain teacher forcing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.dropout import Dropout
from rnnlab.errors import ConfigError, ShapeError
from rnnlab.layers import RecurrentConfig, RecurrentLayer, State
from rnnlab.models.attention import ATTENTIONS, Attention, make_attention

BRIDGES: tuple[str, ...] = ("linear", "zero")


@dataclass
class Seq2SeqConfig:
    """Everything that defines a :class:`Seq2Seq`; JSON round trip through ``to_dict``/``from_dict``."""

    vocab_size: int  # V, shared by source and target, reserved tokens included
    embed_size: int = 128  # E, one embedding for encoder, decoder (and output layer when tied)
    cell: str = "gru"  # "gru", "lstm" or "rnn", for encoder and decoder
    encoder_hidden_size: int = 128  # H_e per direction
    encoder_layers: int = 1  # L_e
    bidirectional: bool = True  # the encoder reads the source both ways (outputs D·H_e wide)
    hidden_size: int = 256  # H_d, the decoder's hidden size
    decoder_layers: int = 1  # L_d
    attention: str = "additive"  # "none", "additive", "dot" or "general"
    attention_size: int = 0  # A, the additive score's inner width; 0 = H_d
    bridge: str = "linear"  # decoder's s_0: "linear" (tanh of a map of the encoder's final state) or "zero"
    dropout: float = 0.2  # on embeddings, encoder outputs and the decoder's output vectors
    layer_dropout: float = 0.0  # between stacked recurrent layers
    tie_weights: bool = True  # the output layer reuses the embedding matrix
    impl: str = "auto"  # recurrent path: "auto", "fused" or "reference"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        for name in (
            "vocab_size",
            "embed_size",
            "encoder_hidden_size",
            "hidden_size",
            "encoder_layers",
            "decoder_layers",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (2 if name == "vocab_size" else 1)
            ):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"unknown attention {self.attention!r}; options are {list(ATTENTIONS)}")
        if self.bridge not in BRIDGES:
            raise ConfigError(f"unknown bridge {self.bridge!r}; options are {list(BRIDGES)}")
        if self.attention == "none" and self.bridge == "zero":
            raise ConfigError(
                "without attention the bridge is the decoder's only view of the source; use bridge='linear'"
            )
        if self.attention == "dot" and self.hidden_size != self.encoder_output_size:
            raise ConfigError(
                f"dot attention needs hidden_size ({self.hidden_size}) = the encoder's output width "
                f"({self.encoder_output_size} = encoder_hidden_size × directions); change one or use general"
            )
        if not isinstance(self.attention_size, int) or self.attention_size < 0:
            raise ConfigError(f"attention_size must be ≥ 0 (0 = hidden_size), got {self.attention_size!r}")
        for name in ("dropout", "layer_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"{name} is a probability in [0, 1), got {value!r}")
        self.encoder_config()
        self.decoder_config()

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def encoder_output_size(self) -> int:
        """D·H_e: the width of each encoder output (what attention reads)."""
        return self.encoder_hidden_size * self.directions

    def encoder_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            cell=self.cell,
            input_size=self.embed_size,
            hidden_size=self.encoder_hidden_size,
            num_layers=self.encoder_layers,
            dropout=self.layer_dropout if self.encoder_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
            impl=self.impl,
        )

    def decoder_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            cell=self.cell,
            input_size=self.embed_size,
            hidden_size=self.hidden_size,
            num_layers=self.decoder_layers,
            dropout=self.layer_dropout if self.decoder_layers > 1 else 0.0,
            impl=self.impl,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seq2SeqConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "seq2seq option")


class Encoded(NamedTuple):
    """A batch of encoded sources, batch on dimension 1 of every tensor (so rows select alike)."""

    outputs: Tensor  # (S, B, D·H_e), zero past each source's length
    mask: Tensor  # (S, B) bool, True at real positions
    prepared: Tensor  # (S, B, ·) the attention's source-only part (the outputs when there is none)


class DecoderState(NamedTuple):
    """What one decoding step needs: the decoder's recurrent state and the encoded source."""

    recurrent: State  # h (L_d, B, H_d), or (h, c) for an LSTM
    source: Encoded


class Seq2Seq(nn.Module):
    """Encoder, bridge, decoder, attention and output layer; see the module docstring."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_size)
        self.encoder = RecurrentLayer.from_config(c.encoder_config())
        self.decoder = RecurrentLayer.from_config(c.decoder_config())
        self.bridge_h: nn.Linear | None = None
        self.bridge_c: nn.Linear | None = None
        if c.bridge == "linear":
            self.bridge_h = nn.Linear(c.encoder_output_size, c.decoder_layers * c.hidden_size)
            if c.cell == "lstm":
                self.bridge_c = nn.Linear(c.encoder_output_size, c.decoder_layers * c.hidden_size)
        self.attention: Attention | None = make_attention(
            c.attention, c.hidden_size, c.encoder_output_size, c.attention_size or c.hidden_size
        )
        self.combine = (
            nn.Linear(c.hidden_size + c.encoder_output_size, c.hidden_size)
            if self.attention is not None
            else None
        )
        self.drop = Dropout(c.dropout)
        out_features = c.hidden_size
        self.projection: nn.Linear | None = None
        if c.tie_weights and c.hidden_size != c.embed_size:
            self.projection = nn.Linear(c.hidden_size, c.embed_size, bias=False)
            out_features = c.embed_size
        self.output = nn.Linear(out_features, c.vocab_size)
        if c.tie_weights:
            self.output.weight = self.embedding.weight

    @classmethod
    def from_config(cls, config: Seq2SeqConfig | dict[str, Any]) -> Seq2Seq:
        return cls(config if isinstance(config, Seq2SeqConfig) else Seq2SeqConfig.from_dict(config))

    def num_parameters(self) -> int:
        """Trainable parameters, counting a tied matrix once."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())

    def _check_ids(self, ids: Tensor, what: str) -> None:
        if ids.dim() != 2:
            raise ShapeError(f"{what} must be token ids of shape (T, B), got {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            raise ShapeError(
                f"{what} ids must lie in [0, {self.config.vocab_size}), "
                f"got [{int(ids.min())}, {int(ids.max())}]: "
                "encode text with the model's own vocabulary (unknown characters become <unk>)"
            )

    # ------------------------------------------------------------------ encoder and bridge
    def encode(self, source: Tensor, lengths: Tensor | None = None) -> tuple[Encoded, State]:
        """Encode ``source`` (S, B) of real lengths ``lengths`` (B,); returns it and the decoder's s_0."""
        self._check_ids(source, "source")
        steps, batch = source.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.int64)
        outputs, state = self.encoder(self.drop(self.embedding(source)), lengths=lengths.cpu())
        assert isinstance(outputs, Tensor)
        mask = torch.arange(steps, device=source.device).unsqueeze(1) < lengths.to(source.device).unsqueeze(0)
        outputs = self.drop(outputs)
        prepared = self.attention.prepare(outputs) if self.attention is not None else outputs
        return Encoded(outputs, mask, prepared), self.bridge(state, batch)

    def bridge(self, encoder_state: State, batch: int) -> State:
        """s_0 from the top encoder layer's final states (both directions), or zeros."""
        c = self.config
        if self.bridge_h is None:
            return self.decoder.zero_state(batch)
        h = encoder_state[0] if isinstance(encoder_state, tuple) else encoder_state  # (L_e·D, B, H_e)
        top = h[-c.directions :].transpose(0, 1).reshape(batch, -1)  # (B, D·H_e)
        h0 = (
            self.bridge_h(top)
            .tanh()
            .view(batch, c.decoder_layers, c.hidden_size)
            .transpose(0, 1)
            .contiguous()
        )
        if self.bridge_c is None:
            return h0
        assert isinstance(encoder_state, tuple)
        top_c = encoder_state[1][-c.directions :].transpose(0, 1).reshape(batch, -1)
        c0 = self.bridge_c(top_c).view(batch, c.decoder_layers, c.hidden_size).transpose(0, 1).contiguous()
        return h0, c0

    # ------------------------------------------------------------------ decoder
    def decode(self, inputs: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        """Inputs (T, B) from ``state`` → logits (T, B, V), the new state and attention weights (T, B, S)."""
        self._check_ids(inputs, "target")
        outputs, recurrent = self.decoder(self.drop(self.embedding(inputs)), state.recurrent)  # (T, B, H_d)
        assert isinstance(outputs, Tensor)
        weights = None
        if self.attention is not None and self.combine is not None:
            source = state.source
            context, weights = self.attention(outputs, source.outputs, source.mask, source.prepared)
            outputs = self.combine(torch.cat([outputs, context], dim=-1)).tanh()  # h̃_t
        out = self.drop(outputs)
        if self.projection is not None:
            out = self.projection(out)
        return self.output(out), DecoderState(recurrent, state.source), weights

    def forward(
        self,
        source: Tensor,
        source_lengths: Tensor | None,
        target_in: Tensor,
        sampling_rate: float = 0.0,
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (T, B, V) for each next target token, and the attention weights (T, B, S) or None.

        ``target_in`` is ``<bos> y_1 … y_{T−1}`` (teacher forcing); with ``sampling_rate`` > 0 in
        training mode some inputs are replaced by the model's own draws (scheduled sampling).
        """
        encoded, s0 = self.encode(source, source_lengths)
        state = DecoderState(s0, encoded)
        if not (self.training and sampling_rate > 0):
            logits, _, weights = self.decode(target_in, state)
            return logits, weights
        return self._scheduled_sampling(target_in, state, sampling_rate)

    def _scheduled_sampling(
        self, target_in: Tensor, state: DecoderState, rate: float
    ) -> tuple[Tensor, Tensor | None]:
        """Step by step; each input after the first is the model's own draw with probability ``rate``."""
        logits_steps: list[Tensor] = []
        weight_steps: list[Tensor] = []
        token = target_in[0]
        for t in range(target_in.shape[0]):
            if t > 0:
                with torch.no_grad():
                    drawn = torch.multinomial(logits_steps[-1][0].float().softmax(-1), 1).squeeze(1)
                use_own = torch.rand(token.shape, device=token.device) < rate
                token = torch.where(use_own, drawn, target_in[t])
            logits, state, weights = self.decode(token.unsqueeze(0), state)
            logits_steps.append(logits)
            if weights is not None:
                weight_steps.append(weights)
        return torch.cat(logits_steps), torch.cat(weight_steps) if weight_steps else None
