"""`rnnlab seq2seq train|eval`: encoder–decoders on pair files of your own."""

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

TRAIN_EPILOG = """\
examples:
  rnnlab data pairs couplets --out data/                 # couplets.train.jsonl, couplets.test.jsonl
  rnnlab seq2seq train --data data/couplets.train.jsonl --out runs/couplets --epochs 10
  rnnlab seq2seq train --data pairs.jsonl --out runs/plain --attention none --max-minutes 5
  rnnlab seq2seq train --resume runs/couplets --epochs 15     # continue, with a larger budget

A pair file is JSON lines, one {"source": "...", "target": "..."} object a line. Without --valid,
a share of the pairs (--valid-fraction, chosen by a hash of each pair's "id" or source) is held out.
"""

EVAL_EPILOG = """\
examples:
  rnnlab seq2seq eval runs/couplets --data data/couplets.test.jsonl
  rnnlab seq2seq eval runs/couplets --data data/couplets.test.jsonl --beam 5 --baselines
  rnnlab seq2seq eval runs/couplets --data pairs.jsonl --limit 200 --out predictions.jsonl

Prints a metric table (chrF and BLEU at the character level with sacrebleu, exact match, length
and punctuation match, and for couplets the tone opposition at positions 2/4/6); the last line is
one JSON object with every number.
"""

# flag → Seq2SeqConfig field
MODEL_FLAGS = {
    "cell": "cell", "embed": "embed_size", "encoder_hidden": "encoder_hidden_size",
    "encoder_layers": "encoder_layers", "bidirectional": "bidirectional", "hidden": "hidden_size",
    "decoder_layers": "decoder_layers", "attention": "attention", "attention_size": "attention_size",
    "bridge": "bridge", "dropout": "dropout", "layer_dropout": "layer_dropout", "tie_weights": "tie_weights",
}  # fmt: skip
# flag → TrainConfig field
TRAIN_FLAGS = {
    "batch": "batch_size", "optimizer": "optimizer", "lr": "lr", "weight_decay": "weight_decay",
    "schedule": "schedule", "warmup": "warmup_steps", "clip_norm": "clip_norm", "epochs": "epochs",
    "max_steps": "max_steps", "max_minutes": "max_minutes", "patience": "patience",
    "eval_every": "eval_every", "log_every": "log_every", "seed": "seed", "device": "device",
    "dist_timeout": "dist_timeout_minutes", "keep_memory": "keep_memory",
}  # fmt: skip
# The recipe's settings where they differ from TrainConfig's (which suit language models).
RECIPE_TRAIN = {"batch_size": 64, "epochs": 10}


def register(subparsers: Any) -> None:
    """Add `rnnlab seq2seq` and its actions."""
    parser = subparsers.add_parser(
        "seq2seq",
        help="train and evaluate encoder–decoders (with attention) on pair files",
        description="Sequence-to-sequence models for unaligned pairs (couplets, poem → title, any "
        "source → target of your own), trained by the shared trainer into run folders.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run `rnnlab seq2seq ACTION --help` for each action's options and examples",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="train an encoder–decoder on a pair file into a run folder",
        description="Train an encoder–decoder on a JSON-lines pair file; writes config, vocabulary, "
        "metrics, checkpoints and final weights into RUN_DIR.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TRAIN_EPILOG,
    )
    _add_train_options(train)
    train.set_defaults(func=run_train)
    evaluate = actions.add_parser(
        "eval",
        help="decode a pair file with a trained run and score it against the targets",
        description="Decode every source of a pair file with a run's model and score the outputs "
        "against the targets (and, with --baselines, the copy and retrieval baselines).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EVAL_EPILOG,
    )
    _add_eval_options(evaluate)
    evaluate.set_defaults(func=run_eval)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("data")
    data.add_argument("--data", metavar="PAIRS", help='pair file: JSON lines {"source", "target"}')
    data.add_argument("--valid", metavar="PAIRS", help="held-out pair file (default: a share of --data)")
    data.add_argument(
        "--valid-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share held out of --data (default 0.05)",
    )
    data.add_argument(
        "--min-freq", type=int, default=1, metavar="N", help="rarer characters become <unk> (default 1)"
    )
    data.add_argument("--batch", type=int, metavar="B", help="pairs per batch (default 64)")
    model = p.add_argument_group("model")
    model.add_argument(
        "--cell", choices=("gru", "lstm", "rnn"), help="encoder and decoder cell (default gru)"
    )
    model.add_argument("--embed", type=int, metavar="E", help="embedding size, shared (default 128)")
    model.add_argument(
        "--encoder-hidden", type=int, metavar="H", help="encoder units per direction (default 128)"
    )
    model.add_argument("--encoder-layers", type=int, metavar="L", help="encoder layers (default 1)")
    model.add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the source both ways (default: yes)",
    )
    model.add_argument("--hidden", type=int, metavar="H", help="decoder units (default 256)")
    model.add_argument("--decoder-layers", type=int, metavar="L", help="decoder layers (default 1)")
    model.add_argument(
        "--attention",
        choices=("none", "additive", "dot", "general"),
        help="attention over the encoder outputs: Bahdanau's additive, Luong's dot or general "
        "(default additive)",
    )
    model.add_argument(
        "--attention-size", type=int, metavar="A", help="additive attention width (default: --hidden)"
    )
    model.add_argument(
        "--bridge", choices=("linear", "zero"), help="decoder's initial state (default linear)"
    )
    model.add_argument("--dropout", type=float, metavar="P", help="dropout (default 0.2)")
    model.add_argument("--layer-dropout", type=float, metavar="P", help="between stacked layers (default 0)")
    model.add_argument(
        "--tie-weights",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="output layer reuses the embedding (default: yes)",
    )
    model.add_argument(
        "--sampling-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="scheduled sampling: share of decoder inputs drawn from the model (default 0: teacher forcing)",
    )
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), help="optimiser (default adamw)")
    opt.add_argument("--lr", type=float, help="peak learning rate (default 0.003)")
    opt.add_argument("--weight-decay", type=float, help="decay on matrices (default 0.01)")
    opt.add_argument("--schedule", choices=("none", "cosine", "plateau"), help="lr schedule (default cosine)")
    opt.add_argument("--warmup", type=int, metavar="N", help="warm-up updates (default 50)")
    opt.add_argument("--clip-norm", type=float, help="clip the gradient norm; 0 = off (default 1)")
    opt.add_argument("--epochs", type=int, metavar="N", help="passes over the training pairs (default 10)")
    opt.add_argument("--max-steps", type=int, metavar="N", help="stop after N updates (default: no limit)")
    opt.add_argument("--max-minutes", type=float, metavar="M", help="wall-clock budget (default: none)")
    opt.add_argument(
        "--patience", type=int, metavar="N", help="early stopping after N evaluations (default off)"
    )
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="RUN_DIR", help="run folder to create")
    out.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint"
    )
    out.add_argument(
        "--eval-every", type=int, metavar="N", help="also validate every N updates (default: epochs)"
    )
    out.add_argument("--log-every", type=int, metavar="N", help="a log line every N updates (default 50)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    backend = p.add_argument_group("backend")
    backend.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to train (default auto)")
    backend.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: torch's choice)")
    backend.add_argument("--seed", type=int, help="seed of weights, dropout and batches (default 0)")
    add_keep_memory_argument(backend)
    add_launch_arguments(p.add_argument_group("several processes (DDP; see docs/scale.md)"), 30.0)


def _add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN_DIR", help="a run folder written by `rnnlab seq2seq train`")
    p.add_argument("--data", required=True, metavar="PAIRS", help="pair file to decode and score")
    p.add_argument("--beam", type=int, default=1, metavar="K", help="beam width; 1 = greedy (default 1)")
    p.add_argument(
        "--length-penalty", type=float, default=1.0, metavar="A", help="beam scores ÷ length^A (default 1)"
    )
    p.add_argument("--limit", type=int, metavar="N", help="score only the first N pairs")
    p.add_argument(
        "--baselines",
        action="store_true",
        help="also score the copy baseline and retrieval from the run's training pairs",
    )
    p.add_argument("--constrained", action="store_true", help="couplets: force the source's length and marks")
    p.add_argument("--weights", choices=("final", "best", "latest"), default="final", help="(default final)")
    p.add_argument(
        "--batch", type=int, default=256, metavar="B", help="sources decoded together (default 256)"
    )
    p.add_argument("--out", metavar="FILE", help="also write the predictions as JSON lines")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: torch's choice)")


def run_train(args: argparse.Namespace) -> int:
    """`rnnlab seq2seq train`."""
    if wants_launch(args):
        return launch(args, worker_argv(list(args.argv)))
    import torch

    from rnnlab.errors import ConfigError
    from rnnlab.tasks.seq2seq import Seq2SeqOptions, train_seq2seq
    from rnnlab.train.config import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    progress = not args.no_progress
    if args.resume:
        if given(args, MODEL_FLAGS) or args.sampling_rate:
            raise ConfigError("model options cannot change when resuming; start a new run with --out")
        result = train_seq2seq(
            args.data, args.resume, resume=True, resume_overrides=given(args, TRAIN_FLAGS), progress=progress
        )
        out = Path(args.resume)
    else:
        if not args.out:
            raise ConfigError("pass --out RUN_DIR, the run folder to create")
        train = {**RECIPE_TRAIN, **given(args, TRAIN_FLAGS)}
        model = given(args, MODEL_FLAGS)
        options = Seq2SeqOptions(args.valid_fraction, args.sampling_rate, args.min_freq)
        print(f"training into {args.out}  (config: {json.dumps(train)} model: {json.dumps(model)})")
        result = train_seq2seq(
            args.data,
            args.out,
            TrainConfig.from_dict(train),
            model,
            options,
            valid=args.valid,
            progress=progress,
        )
        out = Path(args.out)
    print(
        f"stopped: {result.stopped} after {result.step} updates ({result.elapsed_s / 60:.1f} min); "
        f"validation perplexity {result.final_val_ppl:.2f}; weights in {out / 'model.safetensors'}"
    )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """`rnnlab seq2seq eval`: the table, then one JSON line with every number."""
    import torch

    from rnnlab.tasks.pairs import write_pairs
    from rnnlab.tasks.seq2seq import evaluate_seq2seq

    if args.threads:
        torch.set_num_threads(args.threads)
    result = evaluate_seq2seq(
        args.run,
        args.data,
        beam=args.beam,
        constrained=args.constrained,
        length_penalty=args.length_penalty,
        baselines=args.baselines,
        limit=args.limit,
        batch=args.batch,
        weights=args.weights,
    )
    if args.out:
        records = [
            {**p.to_record(), "prediction": y} for p, y in zip(result.pairs, result.predictions, strict=True)
        ]
        print(f"predictions written to {write_pairs(args.out, records)}")
    print(result.table())
    print(json.dumps(result.summary(), ensure_ascii=False))
    return 0
