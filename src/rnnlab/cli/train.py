"""`rnnlab train`: train a character language model into a run folder, or resume one."""

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
from rnnlab.train.config import (
    BPTT_MODES,
    DEFAULT_VALID_FRACTION,
    NAN_POLICIES,
    OPTIMIZERS,
    PRECISIONS,
    RECIPE_MODEL_DEFAULTS,
    SAMPLINGS,
    SCHEDULES,
    TrainConfig,
)

EPILOG = """examples:
  rnnlab train --data poems.txt                              # defaults: 2×256 LSTM, packed lines
  rnnlab train --data poems.txt --out runs/lstm --cell lstm --layers 2 --hidden 256 --embed 128 \\
               --epochs 20 --max-minutes 10 --seed 1
  rnnlab train --data poems.txt --out runs/mingru --cell mingru --max-minutes 10   # parallel-scan minGRU
  rnnlab train --data poems.txt --layer-norm --dropout-hidden 0.2 --impl compiled  # fast LN-LSTM
  rnnlab train --resume runs/lstm                            # continue exactly where it stopped
  rnnlab train --data poems.txt --cache-dir /scratch/cache   # encoded corpus cached there (--no-cache: off)
  rnnlab train --data poems.txt --config runs/lstm/config.json --out runs/lstm-again
  rnnlab train --data poems.txt --out runs/ddp --batch 8 --nproc 2   # 2 processes, global batch 16
  torchrun --nproc-per-node 4 -m rnnlab train --data poems.txt --out runs/ddp4 --device cuda

Ctrl-C saves a checkpoint, evaluates and exits; `--resume RUN_DIR` continues from it (on any number
of processes: the global batch and data order are the run's own). --batch is per process.
A config file is JSON with "model" and/or "train" sections (a run's own config.json works);
flags given on the command line override it."""

# flag → (section, key): where each flag lands in the model/train configs.
MODEL_FLAGS = {
    "cell": "cell", "layers": "num_layers", "hidden": "hidden_size", "embed": "embed_size",
    "dropout": "dropout", "layer_dropout": "layer_dropout", "tie_weights": "tie_weights",
    "input": "input", "impl": "impl", "weight_drop": "weight_drop", "layer_norm": "layer_norm",
    "dropout_hidden": "dropout_hidden",
}  # fmt: skip
# rnnlab.layers.CELLS and IMPLS, spelled out so that `rnnlab --help` need not import torch.
CELL_CHOICES = ("lstm", "gru", "rnn", "mingru", "minlstm")
IMPL_CHOICES = ("auto", "fused", "reference", "compiled", "autograd")
TRAIN_FLAGS = {
    "sampling": "sampling", "batch": "batch_size", "bptt": "bptt", "bptt_mode": "bptt_mode",
    "fixed_length": "fixed_length", "loss_on_padding": "loss_on_padding", "optimizer": "optimizer",
    "lr": "lr", "weight_decay": "weight_decay", "momentum": "momentum", "schedule": "schedule",
    "warmup": "warmup_steps", "clip_norm": "clip_norm", "epochs": "epochs", "max_steps": "max_steps",
    "max_minutes": "max_minutes", "patience": "patience", "nan_policy": "nan_policy",
    "eval_every": "eval_every", "log_every": "log_every", "seed": "seed", "device": "device",
    "precision": "precision", "compile": "compile", "tensorboard": "tensorboard",
    "dist_timeout": "dist_timeout_minutes", "keep_memory": "keep_memory",
}  # fmt: skip


def register(subparsers: Any) -> None:
    """Add `rnnlab train`."""
    p = subparsers.add_parser(
        "train",
        help="train a character language model (RNN/GRU/LSTM) into a run folder",
        description="Train a character-level RNN/GRU/LSTM language model on a corpus (text, poems, "
        "chinese-poetry JSON, tang.npz); writes runs/NAME/ with config, vocabulary, metrics, "
        "checkpoints and final weights.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    d, m, o = TrainConfig(), _model_defaults(), p.add_argument_group
    data = o("data")
    data.add_argument(
        "--data",
        metavar="PATH",
        help="corpus: UTF-8 text (a sequence per line), one poem a line, chinese-poetry "
        ".json/.jsonl, tang.npz, or a directory of them",
    )
    data.add_argument(
        "--valid-fraction",
        type=float,
        metavar="F",
        help=f"share of lines held out for validation, chosen by hash (default {DEFAULT_VALID_FRACTION})",
    )
    data.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the encoded corpus is cached, built once per machine and data set and "
        "memory-mapped by every process (default: <data dir>/cache, see RNNLAB_DATA)",
    )
    data.add_argument(
        "--no-cache",
        action="store_true",
        help="read and encode the corpus in memory in every process instead of using the cache",
    )
    data.add_argument(
        "--sampling",
        choices=SAMPLINGS,
        help=f"batch layout: packed lines / sequential stream / random windows / padded poems "
        f"(default {d.sampling})",
    )
    data.add_argument(
        "--batch",
        type=int,
        metavar="B",
        help=f"batch size per process; the global batch is B × processes (default {d.batch_size})",
    )
    data.add_argument("--bptt", type=int, metavar="T", help=f"truncated BPTT length (default {d.bptt})")
    data.add_argument(
        "--bptt-mode",
        choices=BPTT_MODES,
        help=f"fixed T, or AWD-LSTM random length per batch (default {d.bptt_mode})",
    )
    data.add_argument(
        "--fixed-length",
        type=int,
        metavar="F",
        help=f"padded sampling: row length (default {d.fixed_length})",
    )
    data.add_argument(
        "--loss-on-padding",
        action="store_true",
        default=None,
        help="padded sampling: count padding in the training loss, as the tutorial does",
    )
    model = o("model")
    model.add_argument(
        "--cell",
        choices=CELL_CHOICES,
        help="recurrent cell; mingru/minlstm (Feng et al. 2024) train with a parallel scan "
        f"(default {m['cell']})",
    )
    model.add_argument("--layers", type=int, help=f"stacked layers (default {m['num_layers']})")
    model.add_argument("--hidden", type=int, help=f"hidden units per layer (default {m['hidden_size']})")
    model.add_argument("--embed", type=int, help=f"embedding size (default {m['embed_size']})")
    model.add_argument(
        "--dropout", type=float, help=f"dropout on embeddings and outputs (default {m['dropout']})"
    )
    model.add_argument(
        "--layer-dropout", type=float, help=f"dropout between stacked layers (default {m['layer_dropout']})"
    )
    model.add_argument("--weight-drop", type=float, help=f"DropConnect on W_hh (default {m['weight_drop']})")
    model.add_argument(
        "--tie-weights",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"share embedding and output weights (default {m['tie_weights']})",
    )
    model.add_argument(
        "--input", choices=("embedding", "onehot"), help=f"input encoding (default {m['input']})"
    )
    model.add_argument(
        "--impl",
        choices=IMPL_CHOICES,
        help="recurrent implementation: fused kernel, our reference steps, the same compiled with "
        "torch.compile (first steps slow; an LSTM on a CPU runs a C++ time loop, the fastest with "
        f"--layer-norm or --dropout-hidden), or autograd over the readable cells (default {m['impl']})",
    )
    model.add_argument(
        "--layer-norm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"layer-normalised LSTM/GRU/RNN cells, Ba et al. 2016 (default {m['layer_norm']})",
    )
    model.add_argument(
        "--dropout-hidden",
        type=float,
        help=f"variational dropout on h_(t-1), one mask per sequence (default {m['dropout_hidden']})",
    )
    opt = o("optimisation")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, help=f"optimiser (default {d.optimizer})")
    opt.add_argument("--lr", type=float, help=f"peak learning rate (default {d.lr})")
    opt.add_argument(
        "--weight-decay", type=float, help=f"weight decay on matrices (default {d.weight_decay})"
    )
    opt.add_argument("--momentum", type=float, help=f"SGD momentum (default {d.momentum})")
    opt.add_argument("--schedule", choices=SCHEDULES, help=f"learning-rate schedule (default {d.schedule})")
    opt.add_argument("--warmup", type=int, metavar="N", help=f"warm-up updates (default {d.warmup_steps})")
    opt.add_argument(
        "--clip-norm", type=float, help=f"clip the global gradient norm; 0 = off (default {d.clip_norm})"
    )
    opt.add_argument(
        "--epochs", type=int, metavar="N", help=f"passes over the training lines (default {d.epochs})"
    )
    opt.add_argument("--max-steps", type=int, metavar="N", help="stop after N updates (default: no limit)")
    opt.add_argument(
        "--max-minutes", type=float, metavar="M", help="wall-clock training budget (default: none)"
    )
    opt.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="early stopping after N evaluations without a better validation ppl (default: off)",
    )
    opt.add_argument(
        "--nan-policy",
        choices=NAN_POLICIES,
        help=f"on a NaN/inf loss: stop with a message, or skip the batch (default {d.nan_policy})",
    )
    out = o("output")
    out.add_argument("--out", metavar="RUN_DIR", help="run folder to create (default runs/DATA-CELL[-N])")
    out.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint"
    )
    out.add_argument(
        "--config", metavar="FILE", help="JSON file with 'model'/'train' sections (flags override it)"
    )
    out.add_argument(
        "--eval-every",
        type=int,
        metavar="N",
        help="also validate and checkpoint every N updates (default: each epoch only)",
    )
    out.add_argument(
        "--log-every", type=int, metavar="N", help=f"log line every N updates (default {d.log_every})"
    )
    out.add_argument(
        "--tensorboard",
        action="store_true",
        default=None,
        help="also write TensorBoard events (needs the tensorboard package)",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    backend = o("backend")
    backend.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help=f"where to train (default {d.device})"
    )
    backend.add_argument(
        "--precision", choices=PRECISIONS, help=f"fp32, or bf16 autocast (default {d.precision})"
    )
    backend.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the loss computation"
    )
    add_keep_memory_argument(backend)
    backend.add_argument("--seed", type=int, help=f"seed of weights, dropout and sampling (default {d.seed})")
    add_launch_arguments(o("several processes (DDP; see docs/scale.md)"), d.dist_timeout_minutes)
    p.set_defaults(func=run)


def _model_defaults() -> dict[str, Any]:
    """RNNLMConfig's field defaults with the recipe's on top, read without building a config
    (which would load torch to validate it)."""
    from dataclasses import MISSING, fields

    from rnnlab.models.configs import RNNLMConfig

    defaults = {f.name: f.default for f in fields(RNNLMConfig) if f.default is not MISSING}
    return {**defaults, **RECIPE_MODEL_DEFAULTS}


def _read_config_file(path: str) -> dict[str, Any]:
    from rnnlab.train.checkpoint import read_json

    data = read_json(Path(path), "pass a JSON file with 'model' and/or 'train' sections")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object with 'model' and/or 'train' sections")
    unknown = sorted(set(data) - {"model", "train", "data", "parameters", "world_size"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown section(s) {unknown}; valid sections are ['data', 'model', 'train']"
        )
    return data


def _default_out(data: str, cell: str) -> Path:
    from rnnlab.train.checkpoint import RunDir

    base = Path("runs") / f"{Path(data).stem}-{cell}"
    out, n = base, 1
    while RunDir(out).config.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _launch(args: argparse.Namespace) -> int:
    """`--nproc N`: run this same command, without the launch options, as N torchrun workers."""
    argv = worker_argv(list(args.argv))
    if not args.resume and not args.out:
        # Chosen once here: N workers each picking a free name could pick different ones.
        file = _read_config_file(args.config) if args.config else {}
        data = args.data or file.get("data", {}).get("path")
        if data:
            cell = args.cell or file.get("model", {}).get("cell", "lstm")
            argv += ["--out", str(_default_out(data, cell))]
    return launch(args, argv)


def run(args: argparse.Namespace) -> int:
    """Build the configs from the config file and the flags, then train or resume."""
    if wants_launch(args):
        return _launch(args)
    from rnnlab.train.lm import train_language_model

    progress = not args.no_progress
    if args.resume:
        overrides = given(args, TRAIN_FLAGS)
        if given(args, MODEL_FLAGS):
            raise ConfigError("model options cannot change when resuming; start a new run with --out")
        result = train_language_model(
            args.data,
            args.resume,
            resume=True,
            resume_overrides=overrides,
            progress=progress,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
        )
        out = Path(args.resume)
    else:
        file = _read_config_file(args.config) if args.config else {}
        model_options = {k: v for k, v in file.get("model", {}).items() if k != "vocab_size"}
        model_options.update(given(args, MODEL_FLAGS))
        train = {**file.get("train", {}), **given(args, TRAIN_FLAGS)}
        data = args.data or file.get("data", {}).get("path")
        if data is None:
            raise ConfigError(
                "no training data: pass --data PATH (a UTF-8 text file, one poem or line a line)"
            )
        valid_fraction = args.valid_fraction or file.get("data", {}).get(
            "valid_fraction", DEFAULT_VALID_FRACTION
        )
        out = Path(args.out) if args.out else _default_out(data, model_options.get("cell", "lstm"))
        print(f"training into {out}  (config: {json.dumps(train)} model: {json.dumps(model_options)})")
        result = train_language_model(
            data,
            out,
            TrainConfig.from_dict(train),
            model_options,
            valid_fraction=valid_fraction,
            progress=progress,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
        )
    print(
        f"stopped: {result.stopped} after {result.step} updates ({result.elapsed_s / 60:.1f} min); "
        f"validation perplexity {result.final_val_ppl:.2f}; weights in {out / 'model.safetensors'}"
    )
    return 0
