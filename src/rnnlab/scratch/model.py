"""NumPy language models RNN, LSTM and GRU with hand-written back-propagation through time.

Model, time-major throughout (T steps, batch B, vocabulary V, hidden size H, L layers)::

    x_t = onehot(inputs[t])                    (B, V)   no embedding: layer 0 sees the one-hot
    s_t^(l) = cell(s_t^(l−1), s_{t−1}^(l))      (B, H)   s_t^(0) = x_t, l = 1 … L
    o_t = softmax(V s_t^(L) + c)                (B, V)   V = out.weight (V, H), c = out.bias (V,)
    L = Σ_t mean_b −log o_t[target]                       the sum over steps of the batch mean

Parameter names and shapes are those of ``torch.nn.RNN/LSTM/GRU`` (``weight_ih_l{k}``,
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``) plus ``out.weight`` / ``out.bias`` of a
``torch.nn.Linear``, so a state dict moves between the two unchanged. A state is what the torch
layer uses: ``h`` of shape (L, B, H), or ``(h, c)`` for the LSTM.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike, NDArray

from rnnlab.config import from_dict_strict
from rnnlab.errors import CheckpointError, ConfigError, DataError, ShapeError
from rnnlab.scratch import cells
from rnnlab.scratch.bptt import BackwardPolicy, Truncation, resolve_truncation
from rnnlab.scratch.cells import Array, LayerGrads, LayerParams

State = Array | tuple[Array, Array]
# Per layer, the state's components: (h,) for RNN/GRU, (h, c) for the LSTM; arrays (…, B, H).
LayerState = tuple[Array, ...]

DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class ScratchConfig:
    """Everything needed to rebuild a scratch model; serialises to JSON."""

    cell: str  # "rnn", "lstm" or "gru"
    vocab_size: int  # V: size of the one-hot input and of the softmax output
    hidden_size: int  # H: units per recurrent layer
    num_layers: int = 1  # L: stacked recurrent layers
    nonlinearity: str = "tanh"  # RNN only: "tanh", "sigmoid" or "relu"
    dtype: str = "float64"  # "float64" for gradient checks, "float32" to match usual training
    seed: int = 0  # seed of the initial weights

    def to_json(self) -> str:
        """The config as a JSON object."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ScratchConfig:
        """Rebuild a config from ``to_json`` output; unknown keys are an error."""
        return from_dict_strict(cls, json.loads(text), "scratch config key")


@dataclass(frozen=True)
class ForwardPass:
    """Everything the backward needs from a forward pass over T steps."""

    logits: Array  # (T, B, V)
    top_hidden: Array  # (T, B, H): s_t^(L), what the output layer sees
    caches: list[list[Any]]  # caches[t][l]: the cell cache of layer l at step t
    final_state: State


@dataclass(frozen=True)
class BackwardPass:
    """Result of back-propagation through time."""

    grads: dict[str, Array]  # one array per state_dict name, same shape
    dstate0: State  # ∂L/∂(initial state), same structure as the state
    dh_top: Array  # (T, B, H): ∂L/∂s_t^(L), the total gradient reaching the top layer's h_t


def _check_tokens(name: str, tokens: NDArray[Any], vocab_size: int) -> NDArray[np.intp]:
    """Validate a (T, B) integer array of token ids."""
    arr = np.asarray(tokens)
    if arr.ndim != 2:
        raise ShapeError(f"{name} must have shape (T, B) (time-major), got shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"{name} is empty (shape {arr.shape}); give at least one step and one sequence")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(
            f"{name} must hold integer token ids, got dtype {arr.dtype}; convert with .astype(int)"
        )
    if arr.min() < 0 or arr.max() >= vocab_size:
        raise DataError(
            f"{name} holds ids in [{arr.min()}, {arr.max()}] but the vocabulary has {vocab_size} entries "
            f"(valid ids 0 … {vocab_size - 1})"
        )
    return arr.astype(np.intp)


def log_softmax(logits: Array) -> Array:
    """log o = z − log Σ e^z, computed with the max subtracted so that e^z cannot overflow."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class RecurrentLM:
    """Shared machinery of the three language models; subclasses supply the cell."""

    cell_name: ClassVar[str]
    gates: ClassVar[int]  # G: gate blocks stacked in W_ih / W_hh
    state_parts: ClassVar[int]  # 1 for h, 2 for (h, c)

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dtype: DTypeLike = np.float64,
        seed: int = 0,
    ) -> None:
        for name, value in (
            ("vocab_size", vocab_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be an integer ≥ 1, got {value!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype}")
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.seed = int(seed)
        self.params: dict[str, Array] = self._init_params(np.random.default_rng(seed))

    # ------------------------------------------------------------ parameters

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        """Name → shape of every parameter, in torch.nn order."""
        gh, h = self.gates * self.hidden_size, self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for k in range(self.num_layers):
            fan_in = self.vocab_size if k == 0 else h
            shapes[f"weight_ih_l{k}"] = (gh, fan_in)
            shapes[f"weight_hh_l{k}"] = (gh, h)
            shapes[f"bias_ih_l{k}"] = (gh,)
            shapes[f"bias_hh_l{k}"] = (gh,)
        shapes["out.weight"] = (self.vocab_size, h)
        shapes["out.bias"] = (self.vocab_size,)
        return shapes

    def _init_params(self, rng: np.random.Generator) -> dict[str, Array]:
        """U(−1/√H, 1/√H) for every parameter, the torch.nn default for recurrent layers."""
        bound = 1.0 / np.sqrt(self.hidden_size)
        return {
            name: rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            for name, shape in self._shapes().items()
        }

    def state_dict(self) -> dict[str, Array]:
        """A copy of the parameters under torch.nn names."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace every parameter; names and shapes must match exactly (values are cast to our dtype)."""
        shapes = self._shapes()
        missing = sorted(set(shapes) - set(state))
        unexpected = sorted(set(state) - set(shapes))
        if missing or unexpected:
            raise CheckpointError(
                f"state dict does not match a {self.describe()}: missing {missing}, unexpected {unexpected}; "
                "build the model with the vocab_size/hidden_size/num_layers the weights were made for"
            )
        loaded = {}
        for name, shape in shapes.items():
            value = np.array(
                state[name], dtype=self.dtype
            )  # np.array copies, so the caller's array stays theirs
            if value.shape != shape:
                raise CheckpointError(f"{name} has shape {value.shape}, this model needs {shape}")
            loaded[name] = value
        self.params = loaded

    def describe(self) -> str:
        """A short human description, used in messages."""
        return f"{self.cell_name} (V={self.vocab_size}, H={self.hidden_size}, L={self.num_layers})"

    def config(self) -> ScratchConfig:
        """The configuration this model was built with."""
        return ScratchConfig(
            cell=self.cell_name,
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            nonlinearity=getattr(self, "nonlinearity", "tanh"),
            dtype=self.dtype.name,
            seed=self.seed,
        )

    def layer_params(self, k: int) -> LayerParams:
        """The four arrays of layer k."""
        p = self.params
        return LayerParams(p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"], p[f"bias_ih_l{k}"], p[f"bias_hh_l{k}"])

    # ------------------------------------------------------------ state

    def init_state(self, batch_size: int) -> State:
        """The zero state for a batch, shaped as torch.nn does: (L, B, H), or (h, c) for the LSTM."""
        zeros = np.zeros((self.num_layers, batch_size, self.hidden_size), dtype=self.dtype)
        return zeros if self.state_parts == 1 else (zeros, zeros.copy())

    def _split_state(self, state: State | None, batch_size: int) -> list[LayerState]:
        """Public state → one tuple of (B, H) arrays per layer, validating shapes."""
        if state is None:
            state = self.init_state(batch_size)
        parts = (state,) if self.state_parts == 1 else state
        if not isinstance(parts, tuple) or len(parts) != self.state_parts:
            raise ShapeError(
                f"{self.describe()} takes a state of {self.state_parts} array(s), e.g. init_state(B)"
            )
        expected = (self.num_layers, batch_size, self.hidden_size)
        arrays = []
        for part in parts:
            arr = np.asarray(part, dtype=self.dtype)
            if arr.shape != expected:
                raise ShapeError(f"state has shape {arr.shape}, expected (L, B, H) = {expected}")
            arrays.append(arr)
        return [tuple(a[k] for a in arrays) for k in range(self.num_layers)]

    def _join_state(self, layers: list[LayerState]) -> State:
        """One tuple per layer → the public state (stacked over layers)."""
        stacked = tuple(np.stack([layer[i] for layer in layers]) for i in range(self.state_parts))
        return stacked[0] if self.state_parts == 1 else (stacked[0], stacked[1])

    # ------------------------------------------------------------ one step of one layer (per cell)

    def _step_forward(self, k: int, x: Array, state: LayerState) -> tuple[LayerState, Any]:
        """Advance layer k one step; returns the new state (h first) and the cache."""
        raise NotImplementedError

    def _step_backward(self, k: int, d_state: LayerState, cache: Any) -> tuple[Array, LayerState, LayerGrads]:
        """Back through layer k at one step; returns (dx, d_state_prev, grads)."""
        raise NotImplementedError

    # ------------------------------------------------------------ forward / backward over time

    def run_forward(self, inputs: NDArray[Any], state: State | None = None) -> ForwardPass:
        """Forward over all steps, keeping what the backward needs."""
        tokens = _check_tokens("inputs", inputs, self.vocab_size)
        steps, batch = tokens.shape
        layer_states = self._split_state(state, batch)
        eye = np.eye(self.vocab_size, dtype=self.dtype)
        caches: list[list[Any]] = []
        top = np.empty((steps, batch, self.hidden_size), dtype=self.dtype)
        for t in range(steps):
            x = eye[tokens[t]]  # (B, V) one-hot
            step_caches = []
            for k in range(self.num_layers):
                layer_states[k], cache = self._step_forward(k, x, layer_states[k])
                step_caches.append(cache)
                x = layer_states[k][0]  # the layer's h_t is the next layer's input
            caches.append(step_caches)
            top[t] = x
        logits = top @ self.params["out.weight"].T + self.params["out.bias"]
        return ForwardPass(
            logits=logits, top_hidden=top, caches=caches, final_state=self._join_state(layer_states)
        )

    def forward(self, inputs: NDArray[Any], state: State | None = None) -> tuple[Array, State]:
        """Logits (T, B, V) for int inputs (T, B), and the final state to carry into the next call."""
        fp = self.run_forward(inputs, state)
        return fp.logits, fp.final_state

    def run_backward(self, fp: ForwardPass, dlogits: Array, policy: BackwardPolicy) -> BackwardPass:
        """Back-propagate ∂L/∂logits (T, B, V) through time under a truncation policy.

        Walking t = T−1 … 0, the gradient at the top layer's h_t is the output layer's
        Vᵀ ∂L/∂z_t plus what arrives from step t+1; each layer's backward passes ∂/∂x down to the
        layer below (same step) and ∂/∂s_{t−1} to its own previous step, through ``policy.carry``.
        The carried gradients have shape (A, B, H) with A = policy.buckets age buckets.
        """
        steps, batch, _ = fp.logits.shape
        ages = policy.buckets
        grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        w_out = self.params["out.weight"]
        zeros = np.zeros((ages, batch, self.hidden_size), dtype=self.dtype)
        carried: list[LayerState] = [tuple(zeros.copy() for _ in range(self.state_parts))] * self.num_layers
        dh_top = np.empty((steps, batch, self.hidden_size), dtype=self.dtype)
        for t in reversed(range(steps)):
            grads["out.weight"] += dlogits[t].T @ fp.top_hidden[t]
            grads["out.bias"] += dlogits[t].sum(axis=0)
            from_above = np.zeros_like(zeros)
            from_above[0] = dlogits[t] @ w_out  # a fresh loss term has age 0
            for k in reversed(range(self.num_layers)):
                d_state = (carried[k][0] + from_above, *carried[k][1:])
                if k == self.num_layers - 1:
                    dh_top[t] = d_state[0].sum(axis=0)
                from_above, d_prev, layer_grads = self._step_backward(k, d_state, fp.caches[t][k])
                self._accumulate(grads, k, layer_grads)
                carried[k] = tuple(policy.carry(d, t) for d in d_prev)
        dstate0 = self._join_state([tuple(d.sum(axis=0) for d in layer) for layer in carried])
        return BackwardPass(grads=grads, dstate0=dstate0, dh_top=dh_top)

    @staticmethod
    def _accumulate(grads: dict[str, Array], k: int, g: LayerGrads) -> None:
        """Add one step's layer gradients to the totals."""
        grads[f"weight_ih_l{k}"] += g.weight_ih
        grads[f"weight_hh_l{k}"] += g.weight_hh
        grads[f"bias_ih_l{k}"] += g.bias_ih
        grads[f"bias_hh_l{k}"] += g.bias_hh

    def loss_from_logits(self, logits: Array, targets: NDArray[Any]) -> tuple[float, Array]:
        """L = Σ_t mean_b −log softmax(z_t)[y_t] and ∂L/∂z_t = (o_t − onehot(y_t)) / B."""
        tokens = _check_tokens("targets", targets, self.vocab_size)
        if tokens.shape != logits.shape[:2]:
            raise ShapeError(
                f"targets have shape {tokens.shape} but inputs have {logits.shape[:2]}; they must match"
            )
        batch = tokens.shape[1]
        logp = log_softmax(logits)
        picked = np.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0]  # (T, B)
        loss = float(-picked.sum() / batch)
        dlogits = np.exp(logp)
        np.put_along_axis(
            dlogits, tokens[..., None], np.take_along_axis(dlogits, tokens[..., None], axis=-1) - 1, -1
        )
        return loss, dlogits / batch

    def loss_and_grads_with_state(
        self,
        inputs: NDArray[Any],
        targets: NDArray[Any],
        truncate: Truncation = None,
        state: State | None = None,
    ) -> tuple[float, dict[str, Array], State]:
        """Like ``loss_and_grads``, starting from ``state`` and also returning the final state.

        Carrying the returned state into the next chunk (without back-propagating into it) is
        classic chunked truncated BPTT.
        """
        fp = self.run_forward(inputs, state)
        loss, dlogits = self.loss_from_logits(fp.logits, targets)
        policy = resolve_truncation(truncate, fp.logits.shape[0])
        return loss, self.run_backward(fp, dlogits, policy).grads, fp.final_state

    def loss_and_grads(
        self, inputs: NDArray[Any], targets: NDArray[Any], truncate: Truncation = None
    ) -> tuple[float, dict[str, Array]]:
        """Loss Σ_t mean_b CE and its gradient for int arrays (T, B), from the zero state.

        ``truncate``: None (full BPTT), an int k (each loss term back-propagates k steps), a
        ``RandomTruncation`` (ARTBP, unbiased) or a policy from ``rnnlab.scratch.bptt``.
        """
        loss, grads, _ = self.loss_and_grads_with_state(inputs, targets, truncate)
        return loss, grads


class RNN(RecurrentLM):
    """Elman RNN language model: h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), f ∈ {tanh, sigmoid, relu}."""

    cell_name = "rnn"
    gates = 1
    state_parts = 1

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        dtype: DTypeLike = np.float64,
        seed: int = 0,
    ) -> None:
        if nonlinearity not in cells.ACTIVATIONS:
            raise ConfigError(
                f"unknown nonlinearity {nonlinearity!r}; options are {sorted(cells.ACTIVATIONS)}"
            )
        self.nonlinearity = nonlinearity
        self.activation = cells.ACTIVATIONS[nonlinearity]
        super().__init__(vocab_size, hidden_size, num_layers, dtype, seed)

    def describe(self) -> str:
        """Name with the nonlinearity."""
        return super().describe().replace("rnn", f"rnn-{self.nonlinearity}", 1)

    def _step_forward(self, k: int, x: Array, state: LayerState) -> tuple[LayerState, Any]:
        h, cache = cells.rnn_forward(x, state[0], self.layer_params(k), self.activation)
        return (h,), cache

    def _step_backward(self, k: int, d_state: LayerState, cache: Any) -> tuple[Array, LayerState, LayerGrads]:
        dx, dh_prev, grads = cells.rnn_backward(d_state[0], cache, self.layer_params(k))
        return dx, (dh_prev,), grads


class LSTM(RecurrentLM):
    """LSTM language model (gates i, f, g, o; state (h, c)) in torch.nn.LSTM layout."""

    cell_name = "lstm"
    gates = 4
    state_parts = 2

    def _step_forward(self, k: int, x: Array, state: LayerState) -> tuple[LayerState, Any]:
        h, c, cache = cells.lstm_forward(x, state[0], state[1], self.layer_params(k))
        return (h, c), cache

    def _step_backward(self, k: int, d_state: LayerState, cache: Any) -> tuple[Array, LayerState, LayerGrads]:
        dx, dh_prev, dc_prev, grads = cells.lstm_backward(d_state[0], d_state[1], cache, self.layer_params(k))
        return dx, (dh_prev, dc_prev), grads


class GRU(RecurrentLM):
    """GRU language model (gates r, z, n) in torch.nn.GRU layout."""

    cell_name = "gru"
    gates = 3
    state_parts = 1

    def _step_forward(self, k: int, x: Array, state: LayerState) -> tuple[LayerState, Any]:
        h, cache = cells.gru_forward(x, state[0], self.layer_params(k))
        return (h,), cache

    def _step_backward(self, k: int, d_state: LayerState, cache: Any) -> tuple[Array, LayerState, LayerGrads]:
        dx, dh_prev, grads = cells.gru_backward(d_state[0], cache, self.layer_params(k))
        return dx, (dh_prev,), grads


def build_model(config: ScratchConfig) -> RecurrentLM:
    """A freshly initialised model from its config."""
    if config.dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {sorted(DTYPES)}, got {config.dtype!r}")
    dtype = DTYPES[config.dtype]
    size = (config.vocab_size, config.hidden_size, config.num_layers)
    if config.cell == "rnn":
        return RNN(*size, nonlinearity=config.nonlinearity, dtype=dtype, seed=config.seed)
    if config.cell == "lstm":
        return LSTM(*size, dtype=dtype, seed=config.seed)
    if config.cell == "gru":
        return GRU(*size, dtype=dtype, seed=config.seed)
    raise ConfigError(f"unknown cell {config.cell!r}; options are ['gru', 'lstm', 'rnn']")
