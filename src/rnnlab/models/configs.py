"""The configs of the models: JSON-serialisable dataclasses that import no torch.

``RNNLMConfig`` (:mod:`rnnlab.models.rnnlm`) and ``ForecasterConfig``
(:mod:`rnnlab.models.forecasters`) live here, apart from the torch modules they describe, so that
code which only reads or shows a config — every ``rnnlab … --help`` with its defaults, the NumPy
inference engine — starts without loading torch. Their modules re-export them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError

if TYPE_CHECKING:
    from rnnlab.layers import RecurrentConfig

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
        # rnnlab.layers imports torch; the config itself must not (see the module docstring).
        from rnnlab.layers import RecurrentConfig

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


FORECASTERS: tuple[str, ...] = ("mlp", "rnn", "gru", "lstm")
IMPLS: tuple[str, ...] = ("auto", "fused", "reference")


@dataclass
class ForecasterConfig:
    """What defines a forecaster; ``to_dict``/``from_dict`` round-trip through JSON."""

    kind: str = "gru"  # "mlp" (window of τ values) or a recurrent cell: "rnn", "gru", "lstm"
    tau: int = 16  # MLP only: the window τ of past values it reads (d2l's classic choice is 4)
    hidden_size: int = 32  # MLP hidden units / recurrent units per layer; series are small
    num_layers: int = 1  # stacked recurrent layers (MLP: always one hidden layer)
    outputs: int = 1  # values predicted per step: 1 (one-step) or H (direct multi-output head)
    impl: str = "auto"  # recurrent implementation: "auto", "fused" or "reference"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if self.kind not in FORECASTERS:
            raise ConfigError(f"unknown forecaster {self.kind!r}; options are {list(FORECASTERS)}")
        if self.impl not in IMPLS:
            raise ConfigError(f"unknown impl {self.impl!r}; options are {list(IMPLS)}")
        for name in ("tau", "hidden_size", "num_layers", "outputs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    @property
    def context(self) -> int:
        """Observations a fresh state needs before its prediction sees no padding (τ for the MLP)."""
        return self.tau if self.kind == "mlp" else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecasterConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "forecaster option")
