"""`rnnlab task train|eval|predict`: sequence classifiers, taggers and multi-output models on task files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rnnlab.cli.options import (
    add_keep_memory_argument,
    add_launch_arguments,
    given,
    launch,
    wants_launch,
    worker_argv,
)
from rnnlab.errors import ConfigError
from rnnlab.tasks.recipes import CNN_DEFAULT, HEADS, MODEL_DEFAULTS, TASK_KINDS, TRAIN_DEFAULTS

EPILOG = """\
Task files are JSON lines, one example a line: {"text": …, "label": …} to classify,
{"text": …, "tags": [one per character, null where unknown]} to tag (see docs/tasks.md).
`rnnlab data task NAME` writes real ones from the chinese-poetry collection.

examples:
  rnnlab task train tag --data tones.train.jsonl --out runs/tones
  rnnlab task eval runs/tones --data tones.test.jsonl
  rnnlab task predict runs/tones --data poems.jsonl --out poems.tagged.jsonl
  rnnlab task train tag --data tones.train.jsonl --out runs/tones2 --nproc 2   # 2 processes (DDP)
"""

TRAIN_EPILOG = """\
classify: one label per text (many-to-one); tag: one tag per character (aligned many-to-many);
multi: one unidirectional encoder with a head per task, trained on a tagging file: "next" predicts
the next character, "next-tag" the tag of the next character (--heads next,next-tag; compare with
--heads next and --heads next-tag alone). Without --valid, 5% of TRAIN (by a hash of each text) is
held out. Ctrl-C saves a checkpoint and evaluates; --resume RUN continues exactly.

examples:
  rnnlab task train tag --data tones.train.jsonl --out runs/tones
  rnnlab task train tag --data punct.train.jsonl --out runs/punct-uni --unidirectional --crf
  rnnlab task train classify --data dynasty.train.jsonl --out runs/dynasty --cnn --max-minutes 10
  rnnlab task train multi --data tones.train.jsonl --out runs/multi --heads next,next-tag
  rnnlab task train tag --resume runs/tones --max-minutes 5
  rnnlab task train tag --data tones.train.jsonl --out runs/tones-ddp --batch 16 --nproc 2  # global batch 32
"""

EVAL_EPILOG = """\
Prints one row for the model and one per baseline fitted on the run's own training examples
(majority, Naive Bayes and logistic regression for classifiers; majority, most-frequent-tag, HMM and
n-gram for taggers), then F1 per class or tag; the last line is all of it as one JSON object.

examples:
  rnnlab task eval runs/tones --data tones.test.jsonl
  rnnlab task eval runs/dynasty --data dynasty.test.jsonl --no-baselines | tail -n 1
"""

PREDICT_EPILOG = """\
Writes every input line with "label" (classify) or "tags" (tag, multi) filled in, in input order;
other fields are kept. The input needs only "text".

examples:
  rnnlab task predict runs/tones --data poems.jsonl --out poems.tagged.jsonl
  rnnlab task train tag --data tones.train.jsonl --out runs/tones2 --nproc 2   # 2 processes (DDP)
"""

# flag → model option
MODEL_FLAGS = {
    "cell": "cell", "input": "input", "embed": "embed_size", "hidden": "hidden_size", "layers": "num_layers",
    "dropout": "dropout", "layer_dropout": "layer_dropout", "pooling": "pooling",
    "head_dropout": "head_dropout", "impl": "impl",
}  # fmt: skip
TRAIN_FLAGS = {
    "batch": "batch_size", "lr": "lr", "weight_decay": "weight_decay", "warmup": "warmup_steps",
    "clip_norm": "clip_norm", "epochs": "epochs", "max_steps": "max_steps", "max_minutes": "max_minutes",
    "patience": "patience", "eval_every": "eval_every", "log_every": "log_every", "seed": "seed",
    "device": "device", "dist_timeout": "dist_timeout_minutes", "keep_memory": "keep_memory",
}  # fmt: skip
TASK_FLAGS = {"max_length": "max_length", "min_freq": "min_freq", "bucket_pool": "bucket_pool"}


def register(subparsers: Any) -> None:
    """Add `rnnlab task` and its actions."""
    parser = subparsers.add_parser(
        "task",
        help="train, evaluate and apply sequence classifiers, taggers and multi-output models",
        description="Sequence tasks on JSON-lines task files: classification (many-to-one), tagging "
        "(aligned many-to-many) and multi-output models, through the shared trainer.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _register_train(actions)
    ev = actions.add_parser(
        "eval",
        help="metrics of a run on a test file, beside baselines",
        description="Evaluate a task run on a labelled file, beside baselines fitted on its training data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EVAL_EPILOG,
    )
    ev.add_argument("run", metavar="RUN", help="the run folder written by `rnnlab task train`")
    ev.add_argument("--data", required=True, metavar="TEST.jsonl", help="labelled task file to score")
    ev.add_argument(
        "--no-baselines", action="store_true", help="score the model only (baselines take a while)"
    )
    _add_inference_options(ev)
    ev.set_defaults(func=run_eval)
    pr = actions.add_parser(
        "predict",
        help="fill in labels or tags for a file of texts",
        description="Label or tag every text of a JSON-lines file with a trained task run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=PREDICT_EPILOG,
    )
    pr.add_argument("run", metavar="RUN", help="the run folder written by `rnnlab task train`")
    pr.add_argument("--data", required=True, metavar="IN.jsonl", help='input: one {"text": …} object a line')
    pr.add_argument("--out", required=True, metavar="OUT.jsonl", help="where to write the labelled lines")
    _add_inference_options(pr)
    pr.set_defaults(func=run_predict)


def _add_inference_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        choices=("best", "final", "latest"),
        default="best",
        help="best validation checkpoint (default), final weights, or the latest checkpoint",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to run")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's)")


def _register_train(actions: Any) -> None:
    p = actions.add_parser(
        "train",
        help="train a classifier, tagger or multi-output model into a run folder",
        description="Train a sequence classifier, tagger or multi-output model on a task file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TRAIN_EPILOG,
    )
    t, m = TRAIN_DEFAULTS["tag"], MODEL_DEFAULTS
    p.add_argument("kind", choices=TASK_KINDS, help="classify, tag, or multi (next character + next tag)")
    data = p.add_argument_group("data")
    data.add_argument("--data", metavar="TRAIN.jsonl", help="training task file (not needed with --resume)")
    data.add_argument(
        "--valid", metavar="VALID.jsonl", help="validation file (default: hold out part of TRAIN)"
    )
    data.add_argument(
        "--valid-fraction",
        type=float,
        metavar="F",
        help="share of TRAIN held out without --valid (default 0.05)",
    )
    data.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="training: truncate (classify) or cut longer texts (default 400)",
    )
    data.add_argument("--min-freq", type=int, metavar="N", help="rarer characters become <unk> (default 2)")
    data.add_argument(
        "--bucket-pool",
        type=int,
        metavar="N",
        help="batches per length-sorted pool; 1 = no bucketing (default 50)",
    )
    model = p.add_argument_group("model (defaults differ by kind: see docs/tasks.md)")
    model.add_argument("--cell", choices=("lstm", "gru", "rnn"), help="recurrent cell (default lstm)")
    model.add_argument("--input", choices=("embedding", "onehot"), help="input encoding (default embedding)")
    model.add_argument(
        "--embed", type=int, metavar="E", help=f"embedding size (default {m['tag']['embed_size']} for tag)"
    )
    model.add_argument(
        "--hidden",
        type=int,
        metavar="H",
        help=f"units per layer and direction (default {m['tag']['hidden_size']})",
    )
    model.add_argument(
        "--layers", type=int, metavar="L", help="stacked recurrent layers, 1–3 (default by kind)"
    )
    direction = model.add_mutually_exclusive_group()
    direction.add_argument(
        "--bidirectional", dest="bidirectional", action="store_true", default=None, help="read both ways"
    )
    direction.add_argument(
        "--unidirectional", dest="bidirectional", action="store_false", help="left to right only"
    )
    model.add_argument("--dropout", type=float, help="dropout on the input vectors and encoder outputs")
    model.add_argument("--layer-dropout", type=float, help="dropout between stacked recurrent layers")
    model.add_argument("--impl", choices=("auto", "fused", "reference"), help="recurrent implementation")
    model.add_argument("--cnn", action="store_true", help="a Conv1d front end before the recurrent layers")
    model.add_argument(
        "--cnn-channels", type=int, nargs="+", metavar="C", help="channels per conv layer (128)"
    )
    model.add_argument(
        "--cnn-kernel", type=int, nargs="+", metavar="K", help="kernel size per conv layer (3)"
    )
    model.add_argument("--cnn-stride", type=int, metavar="S", help="conv stride (classify only; default 1)")
    model.add_argument(
        "--cnn-pool", type=int, metavar="P", help="max-pool after each conv (classify only; 1)"
    )
    model.add_argument(
        "--pooling",
        choices=("last", "mean", "max", "attention"),
        help="classify: how outputs are pooled (max)",
    )
    model.add_argument("--head-dropout", type=float, help="classify: dropout on the pooled vector")
    model.add_argument(
        "--no-class-weights", action="store_true", help="classify: do not weight classes against imbalance"
    )
    model.add_argument("--crf", action="store_true", help="tag: a CRF output layer with Viterbi decoding")
    model.add_argument(
        "--heads",
        metavar="H1,H2",
        help=f"multi: comma-separated heads from {list(HEADS)} (default next,next-tag)",
    )
    model.add_argument(
        "--loss-weights", metavar="W1,W2", help="multi: one loss weight per head (default 1 each)"
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--batch", type=int, metavar="B", help=f"examples per batch (default {t['batch_size']})")
    opt.add_argument("--lr", type=float, help=f"peak learning rate (default {t['lr']})")
    opt.add_argument("--weight-decay", type=float, help=f"AdamW weight decay (default {t['weight_decay']})")
    opt.add_argument("--warmup", type=int, metavar="N", help=f"warm-up updates (default {t['warmup_steps']})")
    opt.add_argument("--clip-norm", type=float, help=f"clip the gradient norm (default {t['clip_norm']})")
    opt.add_argument("--epochs", type=int, metavar="N", help=f"passes over TRAIN (default {t['epochs']})")
    opt.add_argument("--max-steps", type=int, metavar="N", help="stop after N updates (default: no limit)")
    opt.add_argument(
        "--max-minutes", type=float, metavar="M", help=f"wall-clock budget (default {t['max_minutes']:g})"
    )
    opt.add_argument(
        "--patience", type=int, metavar="N", help="early stopping after N evaluations without gain"
    )
    opt.add_argument("--seed", type=int, help="seed of weights, dropout and batch order (default 0)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="RUN", help="run folder to create")
    out.add_argument("--resume", metavar="RUN", help="continue the run in RUN from its latest checkpoint")
    out.add_argument(
        "--eval-every", type=int, metavar="N", help=f"validate every N updates (default {t['eval_every']})"
    )
    out.add_argument(
        "--log-every", type=int, metavar="N", help=f"log line every N updates ({t['log_every']})"
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    backend = p.add_argument_group("backend")
    backend.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (default auto)")
    backend.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch (default: torch's)")
    add_keep_memory_argument(backend)
    add_launch_arguments(p.add_argument_group("several processes (DDP; see docs/scale.md)"), 30.0)
    p.set_defaults(func=run_train)


def _split(text: str, cast: type, what: str) -> list[Any]:
    try:
        return [cast(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be a comma-separated list, got {text!r}") from None


def model_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The model options the flags ask for (only those given)."""
    options = given(args, MODEL_FLAGS)
    if args.bidirectional is not None:
        options["bidirectional"] = args.bidirectional
    cnn = {
        "channels": args.cnn_channels, "kernel_sizes": args.cnn_kernel, "stride": args.cnn_stride,
        "pool": args.cnn_pool,
    }  # fmt: skip
    cnn = {k: v for k, v in cnn.items() if v is not None}
    if args.cnn or cnn:
        options["cnn"] = {**CNN_DEFAULT, **cnn}
    if args.crf:
        options["crf"] = True
    return options


def task_flags(args: argparse.Namespace) -> dict[str, Any]:
    options = given(args, TASK_FLAGS)
    if args.no_class_weights:
        options["class_weights"] = False
    if args.heads:
        options["heads"] = _split(args.heads, str, "--heads")
    if args.loss_weights:
        options["loss_weights"] = _split(args.loss_weights, float, "--loss-weights")
    return options


def _threads(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def run_train(args: argparse.Namespace) -> int:
    """`rnnlab task train`."""
    if wants_launch(args):
        return launch(args, worker_argv(list(args.argv)))
    from rnnlab.tasks.api import DEFAULT_VALID_FRACTION, train_task

    _threads(args)
    progress = not args.no_progress
    if args.resume:
        if model_flags(args) or task_flags(args):
            raise ConfigError(
                "model and task options cannot change when resuming; start a new run with --out"
            )
        result = train_task(
            args.kind,
            args.data,
            args.resume,
            valid=args.valid,
            resume=True,
            resume_overrides=given(args, TRAIN_FLAGS),
            progress=progress,
        )
        out = Path(args.resume)
    else:
        if not args.out:
            raise ConfigError("pass --out RUN, the folder to train into (or --resume RUN to continue one)")
        out = Path(args.out)
        model, train = model_flags(args), given(args, TRAIN_FLAGS)
        print(f"training a {args.kind} model into {out}")
        print(f"  model options: {json.dumps(model)}; training options: {json.dumps(train)}")
        result = train_task(
            args.kind,
            args.data,
            out,
            valid=args.valid,
            valid_fraction=args.valid_fraction or DEFAULT_VALID_FRACTION,
            model_options=model,
            train_options=train,
            task_options=task_flags(args),
            progress=progress,
        )
    print(
        f"stopped: {result.stopped} after {result.step} updates ({result.elapsed_s / 60:.1f} min); best "
        f"validation loss {result.best_val_loss:.4f}; score it: `rnnlab task eval {out} --data TEST.jsonl`"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """`rnnlab task eval`: the table, then the metrics as one JSON object on the last line."""
    from rnnlab.tasks.api import evaluate_task, format_json

    _threads(args)
    evaluation = evaluate_task(
        args.run, args.data, baselines=not args.no_baselines, weights=args.weights, device=args.device
    )
    print(evaluation.table())
    print(format_json(evaluation))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """`rnnlab task predict`."""
    from rnnlab.tasks.api import predict_task

    _threads(args)
    path = predict_task(args.run, args.data, args.out, weights=args.weights, device=args.device)
    print(f"wrote {path}")
    return 0
