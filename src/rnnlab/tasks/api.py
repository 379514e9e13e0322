"""Train, resume, evaluate and predict with task models in run folders: the API behind ``rnnlab task``.

    train_task("tag", "tones.train.jsonl", "runs/tones")                  # defaults: recipes.py
    train_task("classify", "dynasty.train.jsonl", "runs/dyn", model_options={"cnn": True})
    train_task("tag", None, "runs/tones", resume=True)                    # continue exactly
    report = evaluate_task("runs/tones", "tones.test.jsonl")               # model + baselines
    predict_task("runs/tones", "in.jsonl", "out.jsonl")

A run folder holds everything needed to rebuild the model and its data::

    config.json     {"task": TaskOptions, "labels": [...], "model": {...}, "train": TrainConfig,
                     "data": {"path", "valid", "valid_fraction", ...}, "parameters": n}
    vocab.json      the characters
    metrics.jsonl, checkpoints/{latest,best}/, model.safetensors    (written by the Trainer)

Training goes through the one :class:`~rnnlab.train.trainer.Trainer` (progress bar, checkpoints,
exact resume, best weights kept); batches are whole examples bucketed by length
(:class:`~rnnlab.data.buckets.BucketBatches`). Without a validation file a share of the training
file is held out by a hash of each text. Evaluation and prediction use the best weights (lowest
validation loss) unless told otherwise, and the baselines of :mod:`rnnlab.tasks.baselines` are
fitted on exactly the training examples the model saw.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.data.buckets import BucketBatches
from rnnlab.data.collection import write_jsonl
from rnnlab.data.vocab import Vocab
from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier, balanced_class_weights
from rnnlab.models.encoder import EncoderConfig
from rnnlab.models.multihead import MultiOutputConfig, MultiOutputModel
from rnnlab.models.tagger import SequenceTagger, TaggerConfig
from rnnlab.tasks import baselines as bl
from rnnlab.tasks.encoding import TaskCodec
from rnnlab.tasks.files import Example, Target, read_examples, split_examples, with_target
from rnnlab.tasks.metrics import (
    Confusion,
    ambiguous_characters,
    classification_report,
    tag_confusions,
    tagging_report,
)
from rnnlab.tasks.objectives import ClassifierObjective, MultiOutputObjective, TaggerObjective
from rnnlab.tasks.recipes import ENCODER_OPTIONS, TRAIN_DEFAULTS, TaskOptions
from rnnlab.tasks.recipes import model_options as recipe_model_options
from rnnlab.train import checkpoint as ckpt
from rnnlab.train import distributed as ddp
from rnnlab.train.config import TrainConfig
from rnnlab.train.lm import check_resume_overrides, continues_after_restart, training_seconds
from rnnlab.train.objective import Objective
from rnnlab.train.trainer import Callback, Trainer, TrainResult, evaluate, resolve_device

DEFAULT_VALID_FRACTION = 0.05
WEIGHTS: tuple[str, ...] = ("best", "final", "latest")
TaskModel = SequenceClassifier | SequenceTagger | MultiOutputModel


# ---------------------------------------------------------------------------------------------
# Models and objectives.


def model_config(
    options: TaskOptions, flat: dict[str, Any], codec: TaskCodec, class_counts: Sequence[int] | None = None
) -> ClassifierConfig | TaggerConfig | MultiOutputConfig:
    """The model config of a run from the flat options (:func:`rnnlab.tasks.recipes.model_options`)."""
    kind = options.kind
    encoder = {k: v for k, v in flat.items() if k in ENCODER_OPTIONS}
    if kind == "multi" and isinstance(encoder.get("cnn"), dict):
        encoder["cnn"] = {"causal": True, **encoder["cnn"]}  # step t must not see c_{t+1}
    enc = EncoderConfig(vocab_size=len(codec.vocab), **encoder)
    if kind == "classify":
        weights = balanced_class_weights(class_counts) if options.class_weights and class_counts else None
        return ClassifierConfig(
            encoder=enc,
            num_classes=len(codec.labels),
            pooling=flat.get("pooling", "max"),
            dropout=flat.get("head_dropout", enc.dropout),
            attention_size=flat.get("attention_size", 64),
            class_weights=weights,
        )
    if kind == "tag":
        return TaggerConfig(encoder=enc, num_tags=len(codec.labels), crf=bool(flat.get("crf", False)))
    if not enc.causal:
        raise ConfigError(
            "a multi-output run predicts the next character, so its encoder must not read ahead: use "
            "--unidirectional (and, with --cnn, a causal front end, which is the default for this task)"
        )
    sizes = {"next": len(codec.vocab), "next-tag": len(codec.labels)}
    weights_by_head = (
        dict(zip(options.heads, options.loss_weights, strict=True)) if options.loss_weights else None
    )
    return MultiOutputConfig(
        encoder=enc, heads={h: sizes[h] for h in options.heads}, loss_weights=weights_by_head
    )


def build_model(kind: str, config: dict[str, Any]) -> TaskModel:
    """The model a run's ``config.json`` "model" section describes."""
    if kind == "classify":
        return SequenceClassifier.from_config(config)
    if kind == "tag":
        return SequenceTagger.from_config(config)
    return MultiOutputModel.from_config(config)


def make_objective(model: TaskModel, labels: Sequence[str]) -> Objective:
    if isinstance(model, SequenceClassifier):
        return ClassifierObjective(model, labels)
    if isinstance(model, SequenceTagger):
        return TaggerObjective(model, labels)
    return MultiOutputObjective(model)


# ---------------------------------------------------------------------------------------------
# Training.


def training_split(
    options: TaskOptions, data: str | Path, valid: str | Path | None, valid_fraction: float
) -> tuple[list[Example], list[Example], str]:
    """(training examples, validation examples, where the validation ones come from)."""
    examples = read_examples(data, options.file_kind)
    if valid is not None:
        return examples, read_examples(valid, options.file_kind), str(valid)
    train, held = split_examples(examples, valid_fraction)
    return train, held, f"{data} (held-out {valid_fraction:.0%})"


def batches_for(
    codec: TaskCodec, examples: Sequence[Example], source: str, config: TrainConfig, *, training: bool
) -> BucketBatches:
    sequences, targets = codec.encode(examples, source, training=training)
    return BucketBatches(
        sequences,
        targets,
        config.batch_size if training else min(config.batch_size, len(sequences)),
        pad_id=codec.vocab.pad_id,
        shuffle=training,
        pool=codec.options.bucket_pool,
        seed=config.seed,
    )


def train_task(
    kind: str,
    data: str | Path | None,
    out: str | Path,
    *,
    valid: str | Path | None = None,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    model_options: dict[str, Any] | None = None,
    train_options: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
    resume: bool = False,
    resume_overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> TrainResult:
    """Train a ``kind`` model ("classify", "tag", "multi") on the task file ``data`` into ``out``.

    ``model_options``: flat encoder/model fields over the recipe (``recipes.MODEL_DEFAULTS``);
    ``train_options``: TrainConfig fields over ``recipes.TRAIN_DEFAULTS``; ``task_options``:
    TaskOptions fields. With ``resume=True`` everything comes from ``out/config.json`` and only
    the budget and device may change (``resume_overrides``).
    """
    run = ckpt.RunDir(out)
    if resume:
        return _resume(kind, run, data, valid, resume_overrides or {}, callbacks, progress)
    train_config = TrainConfig.from_dict({**TRAIN_DEFAULTS[kind], **(train_options or {})})
    world = ddp.init_world(train_config.device, train_config.dist_timeout_minutes)
    if continues_after_restart(world, run):
        return _resume(kind, run, data, valid, {}, callbacks, progress)
    if data is None:
        raise ConfigError("no training data: pass --data TRAIN.jsonl (a task file, one JSON example a line)")
    options = TaskOptions.from_dict({**(task_options or {}), "kind": kind})
    train, held, valid_source = training_split(options, data, valid, valid_fraction)
    codec = TaskCodec.build(options, train)
    counts = None
    if kind == "classify":
        labels = [e.label for e in train]
        counts = [labels.count(label) for label in codec.labels]
    config = model_config(options, recipe_model_options(kind, model_options), codec, counts)
    torch.manual_seed(train_config.seed)  # the initial weights are part of the reproducible run
    model = build_model(kind, config.to_dict())
    if world.is_main:  # under torchrun every rank builds the same model; rank 0 alone writes
        run.path.mkdir(parents=True, exist_ok=True)
        codec.vocab.save(run.vocab)
        ckpt.atomic_write_json(
            run.config,
            {
                "task": options.to_dict(),
                "labels": codec.labels,
                "model": config.to_dict(),
                "train": train_config.to_dict(),
                "data": {
                    "path": str(Path(data).resolve()),
                    "valid": None if valid is None else str(Path(valid).resolve()),
                    "valid_fraction": valid_fraction,
                    "train_examples": len(train),
                    "valid_examples": len(held),
                    "train_chars": sum(len(e.text) for e in train),
                },
                "parameters": sum(p.numel() for p in model.parameters()),
            },
        )
    ddp.barrier(world)
    trainer = Trainer(
        make_objective(model, codec.labels),
        train_config,
        batches_for(codec, train, str(data), train_config, training=True),
        batches_for(codec, held, valid_source, train_config, training=False),
        run_dir=run.path,
        callbacks=callbacks,
        progress=progress,
    )
    return trainer.fit()


def _resume(
    kind: str,
    run: ckpt.RunDir,
    data: str | Path | None,
    valid: str | Path | None,
    overrides: dict[str, Any],
    callbacks: Sequence[Callback],
    progress: bool,
) -> TrainResult:
    config = run.read_config()
    check_resume_overrides(overrides)
    task_run = _open(run, config)
    if task_run.kind != kind:
        raise ConfigError(
            f"{run.path} is a {task_run.kind} run, not {kind}; resume it as `task train {task_run.kind}`"
        )
    if not run.has_checkpoint():
        raise CheckpointError(
            f"{run.latest} holds no complete checkpoint; start the run again with a fresh --out"
        )
    train_config = TrainConfig.from_dict({**config["train"], **overrides})
    d = config["data"]
    train, held, valid_source = training_split(
        task_run.options, data or d["path"], valid or d["valid"], d["valid_fraction"]
    )
    trainer = Trainer(
        make_objective(task_run.model, task_run.codec.labels),
        train_config,
        batches_for(task_run.codec, train, str(data or d["path"]), train_config, training=True),
        batches_for(task_run.codec, held, valid_source, train_config, training=False),
        run_dir=run.path,
        callbacks=callbacks,
        progress=progress,
    )
    trainer.resume()
    return trainer.fit()


# ---------------------------------------------------------------------------------------------
# Loading, predicting, evaluating.


@dataclass
class TaskRun:
    """A trained task model (in eval mode) with its codec and config."""

    path: Path
    options: TaskOptions
    codec: TaskCodec
    model: TaskModel
    config: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.options.kind


def _open(run: ckpt.RunDir, config: dict[str, Any]) -> TaskRun:
    if "task" not in config or "labels" not in config:
        raise CheckpointError(
            f"{run.config} is not a task run (no 'task' section): it was written by `rnnlab train`; "
            "evaluate it with `rnnlab eval`"
        )
    options = TaskOptions.from_dict(config["task"])
    codec = TaskCodec(options, Vocab.load(run.vocab), config["labels"])
    return TaskRun(run.path, options, codec, build_model(options.kind, config["model"]), config)


def load_task_run(run_dir: str | Path, weights: str = "best") -> TaskRun:
    """A run's model with the ``weights`` asked for: "best" (validation; the final weights when no
    checkpoint exists), "final" (``model.safetensors``) or "latest" (the last checkpoint)."""
    if weights not in WEIGHTS:
        raise ConfigError(f"unknown weights {weights!r}; options are {list(WEIGHTS)}")
    run = ckpt.RunDir(run_dir)
    task_run = _open(run, run.read_config())
    folder = ckpt.find_checkpoint(run.best if weights == "best" else run.latest)
    has_checkpoint = (folder / ckpt.STATE_FILE).is_file()
    if weights == "final" or (weights == "best" and not has_checkpoint):
        if not run.model.is_file():
            raise CheckpointError(f"{run.path} has no weights yet: neither {run.model} nor a checkpoint")
        ckpt.load_weights(task_run.model, run.model)
    elif has_checkpoint:
        ckpt.read_checkpoint(folder, task_run.model)
    else:
        raise CheckpointError(f"{run.path} has no {weights} checkpoint yet ({folder})")
    task_run.model.eval()
    return task_run


@torch.no_grad()
def predict_examples(
    run: TaskRun, examples: Sequence[Example], device: str = "auto", batch_size: int = 64
) -> list[Target]:
    """The model's label (classify) or tags (tag; multi: its next-tag head) for each example, in order."""
    if run.kind == "multi" and "next-tag" not in run.options.heads:
        raise ConfigError(
            "this multi-output run has no next-tag head, so it predicts no tags; eval it instead"
        )
    dev = resolve_device(device)
    model = run.model.to(dev)
    sequences = run.codec.inputs(examples)
    sampler = BucketBatches(
        sequences,
        [np.zeros(len(s), dtype=np.int64) for s in sequences],
        min(batch_size, len(sequences)),
        pad_id=run.codec.vocab.pad_id,
        shuffle=False,
    )
    labels = run.codec.labels
    out: list[Target | None] = [None] * len(sequences)
    for indices in sampler.batch_indices(0):
        batch = sampler.collate(indices).to(dev)
        lengths = batch.lengths
        assert lengths is not None
        if isinstance(model, SequenceClassifier):
            for i, k in zip(indices, model(batch.x, lengths).argmax(-1).tolist(), strict=True):
                out[i] = labels[k]
            continue
        if isinstance(model, SequenceTagger):
            best = model.decode(model(batch.x, lengths), lengths)  # (T, B)
            shift = 0
        else:
            best = model(batch.x, lengths)["next-tag"].argmax(-1)  # step t predicts the tag of c_{t+1}
            shift = 1  # x = <bos> c_1 … c_n: n + 1 steps, the last one predicts <eos>'s (nothing)
        columns = best.t().tolist()
        for col, i in enumerate(indices):
            n = int(lengths[col]) - shift
            out[i] = tuple(labels[k] for k in columns[col][:n])
    return [t for t in out if t is not None]


def predict_task(
    run_dir: str | Path, data: str | Path, out: str | Path, *, weights: str = "best", device: str = "auto"
) -> Path:
    """Write each example of ``data`` with its ``label`` or ``tags`` filled in, in input order."""
    run = load_task_run(run_dir, weights)
    examples = read_examples(data, run.options.file_kind, targets="optional")
    predictions = predict_examples(run, examples, device)
    kind = run.options.file_kind
    return write_jsonl(out, (with_target(e, kind, p) for e, p in zip(examples, predictions, strict=True)))


@dataclass
class TaskEvaluation:
    """The model's and the baselines' metrics on one task file."""

    run: str
    kind: str
    data: str
    n_examples: int
    rows: dict[str, dict[str, Any]]  # "model" first, then each baseline
    seconds: dict[str, float] = field(default_factory=dict)  # prediction (and fitting) time per row

    COLUMNS = (
        ("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("ambiguous_accuracy", "ambig. acc"),
        ("break_f1", "break F1"), ("sentence_end_f1", "sent.-end F1"), ("next_ppl", "next ppl"),
        ("next_accuracy", "next acc"), ("next-tag_accuracy", "next-tag acc"),
    )  # fmt: skip

    def table(self) -> str:
        """A fixed-width table (one row per model/baseline); per-class F1 below it."""
        present = [(k, h) for k, h in self.COLUMNS if any(k in r for r in self.rows.values())]
        head = f"{'':<20}" + "".join(f"{h:>14}" for _, h in present) + f"{'seconds':>10}"
        lines = [f"{self.kind} task on {self.data}: {self.n_examples:,} examples", head, "-" * len(head)]
        for name, row in self.rows.items():
            cells = "".join(f"{_fmt(row.get(k)):>14}" for k, _ in present)
            lines.append(f"{name:<20}{cells}{self.seconds.get(name, math.nan):>10.1f}")
        per = "per_tag_f1" if self.kind != "classify" else "per_class_f1"
        if per in self.rows["model"]:
            names = list(self.rows["model"][per])
            lines += ["", f"F1 per {'class' if per == 'per_class_f1' else 'tag'}:"]
            lines.append(f"{'':<20}" + "".join(f"{n[:10]:>11}" for n in names))
            for name, row in self.rows.items():
                scores = row.get(per, {})
                lines.append(f"{name:<20}" + "".join(f"{_fmt(scores.get(n)):>11}" for n in names))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "kind": self.kind,
            "data": self.data,
            "examples": self.n_examples,
            "model": self.rows["model"],
            "baselines": {k: v for k, v in self.rows.items() if k != "model"},
            "seconds": self.seconds,
        }


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _training_examples(run: TaskRun) -> list[Example]:
    """The examples the run trained on (its file minus the held-out split), for fitting baselines."""
    d = run.config["data"]
    try:
        return training_split(run.options, d["path"], d["valid"], d["valid_fraction"])[0]
    except DataError as err:
        raise DataError(
            f"{err} — the baselines are fitted on the run's training file; restore it there"
        ) from None


def evaluate_task(
    run_dir: str | Path,
    data: str | Path,
    *,
    baselines: bool = True,
    weights: str = "best",
    device: str = "auto",
) -> TaskEvaluation:
    """The run's metrics on the task file ``data``, beside baselines fitted on its training examples."""
    run = load_task_run(run_dir, weights)
    kind, labels = run.kind, run.codec.labels
    examples = read_examples(data, run.options.file_kind)
    for e in examples:
        run.codec.target(e, str(data))  # unknown labels fail here, naming the line
    texts = [e.text for e in examples]
    rows: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    fit_on = _training_examples(run) if baselines or kind != "classify" else []
    ambiguous = (
        ambiguous_characters([e.text for e in fit_on], [e.tags for e in fit_on])
        if kind != "classify"
        else None
    )

    def score(name: str, predictions: Sequence[Target], started: float) -> None:
        if kind == "classify":
            index = {label: i for i, label in enumerate(labels)}
            confusion = Confusion.of(
                [index[e.label] for e in examples], [index[str(p)] for p in predictions], labels
            )
            rows[name] = classification_report(confusion)
        else:
            gold = [e.tags for e in examples]
            pred = [[str(t) for t in p] for p in predictions]
            all_tags, amb = tag_confusions(texts, gold, pred, labels, ambiguous)
            rows[name] = tagging_report(all_tags, amb, len(ambiguous or ()))
        seconds[name] = time.perf_counter() - started

    started = time.perf_counter()
    if kind == "multi":
        if "next-tag" in run.options.heads:
            score("model", predict_examples(run, examples, device), started)
        else:
            rows["model"] = {}
        rows["model"].update(_head_metrics(run, examples, str(data), device))
        seconds["model"] = time.perf_counter() - started
    else:
        score("model", predict_examples(run, examples, device), started)
    rows["model"]["parameters"] = sum(p.numel() for p in run.model.parameters())
    rows["model"]["train_seconds"] = training_seconds(run.path)
    if baselines and kind != "multi":
        candidates: list[Any] = (
            bl.class_baselines(balanced=run.options.class_weights)
            if kind == "classify"
            else bl.tag_baselines()
        )
        for baseline in candidates:
            started = time.perf_counter()
            targets = [e.target for e in fit_on]
            baseline.fit([e.text for e in fit_on], targets)
            score(baseline.name, baseline.predict(texts), started)
    return TaskEvaluation(str(run_dir), kind, str(data), len(examples), rows, seconds)


def _head_metrics(run: TaskRun, examples: Sequence[Example], source: str, device: str) -> dict[str, float]:
    """Each head's accuracy and perplexity on ``examples`` (the objective's own validation counts)."""
    dev = resolve_device(device)
    run.model.to(dev)
    config = TrainConfig.from_dict(run.config["train"])
    batches = batches_for(run.codec, examples, source, config, training=False)
    meter = evaluate(make_objective(run.model, run.codec.labels), batches, dev)
    assert isinstance(run.model, MultiOutputModel)
    return MultiOutputObjective(run.model).metrics_from_counts(meter.counts)


def format_json(evaluation: TaskEvaluation) -> str:
    """The evaluation as one JSON line (NaN as null)."""
    return json.dumps(json_safe(evaluation.to_json()), ensure_ascii=False)


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/inf float replaced by None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


__all__ = [
    "TaskEvaluation",
    "TaskRun",
    "evaluate_task",
    "format_json",
    "json_safe",
    "load_task_run",
    "model_config",
    "predict_examples",
    "predict_task",
    "train_task",
]
