"""Training: a model-agnostic trainer, run folders and checkpoints, metrics, plots, LM entry points.

Names load on first use (PEP 562), so importing a torch-free module of this package (its
configs, say, for `rnnlab train --help`) does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnlab.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "TrainConfig": "rnnlab.train.config",
    "EvalRow": "rnnlab.train.lm",
    "evaluate_run": "rnnlab.train.lm",
    "format_table": "rnnlab.train.lm",
    "load_run": "rnnlab.train.lm",
    "train_language_model": "rnnlab.train.lm",
    "LanguageModelObjective": "rnnlab.train.objective",
    "Objective": "rnnlab.train.objective",
    "plot_run": "rnnlab.train.plots",
    "Callback": "rnnlab.train.trainer",
    "Trainer": "rnnlab.train.trainer",
    "TrainResult": "rnnlab.train.trainer",
    "evaluate": "rnnlab.train.trainer",
}

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
