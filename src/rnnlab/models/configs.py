"""The configs of the models: JSON-serialisable dataclasses that import no torch.

``RNNLMConfig`` (:mod:`rnnlab.models.rnnlm`), ``ForecasterConfig``
(:mod:`rnnlab.models.forecasters`), ``ConvConfig`` (:mod:`rnnlab.models.conv`) and the names of
the forecasters' output heads (:mod:`rnnlab.models.likelihoods`) live here, apart from the torch
modules they describe, so that code which only reads or shows a config — every ``rnnlab … --help``
with its defaults, the NumPy inference engine — starts without loading torch. Their modules
re-export them.
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
    cell: str = "lstm"  # "lstm", "gru", "rnn", "mingru" or "minlstm"
    input: str = "embedding"  # "embedding" (learned E-dim vectors) or "onehot" (fixed V-dim)
    embed_size: int = 128  # E; ignored for one-hot input, where E = V
    hidden_size: int = 256  # H per layer
    num_layers: int = 2
    nonlinearity: str = "tanh"  # RNN cell only
    dropout: float = 0.2  # on the embeddings and on the last layer's outputs
    layer_dropout: float = 0.2  # between stacked recurrent layers
    tie_weights: bool = False  # share the embedding with the output layer
    bidirectional: bool = False  # refused: see the module docstring
    impl: str = "auto"  # recurrent path: "auto", "fused", "reference", "compiled" or "autograd"
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


# ---------------------------------------------------------------------------------------------
# Forecasters (rnnlab.models.forecasters) and their parts: the CNN front end
# (rnnlab.models.conv) and the output heads (rnnlab.models.likelihoods).

CONV_ACTIVATIONS: tuple[str, ...] = ("relu", "tanh", "gelu")  # the front end's nonlinearities
LIKELIHOODS: dict[str, int] = {"point": 1, "gaussian": 2, "student-t": 3}  # head → parameters S


def check_likelihood(name: str) -> str:
    if name not in LIKELIHOODS:
        raise ConfigError(f"unknown likelihood {name!r}; options are {list(LIKELIHOODS)}")
    return name


@dataclass
class ConvConfig:
    """The convolution stack; JSON-serialisable (lists become tuples on load)."""

    channels: tuple[int, ...] = (128,)  # output channels of each Conv1d layer; its length = layers
    kernel_sizes: tuple[int, ...] = (3,)  # window of each layer (one per layer, or one for all)
    stride: int = 1  # every layer's stride; > 1 shortens the sequence s-fold per layer
    pool: int = 1  # max-pool window (= its stride) after every layer; 1 = no pooling
    activation: str = "relu"  # "relu", "tanh" or "gelu"
    dropout: float = 0.0  # after each layer's activation
    causal: bool = False  # left padding only: step t sees x_{≤t} (LMs, forecasters); streams by state

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.kernel_sizes = tuple(self.kernel_sizes)
        if len(self.kernel_sizes) == 1 and len(self.channels) > 1:
            self.kernel_sizes = self.kernel_sizes * len(self.channels)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        if not self.channels:
            raise ConfigError("a CNN front end needs at least one layer: give channels, e.g. (128,)")
        if len(self.kernel_sizes) != len(self.channels):
            raise ConfigError(
                f"kernel_sizes has {len(self.kernel_sizes)} entries for {len(self.channels)} layers; "
                "give one kernel size per layer, or one for all"
            )
        for name, values in (("channels", self.channels), ("kernel_sizes", self.kernel_sizes)):
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{name} must hold positive integers, got {list(values)}")
        for name in ("stride", "pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer (1 = off), got {value!r}")
        if self.activation not in CONV_ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {self.activation!r}; options are {sorted(CONV_ACTIVATIONS)}"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout is a probability in [0, 1), got {self.dropout!r}")
        if self.causal and (self.stride > 1 or self.pool > 1):
            raise ConfigError(
                "a causal front end keeps one output per step (it streams step by step); "
                "use stride=1 and pool=1, or causal=False"
            )

    @property
    def preserves_length(self) -> bool:
        """Whether T' = T for every T: needed wherever one output per input step is required."""
        return self.stride == 1 and self.pool == 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "CNN front-end option")


FORECASTERS: tuple[str, ...] = ("mlp", "rnn", "gru", "lstm", "mingru", "minlstm")
IMPLS: tuple[str, ...] = ("auto", "fused", "reference", "compiled", "autograd")  # = rnnlab.layers.IMPLS


@dataclass
class ForecasterConfig:
    """What defines a forecaster; ``to_dict``/``from_dict`` round-trip through JSON."""

    kind: str = "gru"  # "mlp" (window of τ values) or a recurrent cell: "rnn", "gru", "lstm", "mingru", …
    tau: int = 16  # MLP only: the window τ of past steps it reads (d2l's classic choice is 4)
    hidden_size: int = 32  # MLP hidden units / recurrent units per layer; series are small
    num_layers: int = 1  # stacked recurrent layers (MLP: always one hidden layer)
    outputs: int = 1  # steps predicted per step: 1 (one-step) or H (direct multi-output head)
    impl: str = "auto"  # recurrent implementation: "auto", "fused" or "reference"
    past_covariates: int = 0  # P: inputs known up to the origin only (also predicted, for recursion)
    future_covariates: int = 0  # F: inputs known ahead; step t reads them at t+1 … t+H
    likelihood: str = "point"  # head: "point" (squared error), "gaussian" or "student-t" (NLL)
    n_series: int = 0  # series a global model knows by index (needed with embedding_dim > 0)
    embedding_dim: int = 0  # learned series embedding width; 0 = none
    conv: ConvConfig | None = None  # causal CNN front end before the recurrent layers (CNN-LSTM)

    def __post_init__(self) -> None:
        if isinstance(self.conv, dict):
            self.conv = ConvConfig.from_dict(self.conv)
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
        for name in ("past_covariates", "future_covariates", "n_series", "embedding_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer ≥ 0, got {value!r}")
        check_likelihood(self.likelihood)
        if self.embedding_dim and self.n_series < 1:
            raise ConfigError("a series embedding needs n_series ≥ 1 (the number of series it tells apart)")
        if self.conv is not None:
            if self.kind == "mlp":
                raise ConfigError(
                    "the CNN front end feeds recurrent forecasters (rnn, gru, lstm); "
                    "the AR-MLP already reads a window of τ steps"
                )
            if not self.conv.causal:
                raise ConfigError(
                    "a forecaster's CNN front end must be causal (conv.causal=True): a centred window "
                    "would read values after the forecast origin"
                )

    @property
    def context(self) -> int:
        """Observations a fresh state needs before its prediction sees no padding (τ for the MLP)."""
        if self.kind == "mlp":
            return self.tau
        if self.conv is not None:
            return sum(k - 1 for k in self.conv.kernel_sizes) + 1
        return 1

    @property
    def channels(self) -> int:
        """D: values predicted per step ahead — the target and each past covariate."""
        return 1 + self.past_covariates

    @property
    def input_size(self) -> int:
        """C: input channels per step (see the module docstring's layout)."""
        return self.channels + self.future_covariates * self.outputs + (1 if self.embedding_dim else 0)

    @property
    def parameters_per_value(self) -> int:
        """S: distribution parameters per predicted value."""
        return LIKELIHOODS[self.likelihood]

    @property
    def probabilistic(self) -> bool:
        return self.likelihood != "point"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecasterConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "forecaster option")
