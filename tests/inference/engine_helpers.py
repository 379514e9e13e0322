"""Helpers shared by tests that run a model on both engines."""

from __future__ import annotations

from rnnlab.inference import NumpyLM
from rnnlab.models.rnnlm import RNNLM
from rnnlab.train.checkpoint import model_tensors


def numpy_twin(model: RNNLM) -> NumpyLM:
    """The NumPy engine holding the torch model's weights (the way a run folder stores them)."""
    tensors = {name: t.detach().numpy() for name, t in model_tensors(model).items()}
    return NumpyLM(model.config.to_dict(), tensors)
