"""``TrainConfig``: every setting of a training run, one commented default each, JSON round trip.

The model is described by its own config (``RNNLMConfig``); this one holds how it is trained:
the optimiser and its schedule, how the token streams are cut into batches for truncated BPTT,
budgets and stopping rules, and the backend (device, precision, compilation).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from rnnlab.config import from_dict_strict
from rnnlab.errors import ConfigError

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw")
SCHEDULES: tuple[str, ...] = ("none", "cosine", "plateau")
BPTT_MODES: tuple[str, ...] = ("fixed", "random-length")
SAMPLINGS: tuple[str, ...] = ("sequential", "random", "packed", "padded")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
NAN_POLICIES: tuple[str, ...] = ("stop", "skip")
PAD_SIDES: tuple[str, ...] = ("left", "right")
WEIGHTS: tuple[str, ...] = ("final", "best", "latest")  # which weights of a run to load

DEFAULT_VALID_FRACTION = 0.05  # share of the lines held out for validation
# The default recipe's model, on top of the RNNLMConfig defaults (2×256 LSTM): a 256-wide
# embedding shared with the output layer. With thousands of distinct characters the embedding and
# the softmax hold most of the parameters; tying them halves those and generalises far better on a
# few thousand poems (docs/train.md, "Measured": 10-minute poem benchmark).
RECIPE_MODEL_DEFAULTS: dict[str, Any] = {"embed_size": 256, "tie_weights": True}

_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "bptt_mode": BPTT_MODES,
    "sampling": SAMPLINGS,
    "device": DEVICES,
    "precision": PRECISIONS,
    "nan_policy": NAN_POLICIES,
    "pad_side": PAD_SIDES,
}


@dataclass
class TrainConfig:
    """How a model is trained; ``to_dict``/``from_dict`` round-trip through JSON."""

    # --- optimisation
    optimizer: str = "adamw"  # "sgd", "adam" or "adamw" (decoupled weight decay; the usual choice)
    lr: float = 3e-3  # peak learning rate η (after warm-up); SGD wants ~1–20, Adam(W) ~1e-3–3e-3
    weight_decay: float = 0.01  # L2 (sgd, adam) or decoupled decay (adamw)
    momentum: float = 0.0  # SGD only; 0 is plain SGD as in the word_language_model example
    beta1: float = 0.9  # Adam(W) first-moment decay
    beta2: float = 0.99  # Adam(W) second-moment decay; 0.99 adapts faster than 0.999 on short runs
    schedule: str = "cosine"  # "none", "cosine" (to min_lr_ratio·η over the run) or "plateau"
    warmup_steps: int = 50  # linear warm-up 0 → η over this many updates (cosine and plateau)
    min_lr_ratio: float = 0.1  # cosine: the final learning rate as a fraction of η
    plateau_factor: float = 0.5  # plateau: η ← factor·η after `plateau_patience` evaluations without gain
    plateau_patience: int = 0  # plateau: evaluations without improvement tolerated before decaying
    clip_norm: float = 1.0  # clip the global gradient norm ‖g‖₂ to this; 0 = no clipping (norm still logged)

    # --- batches and truncated BPTT
    sampling: str = (
        "packed"  # "packed" (lines joined by <eos>, state carried), "sequential", "random", "padded"
    )
    batch_size: int = 16  # B parallel streams (or poems, for "padded"); beat 32 and 8 on 1 CPU thread
    bptt: int = 64  # T, the truncation length: gradients flow back at most T steps
    bptt_mode: str = "fixed"  # "fixed" or "random-length" (AWD-LSTM: T ~ N(bptt, 5), p=0.05 halved)
    fixed_length: int = 125  # "padded": row length F (the tutorial pads poems to 125)
    pad_side: str = "left"  # "padded": pad at the front (tutorial) or the back
    loss_on_padding: bool = False  # "padded": count padding targets in the loss (the tutorial does; wasteful)

    # --- budget and stopping
    epochs: int = 10  # passes over the training split
    max_steps: int = 0  # stop after this many updates; 0 = no limit
    max_minutes: float = 0.0  # wall-clock budget for training (evaluation included); 0 = no limit
    eval_every: int = (
        0  # validate (and checkpoint) every N updates as well as each epoch end; 0 = epochs only
    )
    log_every: int = 50  # one log line (and JSONL record) every N updates
    patience: int = 0  # early stopping: evaluations without a better validation perplexity; 0 = off
    nan_policy: str = "stop"  # non-finite loss or gradient: "stop" with a message, or "skip" the batch

    # --- reproducibility and backend
    seed: int = 0  # seeds model init, dropout and every sampler; CPU runs are bit-for-bit repeatable
    device: str = "auto"  # "auto" (cuda if available), "cpu" or "cuda"
    precision: str = "fp32"  # "fp32" or "bf16" (autocast; the loss is always summed in fp32)
    compile: bool = False  # torch.compile the loss computation (slow first steps; CUDA mostly)
    keep_memory: bool = True  # CPU: keep freed memory mapped between steps (rnnlab.train.memory)
    tensorboard: bool = False  # also write TensorBoard events to RUN_DIR/tensorboard (needs `tensorboard`)
    dist_timeout_minutes: float = 30.0  # torchrun ranks: longest wait for the others in a collective

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid value and what would be valid."""
        for name, options in _CHOICES.items():
            value = getattr(self, name)
            if value not in options:
                raise ConfigError(f"unknown {name} {value!r}; options are {list(options)}")
        for name in ("batch_size", "bptt", "fixed_length", "epochs", "log_every"):
            _positive_int(name, getattr(self, name))
        for name in ("warmup_steps", "max_steps", "eval_every", "patience", "plateau_patience", "seed"):
            _non_negative_int(name, getattr(self, name))
        for name in ("lr", "weight_decay", "momentum", "clip_norm", "max_minutes", "dist_timeout_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
            if value < 0:
                raise ConfigError(f"{name} must be ≥ 0, got {value}")
        if self.lr == 0:
            raise ConfigError("lr must be > 0; a zero learning rate never changes the model")
        if self.dist_timeout_minutes == 0:
            raise ConfigError("dist_timeout_minutes must be > 0 (the longest a rank waits for the others)")
        for name in ("beta1", "beta2", "min_lr_ratio", "plateau_factor"):
            value = getattr(self, name)
            if not 0 <= value < 1 and not (name == "min_lr_ratio" and value == 1):
                raise ConfigError(f"{name} must lie in [0, 1), got {value}")
        if self.bptt_mode == "random-length" and self.sampling not in ("sequential", "packed"):
            raise ConfigError(
                f"bptt_mode='random-length' varies the length of consecutive chunks of a stream, so it needs "
                f"sampling 'sequential' or 'packed', not {self.sampling!r}"
            )
        if self.loss_on_padding and self.sampling != "padded":
            raise ConfigError(
                "loss_on_padding only applies to sampling='padded' (other layouts have no padding)"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a JSON dict, rejecting unknown keys with the list of valid ones."""
        return from_dict_strict(cls, data, "training option")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _non_negative_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be an integer ≥ 0, got {value!r}")
