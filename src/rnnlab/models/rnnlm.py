"""``RNNLM``: a recurrent language model, p(x_{t+1} | x_1 … x_t).

    ids (T, B) ─ embedding or one-hot ─▶ (T, B, E) ─ RNN/LSTM/GRU ─▶ (T, B, H) ─ dropout
        ─▶ [projection H→E when tied and H ≠ E] ─ linear ─▶ logits (T, B, V)

Weight tying (Press & Wolf 2017; Inan et al. 2017) shares the embedding matrix with the
output layer, which needs the last hidden size to equal the embedding size: when they
differ a linear projection H → E is inserted.

A language model may only see the past. A bidirectional layer would read x_{t+1} while
predicting it, drive the training loss towards zero and generate nonsense, so the config
refuses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor, nn

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError
from rnnlab.layers import RecurrentConfig, RecurrentLayer, State
from rnnlab.models.inputs import make_input_layer

INPUTS: tuple[str, ...] = ("embedding", "onehot")


@dataclass
class RNNLMConfig:
    """Everything that defines an RNNLM; JSON-serialisable, rebuilt by ``RNNLM.from_config``."""

    vocab_size: int  # V, including reserved tokens
    cell: str = "lstm"  # "lstm", "gru" or "rnn"
    input: str = "embedding"  # "embedding" (learned E-dim vectors) or "onehot" (fixed V-dim)
    embed_size: int = 128  # E; ignored for one-hot input, where E = V
    hidden_size: int = 256  # H per layer
    num_layers: int = 2
    nonlinearity: str = "tanh"  # RNN cell only
    dropout: float = 0.2  # on the embeddings and on the last layer's outputs
    layer_dropout: float = 0.2  # between stacked recurrent layers
    tie_weights: bool = False  # share the embedding with the output layer
    bidirectional: bool = False  # refused: see the module docstring
    impl: str = "auto"  # recurrent path: "auto", "fused" or "reference"
    layer_norm: bool = False
    dropout_input: float = 0.0  # variational dropout on each recurrent layer's input
    dropout_hidden: float = 0.0  # variational dropout on h_{t−1}
    weight_drop: float = 0.0  # DropConnect on W_hh (AWD-LSTM)
    forget_bias: float | None = None  # LSTM initial forget-gate bias

    def __post_init__(self) -> None:
        if self.bidirectional:
            raise ConfigError(
                "a language model cannot be bidirectional: the backward layer reads the very token the "
                "model is asked to predict, so training loss collapses and generated text degenerates. "
                "Use bidirectional=False (bidirectional layers suit taggers and encoders, not LMs)"
            )
        if self.input not in INPUTS:
            raise ConfigError(f"unknown input {self.input!r}; options are {list(INPUTS)}")
        if self.vocab_size < 2:
            raise ConfigError(f"vocab_size must be at least 2, got {self.vocab_size}")
        if self.tie_weights and self.input != "embedding":
            raise ConfigError("tie_weights needs input='embedding' (a one-hot input has no weights to share)")
        for name in ("dropout", "layer_dropout"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{name} is a probability in [0, 1), got {value!r}")
        self.recurrent_config()  # validates the recurrent part

    @property
    def input_size(self) -> int:
        return self.vocab_size if self.input == "onehot" else self.embed_size

    def recurrent_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            cell=self.cell,
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            nonlinearity=self.nonlinearity,
            dropout=self.layer_dropout if self.num_layers > 1 else 0.0,
            impl=self.impl,
            layer_norm=self.layer_norm,
            dropout_input=self.dropout_input,
            dropout_hidden=self.dropout_hidden,
            weight_drop=self.weight_drop,
            forget_bias=self.forget_bias,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RNNLMConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "RNNLM option")


class RNNLM(nn.Module):
    """Embedding/one-hot → recurrent layer → dropout → linear; see the module docstring."""

    def __init__(self, config: RNNLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding, _ = make_input_layer(
            "embedding" if config.input == "embedding" else "onehot", config.vocab_size, config.embed_size
        )
        self.rnn = RecurrentLayer.from_config(config.recurrent_config())
        self.drop = nn.Dropout(config.dropout)
        out_features = config.hidden_size
        self.projection: nn.Module | None = None
        if config.tie_weights and config.hidden_size != config.embed_size:
            self.projection = nn.Linear(config.hidden_size, config.embed_size, bias=False)
            out_features = config.embed_size
        self.decoder = nn.Linear(out_features, config.vocab_size)
        if config.tie_weights:
            assert isinstance(self.embedding, nn.Embedding)
            self.decoder.weight = self.embedding.weight

    @classmethod
    def from_config(cls, config: RNNLMConfig | dict[str, Any]) -> RNNLM:
        return cls(config if isinstance(config, RNNLMConfig) else RNNLMConfig.from_dict(config))

    def init_state(self, batch_size: int) -> State:
        """The zero state for ``batch_size`` streams."""
        return self.rnn.zero_state(batch_size)

    def forward(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """ids (T, B) int64 → logits (T, B, V) and the final state (time-major, as torch.nn)."""
        if ids.dim() != 2:
            raise ConfigError(f"RNNLM expects token ids of shape (T, B), got {tuple(ids.shape)}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size):
            low, high = int(ids.min()), int(ids.max())
            raise ConfigError(
                f"token ids must lie in [0, {self.config.vocab_size}), got [{low}, {high}]: "
                "map unknown tokens to <unk> with the model's vocabulary"
            )
        x = self.drop(self.embedding(ids))
        out, state = self.rnn(x, state)
        assert isinstance(out, Tensor)
        out = self.drop(out)
        if self.projection is not None:
            out = self.projection(out)
        return self.decoder(out), state

    def num_parameters(self) -> int:
        """Trainable parameters, counting a tied matrix once."""
        return sum(p.numel() for p in {id(p): p for p in self.parameters()}.values())
