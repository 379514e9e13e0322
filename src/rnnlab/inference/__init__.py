"""Inference engines: steppers that the one decoder of :mod:`rnnlab.generate` drives.

    from rnnlab.inference import load_lm
    lm = load_lm("runs/my-poems")              # NumPy when it can run the model, else torch
    logits, state = lm.stepper.prefill(ids, None)

* :mod:`rnnlab.inference.numpy_engine` — ``NumpyLM``: plain RNN/GRU/LSTM language models in
  NumPy float32 (1–3 or more layers, tied or not, with the projection a tied model needs when
  H ≠ E), built on the cells of :mod:`rnnlab.scratch`; imports NumPy and safetensors only.
* :mod:`rnnlab.inference.torch_engine` — ``TorchStepper``: any torch language model (imports torch).
* :mod:`rnnlab.inference.loading` — ``load_lm``: a run folder or bundle with the engine chosen
  for it (``auto``, ``numpy``, ``torch``) and a notice when NumPy falls back to torch.

Names load on first use (PEP 562), so importing this package imports neither torch nor NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

_EXPORTS = {
    "ENGINES": "rnnlab.inference.loading",
    "LoadedLM": "rnnlab.inference.loading",
    "load_lm": "rnnlab.inference.loading",
    "load_numpy_lm": "rnnlab.inference.loading",
    "load_torch_lm": "rnnlab.inference.loading",
    "NumpyLM": "rnnlab.inference.numpy_engine",
    "numpy_unsupported": "rnnlab.inference.numpy_engine",
    "TorchStepper": "rnnlab.inference.torch_engine",
}

__all__ = [
    "ENGINES",
    "LoadedLM",
    "NumpyLM",
    "TorchStepper",
    "load_lm",
    "load_numpy_lm",
    "load_torch_lm",
    "numpy_unsupported",
]

if TYPE_CHECKING:
    from rnnlab.inference.loading import ENGINES, LoadedLM, load_lm, load_numpy_lm, load_torch_lm
    from rnnlab.inference.numpy_engine import NumpyLM, numpy_unsupported
    from rnnlab.inference.torch_engine import TorchStepper

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
