"""The decoder's view of a model: a *stepper*, advanced one token at a time, with an opaque state.

Decoding (sampling, beam search, the server's continuous batching) is written once, in NumPy,
against this small protocol; each engine implements it::

    logits, state = stepper.prefill(ids, state)   # ids (T, N) int64: read a context, time-major;
                                                  #   logits (N, V) float32 of its last position
    logits, state = stepper.step(ids, state)      # ids (N,) int64: one token per row → logits (N, V)
    state = stepper.select(state, rows)           # rows (M,) intp: keep / reorder / repeat rows
    state = stepper.concat([state_a, state_b])    # stack the rows of several states (a then b)

* **Logits** are always NumPy ``float32`` arrays ``(N, V)``, whatever computed them (the NumPy
  engine :mod:`rnnlab.inference`, or torch, whose step's logits are converted), so logits
  processors, samplers and constraints exist once, in NumPy.
* **The state is opaque**: only the stepper looks inside it. The decoder only passes it back,
  and reshapes it *by rows* through ``select`` (beam search reorders beams; rows leave a batch
  when their sequence ends; one prefilled row is repeated for ``num`` samples) and ``concat``
  (requests join a running batch). Every part of the state must therefore be per row.
* ``state=None`` given to ``prefill`` means fresh rows: a language model's zero state.

A recurrent language model's state is its ``h`` (or ``(h, c)``) of shape (L, N, H). An
encoder–decoder (e.g. a couplet model) plugs in unchanged: it encodes the source itself and
hands the decoder a state that holds, per row, the decoder's recurrent state *and* the encoder
outputs and padding mask that attention reads. Its ``select`` indexes all of them by row, and
its ``concat`` pads the encoder outputs of rows whose sources differ in length (extending the
mask) before stacking. ``prefill`` then takes that state instead of ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rnnlab.errors import ConfigError

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float32]

STEPPER_METHODS: tuple[str, ...] = ("prefill", "step", "select", "concat")


@runtime_checkable
class Stepper(Protocol):
    """What the decoder needs from a model (see the module docstring)."""

    def prefill(self, ids: IntArray, state: Any) -> tuple[FloatArray, Any]:
        """Read ``ids`` (T, N) from ``state`` (None: fresh rows); logits (N, V) after the last token."""
        ...

    def step(self, ids: IntArray, state: Any) -> tuple[FloatArray, Any]:
        """Feed one token per row, ``ids`` (N,); logits (N, V) for the next token and the new state."""
        ...

    def select(self, state: Any, rows: NDArray[np.intp]) -> Any:
        """The state of rows ``rows`` (M,), in that order; a row may appear several times."""
        ...

    def concat(self, states: Sequence[Any]) -> Any:
        """One state holding the rows of ``states`` one after the other."""
        ...


def as_stepper(model: Any) -> Stepper:
    """``model`` itself when it is a stepper, else a torch module wrapped by the torch engine.

    A torch module qualifies when ``model(ids (T, N), state) -> (logits (T, N, V), state)``, as
    ``RNNLM``; torch is imported only in that case.
    """
    if all(callable(getattr(model, name, None)) for name in STEPPER_METHODS):
        return model
    if _is_torch_module(model):
        from rnnlab.inference.torch_engine import TorchStepper

        return TorchStepper(model)
    raise ConfigError(
        f"cannot decode with a {type(model).__name__}: pass a torch module with "
        "forward(ids (T, N), state) -> (logits (T, N, V), state), such as RNNLM, or a stepper "
        f"with the methods {list(STEPPER_METHODS)} (rnnlab.generate.stepper)"
    )


def _is_torch_module(model: Any) -> bool:
    # Checked through the class hierarchy by name, so that deciding does not import torch.
    return any(
        cls.__module__.startswith("torch.nn") and cls.__name__ == "Module" for cls in type(model).__mro__
    )
