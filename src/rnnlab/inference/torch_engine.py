"""The torch engine: any torch language model as a stepper (see :mod:`rnnlab.generate.stepper`).

The model is any module with ``forward(ids (T, N), state) -> (logits (T, N, V), state)`` whose
state is a tensor, or tuple of tensors, with the batch on dimension 1 (torch.nn's layout:
``h`` or ``(h, c)`` of shape (L, N, H)), such as :class:`rnnlab.models.rnnlm.RNNLM`. It runs
where its weights are (CPU or GPU); only the logits come back to NumPy, as float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

FloatArray = NDArray[np.float32]


def map_state(fn: Callable[[Tensor], Tensor], state: Any) -> Any:
    """Apply ``fn`` to every tensor of a state (a tensor, or nested tuples/lists of them)."""
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, tuple | list):
        return type(state)(map_state(fn, part) for part in state)
    return state


class TorchStepper:
    """Steps a torch module in eval mode without autograd; logits come back as NumPy float32."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        try:
            self.device = next(model.parameters()).device
        except StopIteration:
            self.device = torch.device("cpu")

    @contextmanager
    def _eval(self) -> Iterator[None]:
        # Dropout must be off while decoding; a module that is training is put back as it was.
        was_training = self.model.training
        if was_training:
            self.model.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            if was_training:
                self.model.train()

    def _run(self, ids: NDArray[np.int64], state: Any) -> tuple[FloatArray, Any]:
        x = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64)).to(self.device)
        with self._eval():
            logits, state = self.model(x, state)
            last = logits[-1].float().cpu().numpy()
        return last, state

    def prefill(self, ids: NDArray[np.int64], state: Any) -> tuple[FloatArray, Any]:
        """One forward over the whole context (T, N): a single call, not T steps."""
        return self._run(ids, state)

    def step(self, ids: NDArray[np.int64], state: Any) -> tuple[FloatArray, Any]:
        return self._run(ids[None, :], state)

    def select(self, state: Any, rows: NDArray[np.intp]) -> Any:
        index = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=self.device)
        with torch.inference_mode():
            return map_state(lambda t: t.index_select(1, index), state)

    def concat(self, states: Sequence[Any]) -> Any:
        with torch.inference_mode():
            return _concat(list(states))


def _concat(states: list[Any]) -> Any:
    first = states[0]
    if isinstance(first, Tensor):
        return torch.cat(states, dim=1)
    return type(first)(_concat([s[i] for s in states]) for i in range(len(first)))
