"""Sequence tasks around the task models: task files, metrics, baselines, and train/eval/predict.

    from rnnlab.tasks import train_task, evaluate_task, predict_task
    train_task("tag", "tones.train.jsonl", "runs/tones")              # BiLSTM tagger, held-out split
    report = evaluate_task("runs/tones", "tones.test.jsonl")           # model and baselines
    print(report.table())
    predict_task("runs/tones", "poems.jsonl", "poems.tagged.jsonl")

The pieces, one module each: ``files`` (JSON-lines task files, errors naming the line, the
held-out split), ``encoding`` (characters and labels to ids, batches), ``objectives`` (one
``Objective`` per task model for the shared ``Trainer``), ``metrics``, ``baselines``, ``api``
(run folders: train, resume, evaluate, predict), ``recipes`` (the default settings of each task,
torch-free) and ``sources`` (task files made from the chinese-poetry collection).

Sequence-to-sequence pairs (``{"source", "target"}``, e.g. couplets) have their own modules:
``pairs`` (pair files), ``pair_sources`` (couplets of regulated verse, titles, 声律启蒙),
``pair_metrics`` (chrF, BLEU, length, marks, tone opposition), ``pair_baselines`` (copy, retrieval,
the poetry LM) and ``seq2seq`` (the encoder–decoder's objective and run folders).

Names load on first use (PEP 562), so importing ``rnnlab.tasks.recipes`` or ``rnnlab.tasks.files``
does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "train_task": "rnnlab.tasks.api",
    "evaluate_task": "rnnlab.tasks.api",
    "predict_task": "rnnlab.tasks.api",
    "load_task_run": "rnnlab.tasks.api",
    "TaskEvaluation": "rnnlab.tasks.api",
    "TaskOptions": "rnnlab.tasks.recipes",
    "Example": "rnnlab.tasks.files",
    "read_examples": "rnnlab.tasks.files",
    "split_examples": "rnnlab.tasks.files",
    "build_task": "rnnlab.tasks.sources",
    "Pair": "rnnlab.tasks.pairs",
    "read_pairs": "rnnlab.tasks.pairs",
    "write_pairs": "rnnlab.tasks.pairs",
    "split_pairs": "rnnlab.tasks.pairs",
    "build_pairs": "rnnlab.tasks.pair_sources",
    "train_seq2seq": "rnnlab.tasks.seq2seq",
    "evaluate_seq2seq": "rnnlab.tasks.seq2seq",
    "load_seq2seq_run": "rnnlab.tasks.seq2seq",
}

__all__ = [
    "Example",
    "Pair",
    "TaskEvaluation",
    "TaskOptions",
    "build_pairs",
    "build_task",
    "evaluate_seq2seq",
    "evaluate_task",
    "load_seq2seq_run",
    "load_task_run",
    "predict_task",
    "read_examples",
    "read_pairs",
    "split_examples",
    "split_pairs",
    "train_seq2seq",
    "train_task",
    "write_pairs",
]

if TYPE_CHECKING:
    from rnnlab.tasks.api import TaskEvaluation, evaluate_task, load_task_run, predict_task, train_task
    from rnnlab.tasks.files import Example, read_examples, split_examples
    from rnnlab.tasks.pair_sources import build_pairs
    from rnnlab.tasks.pairs import Pair, read_pairs, split_pairs, write_pairs
    from rnnlab.tasks.recipes import TaskOptions
    from rnnlab.tasks.seq2seq import evaluate_seq2seq, load_seq2seq_run, train_seq2seq
    from rnnlab.tasks.sources import build_task


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab.tasks' has no attribute {name!r}")
