"""The NumPy engine: a trained ``RNNLM`` stepped without torch (imports NumPy and safetensors only).

    ids (N,) ─ embedding E[id] or one-hot ─▶ x ─ layers 1 … L ─▶ h^(L) ─ [projection P] ─ W_out, b
        ─▶ logits (N, V)

Each layer computes its affine maps here and its gate equations with the NumPy cells of
:mod:`rnnlab.scratch.cells` (``lstm_pointwise``, ``gru_pointwise``, the RNN activations), the
same functions the hand-written BPTT uses, so the equations exist once:

    LSTM  gates = x W_ihᵀ + h W_hhᵀ + (b_ih + b_hh)      → lstm_pointwise(gates, c)
    GRU   gi = x W_ihᵀ + b_ih,  gh = h W_hhᵀ + b_hh        → gru_pointwise(gi, gh, h)
    RNN   a = x W_ihᵀ + h W_hhᵀ + (b_ih + b_hh)          → f(a), f ∈ {tanh, relu}

For the LSTM and the RNN the two biases only ever appear summed, so they are added once. With
a one-hot input, x W_ih0ᵀ is a row of W_ih0ᵀ: gathered, not multiplied.

Weights are stored in whatever dtype the bundle chose (float16 for the bundled model) and
computed in float32. The state is a tuple over layers of ``(h,)`` or ``(h, c)``, each (N, H);
rows are the first axis, so ``select`` and ``concat`` index and stack along it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import CheckpointError, DataError
from rnnlab.scratch.cells import ACTIVATIONS, gru_pointwise, lstm_pointwise

F32 = NDArray[np.float32]
IntArray = NDArray[np.int64]
LayerState = tuple[F32, ...]  # (h,) or (h, c), each (N, H)
State = tuple[LayerState, ...]  # one per layer

CELLS: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}  # cell → gate blocks G in W_ih (G·H, ·)
# RNNLMConfig options that only shape training (dropouts, kernel choice, initialisation).
TRAINING_ONLY: frozenset[str] = frozenset(
    {"dropout", "layer_dropout", "impl", "dropout_input", "dropout_hidden", "weight_drop", "forget_bias"}
)
# Options this engine reads.
UNDERSTOOD: frozenset[str] = frozenset(
    {
        "vocab_size",
        "cell",
        "input",
        "embed_size",
        "hidden_size",
        "num_layers",
        "nonlinearity",
        "tie_weights",
        "bidirectional",
        "layer_norm",
    }
)


def numpy_unsupported(model_config: Mapping[str, Any]) -> str | None:
    """Why the NumPy engine cannot run a model with this ``RNNLMConfig`` (as a dict), or None if it can.

    Unknown options with a value that is off (None, False, 0, "") are ignored, so options added
    later that a model does not use do not force torch.
    """
    cell = model_config.get("cell")
    if cell not in CELLS:
        return f"cell {cell!r} (it runs {sorted(CELLS)})"
    if model_config.get("layer_norm"):
        return "layer normalisation"
    if model_config.get("bidirectional"):
        return "a bidirectional layer"
    if model_config.get("input", "embedding") not in ("embedding", "onehot"):
        return f"input {model_config.get('input')!r}"
    if cell == "rnn" and model_config.get("nonlinearity", "tanh") not in ("tanh", "relu"):
        return f"nonlinearity {model_config.get('nonlinearity')!r}"
    unknown = sorted(
        k
        for k, v in model_config.items()
        if k not in UNDERSTOOD | TRAINING_ONLY and v not in (None, False, 0, "")
    )
    if unknown:
        return f"option {unknown[0]}={model_config[unknown[0]]!r}"
    return None


@dataclass(frozen=True)
class LayerWeights:
    """One recurrent layer, transposed for row-major products and in float32."""

    w_ih_t: F32  # (I, G·H)
    w_hh_t: F32  # (H, G·H)
    b_x: F32  # (G·H,): b_ih + b_hh for LSTM/RNN, b_ih for the GRU
    b_hh: F32 | None  # (G·H,): GRU only (the reset gate multiplies W_hn h + b_hn)


class NumpyLM:
    """A recurrent language model as a stepper (:mod:`rnnlab.generate.stepper`), in NumPy float32."""

    def __init__(self, model_config: Mapping[str, Any], tensors: Mapping[str, NDArray[Any]]) -> None:
        reason = numpy_unsupported(model_config)
        if reason is not None:
            raise CheckpointError(f"the NumPy engine cannot run {reason}; load the model with engine='torch'")
        cfg = model_config
        self.cell: str = cfg["cell"]
        self.vocab_size = int(cfg["vocab_size"])
        self.hidden_size = int(cfg["hidden_size"])
        self.num_layers = int(cfg["num_layers"])
        self.onehot = cfg.get("input", "embedding") == "onehot"
        self.activation = ACTIVATIONS[cfg.get("nonlinearity", "tanh")]
        weights = _Weights(tensors)
        self.layers = [self._layer(weights, k) for k in range(self.num_layers)]
        self.embedding: F32 | None = None if self.onehot else weights.take("embedding.weight")
        if self.onehot:
            # x W_ih0ᵀ for a one-hot x is row `id` of W_ih0ᵀ: fold the bias in and gather.
            first = self.layers[0]
            self.input_rows: F32 | None = first.w_ih_t + first.b_x
        else:
            self.input_rows = None
        self.projection_t: F32 | None = None
        if weights.has("projection.weight"):
            self.projection_t = np.ascontiguousarray(weights.take("projection.weight").T)  # (H, E)
        if cfg.get("tie_weights"):
            assert self.embedding is not None
            self.decoder_t = self.embedding.T  # (E, V): the embedding matrix, shared
        else:
            self.decoder_t = np.ascontiguousarray(weights.take("decoder.weight").T)
        self.decoder_b = weights.take("decoder.bias")
        weights.check_all_used()

    def _layer(self, weights: _Weights, k: int) -> LayerWeights:
        return layer_weights(weights, self.cell, "rnn", f"l{k}")

    # ------------------------------------------------------------------ the stepper protocol

    def zero_state(self, rows: int) -> State:
        zeros = np.zeros((rows, self.hidden_size), dtype=np.float32)
        parts = 2 if self.cell == "lstm" else 1
        return tuple(tuple(zeros.copy() for _ in range(parts)) for _ in range(self.num_layers))

    def prefill(self, ids: NDArray[np.int64], state: State | None) -> tuple[F32, State]:
        """Read ``ids`` (T, N) layer by layer: one product for each layer's inputs at all T steps."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] == 0:
            raise DataError(f"prefill takes token ids of shape (T, N) with T ≥ 1, got {ids.shape}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise DataError(
                f"token ids must lie in [0, {self.vocab_size}), got [{ids.min()}, {ids.max()}]: "
                "map unknown tokens to <unk> with the model's vocabulary"
            )
        steps, rows = ids.shape
        state = self.zero_state(rows) if state is None else state
        xw = self._input(ids)  # (T, N, G·H)
        new_state = []
        outputs = np.empty((steps, rows, self.hidden_size), dtype=np.float32)
        for k, layer in enumerate(self.layers):
            if k:
                xw = outputs @ layer.w_ih_t + layer.b_x  # all T steps' inputs in one product
                outputs = np.empty_like(outputs)
            s = state[k]
            for t in range(steps):
                s = self._cell(layer, xw[t], s)
                outputs[t] = s[0]
            new_state.append(s)
        return self._logits(outputs[-1]), tuple(new_state)

    def step(self, ids: NDArray[np.int64], state: State | None) -> tuple[F32, State]:
        """One token per row, ``ids`` (N,); the decoder's hot loop, so no checks here."""
        state = self.zero_state(len(ids)) if state is None else state
        x = self._input(ids)
        new_state = []
        for k, layer in enumerate(self.layers):
            s = self._cell(layer, x, state[k])
            new_state.append(s)
            if k + 1 < len(self.layers):
                x = s[0] @ self.layers[k + 1].w_ih_t
                x += self.layers[k + 1].b_x
        h = new_state[-1][0]
        return self._logits(h), tuple(new_state)

    def select(self, state: State, rows: NDArray[np.intp]) -> State:
        return tuple(tuple(part[rows] for part in layer) for layer in state)

    def concat(self, states: Sequence[State]) -> State:
        return tuple(
            tuple(np.concatenate([s[k][i] for s in states]) for i in range(len(states[0][k])))
            for k in range(self.num_layers)
        )

    # ------------------------------------------------------------------ pieces

    def _input(self, ids: NDArray[np.int64]) -> F32:
        """Layer 0's input product x W_ih0ᵀ + b for ids of any shape S → S + (G·H,)."""
        if self.input_rows is not None:
            return self.input_rows[ids]
        assert self.embedding is not None
        first = self.layers[0]
        xw = self.embedding[ids] @ first.w_ih_t
        xw += first.b_x
        return xw

    def _cell(self, layer: LayerWeights, xw: F32, s: LayerState) -> LayerState:
        return cell_step(self.cell, self.activation, layer, xw, s)

    def _logits(self, top: F32) -> F32:
        if self.projection_t is not None:
            top = top @ self.projection_t
        logits = top @ self.decoder_t
        logits += self.decoder_b
        return logits


def layer_weights(weights: _Weights, cell: str, module: str, suffix: str) -> LayerWeights:
    """The layer named as torch.nn names it (``{module}.weight_ih_{suffix}`` …, suffix ``l0_reverse``)."""
    w_ih, w_hh = weights.take(f"{module}.weight_ih_{suffix}"), weights.take(f"{module}.weight_hh_{suffix}")
    b_ih, b_hh = weights.take(f"{module}.bias_ih_{suffix}"), weights.take(f"{module}.bias_hh_{suffix}")
    gru = cell == "gru"
    return LayerWeights(
        w_ih_t=np.ascontiguousarray(w_ih.T),
        w_hh_t=np.ascontiguousarray(w_hh.T),
        b_x=b_ih if gru else b_ih + b_hh,
        b_hh=b_hh if gru else None,
    )


def cell_step(cell: str, activation: Any, layer: LayerWeights, xw: F32, s: LayerState) -> LayerState:
    """One step of one layer, given its input product xw = x W_ihᵀ + b (N, G·H)."""
    if cell == "lstm":
        gates = s[0] @ layer.w_hh_t
        gates += xw
        h, c, _ = lstm_pointwise(gates, s[1])
        return (h, c)
    if cell == "gru":
        assert layer.b_hh is not None
        h, _ = gru_pointwise(xw, s[0] @ layer.w_hh_t + layer.b_hh, s[0])
        return (h,)
    return (activation.forward(xw + s[0] @ layer.w_hh_t),)


class _Weights:
    """The model's tensors by name, widened to float32 as they are taken; every one must be used."""

    def __init__(self, tensors: Mapping[str, NDArray[Any]]) -> None:
        self.tensors = dict(tensors)
        self.used: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self.tensors

    def take(self, name: str) -> F32:
        if name not in self.tensors:
            raise CheckpointError(
                f"the weights lack {name!r} (they hold {sorted(self.tensors)[:6]} …); "
                "load them into the model their config.json describes"
            )
        self.used.add(name)
        return np.asarray(self.tensors[name], dtype=np.float32)

    def check_all_used(self) -> None:
        left = sorted(set(self.tensors) - self.used)
        if left:
            raise CheckpointError(
                f"the weights hold tensors this model does not use: {left[:5]}; "
                "they belong to a different architecture — load them with engine='torch'"
            )
