"""The NumPy engine for encoder–decoders: a trained :class:`~rnnlab.models.seq2seq.Seq2Seq` without torch.

Imports NumPy (and safetensors, to read the weights) only. The recurrent steps use the cell
equations of :mod:`rnnlab.scratch.cells` (``gru_pointwise``, ``lstm_pointwise``, the RNN
activations) after their affine maps, so the equations exist once; everything else follows the
torch model line by line::

    encode   x = E[source] ─ each layer, each direction: h_t = cell(x_t W_ihᵀ + b, h_{t−1}) where t < len
             (a row's state stops at its own end; the backward direction starts there) ─▶ outputs, h_n
             s_0 = tanh(W_b [h→; h←] + b_b)            (c_0 = W_c′ [c→; c←] + b for an LSTM)
    step     s_t = decoder cells(E[y_{t−1}], s_{t−1});  α = softmax over the real source of the score
             c_t = Σ α h_s;  h̃_t = tanh(W_c [s_t; c_t] + b_c);  logits = W_out [P] h̃_t + b_out

The state keeps rows on the first axis of every array — the decoder's (h,) or (h, c) per layer,
each (N, H), and the encoded source (N, S, ·) with its mask (N, S) — so ``select`` indexes them all
alike and ``concat`` pads the sources to the longest before stacking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.inference.numpy_engine import (
    CELLS,
    F32,
    LayerState,
    LayerWeights,
    _Weights,
    cell_step,
    layer_weights,
)
from rnnlab.scratch.cells import ACTIVATIONS


class Seq2SeqState(NamedTuple):
    recurrent: tuple[LayerState, ...]  # the decoder's, one per layer
    outputs: F32  # (N, S, D·H_e), zero past each source's end
    mask: NDArray[np.bool_]  # (N, S)
    prepared: F32  # (N, S, ·): the attention's source-only part


def numpy_seq2seq_unsupported(config: Mapping[str, Any]) -> str | None:
    """Why this engine cannot run a Seq2SeqConfig (as a dict), or None if it can."""
    if config.get("cell") not in CELLS:
        return f"cell {config.get('cell')!r}"
    if config.get("attention") not in ("none", "additive", "dot", "general"):
        return f"attention {config.get('attention')!r}"
    return None


class NumpySeq2Seq:
    """A Seq2Seq as a stepper with ``encode`` (see the module docstring), in NumPy float32."""

    def __init__(self, config: Mapping[str, Any], tensors: Mapping[str, NDArray[Any]]) -> None:
        reason = numpy_seq2seq_unsupported(config)
        if reason is not None:
            raise ConfigError(f"the NumPy engine cannot run {reason}; load the model with engine='torch'")
        self.cell = str(config["cell"])
        self.vocab_size = int(config["vocab_size"])
        self.directions = 2 if config.get("bidirectional", True) else 1
        self.hidden = int(config["hidden_size"])
        self.decoder_layers = int(config["decoder_layers"])
        self.attention_kind = str(config["attention"])
        w = _Weights(tensors)
        self.embedding = w.take("embedding.weight")  # (V, E)
        self.encoder = [
            [self._layer(w, "encoder", k, d) for d in range(self.directions)]
            for k in range(int(config["encoder_layers"]))
        ]
        self.decoder = [self._layer(w, "decoder", k, 0) for k in range(self.decoder_layers)]
        self.bridge_h = (
            (w.take("bridge_h.weight").T.copy(), w.take("bridge_h.bias"))
            if w.has("bridge_h.weight")
            else None
        )
        self.bridge_c = (
            (w.take("bridge_c.weight").T.copy(), w.take("bridge_c.bias"))
            if w.has("bridge_c.weight")
            else None
        )
        self.attn: dict[str, F32] = {}  # the score's weights
        if self.attention_kind == "additive":
            self.attn = {
                "W_q_t": w.take("attention.W_q.weight").T.copy(),
                "W_k_t": w.take("attention.W_k.weight").T.copy(),
                "b_k": w.take("attention.W_k.bias"),
                "v": w.take("attention.v.weight")[0],
            }
        elif self.attention_kind == "general":
            self.attn = {"W_a_t": w.take("attention.W_a.weight").T.copy()}
        self.combine = (
            (w.take("combine.weight").T.copy(), w.take("combine.bias")) if w.has("combine.weight") else None
        )
        self.projection_t = w.take("projection.weight").T.copy() if w.has("projection.weight") else None
        self.output_t = (
            self.embedding.T if config.get("tie_weights", True) else w.take("output.weight").T.copy()
        )  # (E or H_d, V)
        self.output_b = w.take("output.bias")
        w.check_all_used()
        self.activation = ACTIVATIONS["tanh"]

    def _layer(self, w: _Weights, module: str, k: int, direction: int) -> LayerWeights:
        return layer_weights(w, self.cell, module, f"l{k}{'_reverse' if direction else ''}")

    def _cell(self, layer: LayerWeights, xw: F32, s: LayerState) -> LayerState:
        return cell_step(self.cell, self.activation, layer, xw, s)

    def _zeros(self, rows: int, size: int) -> LayerState:
        zeros = np.zeros((rows, size), dtype=np.float32)
        return (zeros, zeros.copy()) if self.cell == "lstm" else (zeros,)

    def _scan(
        self, layer: LayerWeights, x: F32, real: NDArray[np.bool_], reverse: bool
    ) -> tuple[F32, LayerState]:
        """Run one direction over x (S, N, I); a row's state only changes at its real steps."""
        steps, rows = x.shape[:2]
        size = layer.w_hh_t.shape[0]
        xw = x @ layer.w_ih_t + layer.b_x  # every step's input product at once
        out = np.zeros((steps, rows, size), dtype=np.float32)
        s = self._zeros(rows, size)
        for t in reversed(range(steps)) if reverse else range(steps):
            new = self._cell(layer, xw[t], s)
            keep = real[t][:, None]
            s = tuple(np.where(keep, n, o) for n, o in zip(new, s, strict=True))
            out[t] = np.where(keep, s[0], 0.0)
        return out, s

    # ------------------------------------------------------------------ the stepper protocol
    def encode(self, sources: Sequence[Sequence[int]]) -> Seq2SeqState:
        """The decoder's initial state of each source (one row per source)."""
        lengths = np.array([len(s) for s in sources])
        if len(lengths) == 0 or lengths.min() < 1:
            raise DataError("every source needs at least one token")
        ids = np.zeros((int(lengths.max()), len(sources)), dtype=np.int64)
        for col, source in enumerate(sources):
            ids[: len(source), col] = source
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise DataError(
                f"token ids must lie in [0, {self.vocab_size}); encode text with the model's vocabulary"
            )
        real = np.arange(ids.shape[0])[:, None] < lengths[None, :]  # (S, N)
        x = self.embedding[ids]  # (S, N, E)
        finals: list[LayerState] = []
        for layer in self.encoder:
            outs = []
            for d, weights in enumerate(layer):
                out, final = self._scan(weights, x, real, reverse=d == 1)
                outs.append(out)
                finals.append(final)
            x = np.concatenate(outs, axis=-1)
        outputs = np.ascontiguousarray(x.transpose(1, 0, 2))  # (N, S, D·H_e)
        top = finals[-self.directions :]
        recurrent = self._bridge(top, len(sources))
        return Seq2SeqState(recurrent, outputs, real.T.copy(), self._prepare(outputs))

    def _bridge(self, top: list[LayerState], rows: int) -> tuple[LayerState, ...]:
        if self.bridge_h is None:
            return tuple(self._zeros(rows, self.hidden) for _ in range(self.decoder_layers))
        w, b = self.bridge_h
        h0 = np.tanh(np.concatenate([s[0] for s in top], axis=-1) @ w + b).reshape(
            rows, self.decoder_layers, -1
        )
        if self.bridge_c is None:
            return tuple((np.ascontiguousarray(h0[:, k]),) for k in range(self.decoder_layers))
        wc, bc = self.bridge_c
        c0 = (np.concatenate([s[1] for s in top], axis=-1) @ wc + bc).reshape(rows, self.decoder_layers, -1)
        return tuple(
            (np.ascontiguousarray(h0[:, k]), np.ascontiguousarray(c0[:, k]))
            for k in range(self.decoder_layers)
        )

    def _prepare(self, outputs: F32) -> F32:
        if self.attention_kind == "additive":
            return outputs @ self.attn["W_k_t"] + self.attn["b_k"]
        if self.attention_kind == "general":
            return outputs @ self.attn["W_a_t"]
        return outputs

    def _weights(self, query: F32, state: Seq2SeqState) -> F32:
        """α (N, S): the attention of each row's query over its own real source positions."""
        if self.attention_kind == "additive":
            hidden = np.tanh((query @ self.attn["W_q_t"])[:, None, :] + state.prepared)
            e = hidden @ self.attn["v"]
        else:
            e = np.einsum("nd,nsd->ns", query, state.prepared)
        e = np.where(state.mask, e, -np.inf)
        e = np.exp(e - e.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def _decode_step(
        self, ids: NDArray[np.int64], state: Seq2SeqState
    ) -> tuple[F32, Seq2SeqState, F32 | None]:
        x = self.embedding[ids]
        recurrent = []
        for layer, s in zip(self.decoder, state.recurrent, strict=True):
            s = self._cell(layer, x @ layer.w_ih_t + layer.b_x, s)
            recurrent.append(s)
            x = s[0]
        weights = None
        if self.combine is not None:
            weights = self._weights(x, state)
            context = np.einsum("ns,nsd->nd", weights, state.outputs)
            w, b = self.combine
            x = np.tanh(np.concatenate([x, context], axis=-1) @ w + b)
        if self.projection_t is not None:
            x = x @ self.projection_t
        logits = x @ self.output_t + self.output_b
        return logits.astype(np.float32), state._replace(recurrent=tuple(recurrent)), weights

    def prefill(self, ids: NDArray[np.int64], state: Seq2SeqState) -> tuple[F32, Seq2SeqState]:
        """Read ``ids`` (T, N) from the encoded ``state``; the logits after the last token."""
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] == 0:
            raise DataError(f"prefill takes token ids of shape (T, N) with T ≥ 1, got {ids.shape}")
        if state is None:
            raise DataError("an encoder–decoder needs its encoded source: pass the state of encode(...)")
        for t in range(ids.shape[0]):
            logits, state, _ = self._decode_step(ids[t], state)
        return logits, state

    def step(self, ids: NDArray[np.int64], state: Seq2SeqState) -> tuple[F32, Seq2SeqState]:
        logits, state, _ = self._decode_step(np.asarray(ids), state)
        return logits, state

    def attention(self, ids: NDArray[np.int64], state: Seq2SeqState) -> F32:
        """Attention weights (T, S) of one row reading ``ids`` (T, 1) from ``state``."""
        if self.combine is None:
            raise ConfigError(
                "this model has no attention to show (it was trained with attention='none'); "
                "use a model trained with --attention additive, dot or general"
            )
        rows = []
        for t in range(ids.shape[0]):
            _, state, weights = self._decode_step(np.asarray(ids[t]), state)
            assert weights is not None
            rows.append(weights[0])
        return np.stack(rows)

    def select(self, state: Seq2SeqState, rows: NDArray[np.intp]) -> Seq2SeqState:
        return _map(state, lambda a: a[rows])

    def concat(self, states: Sequence[Seq2SeqState]) -> Seq2SeqState:
        longest = max(s.mask.shape[1] for s in states)
        padded = [_pad_source(s, longest) for s in states]
        recurrent = tuple(
            tuple(
                np.concatenate([s.recurrent[k][i] for s in padded])
                for i in range(len(padded[0].recurrent[k]))
            )
            for k in range(len(padded[0].recurrent))
        )
        return Seq2SeqState(
            recurrent,
            np.concatenate([s.outputs for s in padded]),
            np.concatenate([s.mask for s in padded]),
            np.concatenate([s.prepared for s in padded]),
        )


def _map(state: Seq2SeqState, fn: Callable[[Any], Any]) -> Seq2SeqState:
    recurrent = tuple(tuple(fn(part) for part in layer) for layer in state.recurrent)
    return Seq2SeqState(recurrent, fn(state.outputs), fn(state.mask), fn(state.prepared))


def _pad_source(state: Seq2SeqState, steps: int) -> Seq2SeqState:
    extra = steps - state.mask.shape[1]
    if extra == 0:
        return state

    def pad(a: NDArray[Any]) -> NDArray[Any]:
        return np.concatenate([a, np.zeros((a.shape[0], extra, *a.shape[2:]), dtype=a.dtype)], axis=1)

    return Seq2SeqState(state.recurrent, pad(state.outputs), pad(state.mask), pad(state.prepared))


def load_numpy_seq2seq(folder: str | Path, config: Mapping[str, Any]) -> NumpySeq2Seq:
    """The NumPy engine over ``folder/model.safetensors`` (the run's final weights or a bundle's)."""
    from rnnlab.inference.loading import MODEL_FILE, read_tensors

    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{path} is missing; the run has not finished (use engine='torch' for checkpoints)"
        )
    return NumpySeq2Seq(config, read_tensors(path))
