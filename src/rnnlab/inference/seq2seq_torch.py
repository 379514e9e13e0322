"""An encoder–decoder (:class:`~rnnlab.models.seq2seq.Seq2Seq`) as a stepper, in torch.

The decoder's state of each row holds its recurrent state *and* its encoded source (outputs,
padding mask, the attention's prepared keys), all with the rows on dimension 1, so ``select``
indexes every tensor alike. ``concat`` pads the encoder parts of states whose sources differ in
length to the longest (outputs with zeros, the mask with False) before stacking, so rows of any
sources decode together::

    state = stepper.encode([ids_a, ids_b])          # two sources, S_a ≠ S_b: padded, masked
    logits, state = stepper.prefill(bos (1, 2), state)
    logits, state = stepper.step(tokens (2,), state)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from rnnlab.data.pair_batches import pad_columns
from rnnlab.errors import ConfigError
from rnnlab.inference.torch_engine import TorchStepper
from rnnlab.models.seq2seq import DecoderState, Encoded, Seq2Seq

FloatArray = NDArray[np.float32]


class Seq2SeqStepper(TorchStepper):
    """Encodes sources and steps the decoder of a Seq2Seq (eval mode, no autograd)."""

    model: Seq2Seq

    def __init__(self, model: Seq2Seq) -> None:
        super().__init__(model)

    def encode(self, sources: Sequence[Sequence[int]]) -> DecoderState:
        """The decoder's initial state of each source (one row per source)."""
        ids, lengths = pad_columns([np.asarray(s, dtype=np.int64) for s in sources], pad_id=0)
        with self._eval():
            encoded, s0 = self.model.encode(ids.to(self.device), lengths)
        return DecoderState(s0, encoded)

    def _run(self, ids: NDArray[np.int64], state: Any) -> tuple[FloatArray, Any]:
        x = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64)).to(self.device)
        with self._eval():
            logits, state, _ = self.model.decode(x, state)
            last = logits[-1].float().cpu().numpy()
        return last, state

    def attention(self, ids: NDArray[np.int64], state: DecoderState) -> FloatArray:
        """Attention weights (T, S) of one row reading ``ids`` (T, 1) from ``state`` (one source)."""
        if self.model.attention is None:
            raise ConfigError(
                "this model has no attention to show (it was trained with attention='none'); "
                "use a model trained with --attention additive, dot or general"
            )
        x = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64)).to(self.device)
        with self._eval():
            _, _, weights = self.model.decode(x, state)
            assert weights is not None
            return weights[:, 0].float().cpu().numpy()

    def select(self, state: DecoderState, rows: NDArray[np.intp]) -> DecoderState:
        index = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=self.device)
        with torch.inference_mode():
            return _map(state, lambda t: t.index_select(1, index))

    def concat(self, states: Sequence[DecoderState]) -> DecoderState:
        longest = max(s.source.mask.shape[0] for s in states)
        with torch.inference_mode():
            padded = [_map(s, lambda t: _pad_steps(t, longest), source_only=True) for s in states]
            return _map_many(padded, lambda ts: torch.cat(ts, dim=1))


def _pad_steps(t: Tensor, steps: int) -> Tensor:
    """``t`` (S, B, …) padded with zeros (False for a mask) to (steps, B, …)."""
    if t.shape[0] == steps:
        return t
    pad = t.new_zeros((steps - t.shape[0], *t.shape[1:]))
    return torch.cat([t, pad])


def _map(state: DecoderState, fn: Any, source_only: bool = False) -> DecoderState:
    recurrent = state.recurrent
    if not source_only:
        recurrent = tuple(fn(t) for t in recurrent) if isinstance(recurrent, tuple) else fn(recurrent)
    return DecoderState(recurrent, Encoded(*(fn(t) for t in state.source)))


def _map_many(states: Sequence[DecoderState], fn: Any) -> DecoderState:
    first = states[0].recurrent
    if isinstance(first, tuple):
        recurrent: Any = tuple(fn([s.recurrent[i] for s in states]) for i in range(len(first)))
    else:
        recurrent = fn([s.recurrent for s in states])
    source = Encoded(*(fn([s.source[i] for s in states]) for i in range(len(Encoded._fields))))
    return DecoderState(recurrent, source)
