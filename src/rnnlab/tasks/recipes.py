"""The default settings of each task (torch-free, so ``rnnlab task --help`` can show them).

A task run is described by three sections of its ``config.json``:

* ``task`` — :class:`TaskOptions`: what the examples are and how they become batches;
* ``model`` — the model's own config (classifier, tagger or multi-output), built from the flat
  ``model_options`` below (encoder fields and the model's own) on top of :data:`MODEL_DEFAULTS`;
* ``train`` — a :class:`rnnlab.train.config.TrainConfig`, on top of :data:`TRAIN_DEFAULTS`.
  The language-model fields (sampling, bptt, fixed_length, pad_side, loss_on_padding) are unused:
  a task batch is B whole examples bucketed by length (:mod:`rnnlab.data.buckets`), and
  ``batch_size`` counts examples.

The defaults are the recipes measured in ``docs/tasks.md``: each trains a good model on its task
in at most ten minutes on a 2-core CPU (``max_minutes`` = 10 is part of the recipe).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError

TASK_KINDS: tuple[str, ...] = ("classify", "tag", "multi")
# What each head of a multi-output run predicts at input step t (the input is <bos> c_1 … c_n):
HEADS: dict[str, str] = {
    "next": "the next character c_{t+1} (<eos> after the last): a language model",
    "next-tag": "the tag of the next character (tone of c_{t+1}), before it is read",
}
# Encoder fields and each model's own fields that model_options may set.
ENCODER_OPTIONS: tuple[str, ...] = (
    "input", "embed_size", "cell", "hidden_size", "num_layers", "bidirectional", "dropout",
    "layer_dropout", "cnn", "impl",
)  # fmt: skip
MODEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "classify": ("pooling", "head_dropout", "attention_size"),
    "tag": ("crf",),
    "multi": (),
}
# The CNN front end `--cnn` switches on (see rnnlab.models.conv.ConvConfig): one layer of 128
# width-3 filters keeps one output per character, so it serves taggers as well as classifiers.
CNN_DEFAULT: dict[str, Any] = {"channels": [128], "kernel_sizes": [3]}

# Small on purpose: on a 2-core CPU the recurrent layer's per-step matrix products dominate, and a
# 64-unit BiLSTM sees several epochs of the tone or punctuation data in ten minutes where a
# 2 × 128 one sees less than one (docs/tasks.md, "Choosing the defaults").
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "classify": {
        "cell": "lstm", "embed_size": 64, "hidden_size": 64, "num_layers": 1, "bidirectional": True,
        "dropout": 0.3, "pooling": "max",
    },
    "tag": {
        "cell": "lstm", "embed_size": 64, "hidden_size": 64, "num_layers": 1, "bidirectional": True,
        "dropout": 0.2, "crf": False,
    },
    "multi": {
        "cell": "lstm", "embed_size": 64, "hidden_size": 128, "num_layers": 1, "bidirectional": False,
        "dropout": 0.2,
    },
}  # fmt: skip
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    kind: {
        "batch_size": 32, "lr": 3e-3, "epochs": 20, "max_minutes": 10.0, "warmup_steps": 100,
        "eval_every": 500, "log_every": 100, "clip_norm": 1.0, "weight_decay": 0.01,
    }
    for kind in TASK_KINDS
}  # fmt: skip


@dataclass
class TaskOptions:
    """What the examples of a run are and how they are batched; JSON round trip."""

    kind: str  # "classify", "tag" or "multi" (next character + the tag of the next character)
    min_freq: int = 2  # characters seen fewer times in training map to <unk> (which then gets trained)
    max_length: int = 400  # training only: longer texts are truncated (classify) or cut into pieces
    class_weights: bool = True  # classify: weight classes by N / (C·N_c) against label imbalance
    bucket_pool: int = 50  # batches per length-sorted pool (rnnlab.data.buckets); 1 = no bucketing
    heads: tuple[str, ...] = ("next", "next-tag")  # multi: which heads, in target-column order
    loss_weights: tuple[float, ...] | None = None  # multi: w_h per head (None: all 1)

    def __post_init__(self) -> None:
        self.heads = tuple(self.heads)
        if self.loss_weights is not None:
            self.loss_weights = tuple(float(w) for w in self.loss_weights)
        if self.kind not in TASK_KINDS:
            raise ConfigError(f"unknown task kind {self.kind!r}; options are {list(TASK_KINDS)}")
        for name in ("min_freq", "max_length", "bucket_pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        unknown = [h for h in self.heads if h not in HEADS]
        if unknown or not self.heads or len(set(self.heads)) != len(self.heads):
            raise ConfigError(f"heads must be distinct names from {list(HEADS)}, got {list(self.heads)}")
        if self.loss_weights is not None and len(self.loss_weights) != len(self.heads):
            raise ConfigError(
                f"{len(self.loss_weights)} loss weights for {len(self.heads)} heads {list(self.heads)}; "
                "give one weight per head"
            )

    @property
    def file_kind(self) -> str:
        """The task-file layout the run reads: a multi-output run reads a tagging file."""
        return "classify" if self.kind == "classify" else "tag"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskOptions:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "task option")


def model_options(kind: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The recipe's flat model options for ``kind`` with ``given`` on top; unknown keys raise ConfigError.

    ``cnn`` may be True (the recipe's :data:`CNN_DEFAULT`), False/None (off) or a ConvConfig dict.
    """
    given = dict(given or {})
    valid = set(ENCODER_OPTIONS) | set(MODEL_OPTIONS[kind])
    unknown = sorted(set(given) - valid)
    if unknown:
        raise ConfigError(
            f"unknown model option(s) {unknown} for a {kind} task; valid options are {sorted(valid)}"
        )
    values = {**MODEL_DEFAULTS[kind], **given}
    if values.get("cnn") is True:
        values["cnn"] = dict(CNN_DEFAULT)
    elif values.get("cnn") is False:
        values["cnn"] = None
    return values
