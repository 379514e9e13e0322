"""Training: a model-agnostic trainer, run folders and checkpoints, metrics, plots, LM entry points."""

from __future__ import annotations

from rnnlab.train.config import TrainConfig
from rnnlab.train.lm import EvalRow, evaluate_run, format_table, load_run, train_language_model
from rnnlab.train.objective import LanguageModelObjective, Objective
from rnnlab.train.plots import plot_run
from rnnlab.train.trainer import Callback, Trainer, TrainResult, evaluate

__all__ = [
    "Callback",
    "EvalRow",
    "LanguageModelObjective",
    "Objective",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "evaluate",
    "evaluate_run",
    "format_table",
    "load_run",
    "plot_run",
    "train_language_model",
]
