"""NumPy-only recurrent language models with hand-written BPTT, gradient checks and gradient-flow probes.

This package imports NumPy and nothing heavier (no torch), so it can be read and run on its own.
"""

from __future__ import annotations

from rnnlab.scratch.bptt import CutPattern, FullBPTT, RandomTruncation, TruncatedBPTT
from rnnlab.scratch.model import GRU, LSTM, RNN, RecurrentLM, ScratchConfig, build_model

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "CutPattern",
    "FullBPTT",
    "RandomTruncation",
    "RecurrentLM",
    "ScratchConfig",
    "TruncatedBPTT",
    "build_model",
]
