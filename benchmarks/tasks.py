"""Sequence tasks on the real collection: each task's default model against its baselines.

    python benchmarks/tasks.py                                   # everything, 10 minutes per run
    python benchmarks/tasks.py --only tones punct --minutes 5    # a subset, shorter budget
    python benchmarks/tasks.py --only bucketing                  # padding / bucketing only

Builds the task files from ``../shared/data`` (``rnnlab data task``; trains only on those), then
for each experiment trains with the task's defaults for ``--minutes`` (the recipe's budget),
evaluates the best weights on the test file beside the baselines fitted on the same training
examples, and records accuracy / F1, training time, updates, epochs and characters per second:

* tones    — tone tagging (平/仄): accuracy on all characters and on polyphonic ones; BiLSTM vs
             unidirectional; baselines majority, most-frequent-tag, HMM, n-gram.
* punct    — punctuation restoration: break F1 (any mark vs none), sentence-end F1, macro-F1; bi vs uni.
* dynasty  — Tang vs Song: accuracy and macro-F1, BiLSTM with and without the CNN front end;
             baselines majority, Naive Bayes, logistic regression.
* authors  — 10 most prolific Tang poets: the same.
* multi    — next character + tone of the next character from one encoder, against the two
             single-task models of the same size (next-character perplexity/accuracy, tone accuracy).
* bucketing — characters/s of training updates with length-bucketed batches vs random batches
             (same model, interleaved), and the share of padding in each.

Results go to ``benchmarks/results/tasks.json`` (rewritten after each experiment, so a partial run
keeps what it measured). Timings depend on the machine's load: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rnnlab.tasks.api import evaluate_task, json_safe, load_task_run, train_task
from rnnlab.tasks.sources import build_task

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "tasks.json"

# experiment → list of (variant name, task kind, task file, model options, task options)
EXPERIMENTS: dict[str, list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]] = {
    "tones": [
        ("bilstm", "tag", "tones", {}, {}),
        ("unilstm", "tag", "tones", {"bidirectional": False}, {}),
    ],
    "punct": [
        ("bilstm", "tag", "punct", {}, {}),
        ("unilstm", "tag", "punct", {"bidirectional": False}, {}),
    ],
    "dynasty": [
        ("bilstm", "classify", "dynasty", {}, {}),
        ("cnn-bilstm", "classify", "dynasty", {"cnn": True}, {}),
    ],
    "authors": [
        ("bilstm", "classify", "authors", {}, {}),
        ("cnn-bilstm", "classify", "authors", {"cnn": True}, {}),
    ],
    "multi": [
        ("next+next-tag", "multi", "tones", {}, {"heads": ["next", "next-tag"]}),
        ("next only", "multi", "tones", {}, {"heads": ["next"]}),
        ("next-tag only", "multi", "tones", {}, {"heads": ["next-tag"]}),
    ],
}
HEADLINE = {  # the metrics each experiment's summary line shows
    "tones": ("accuracy", "ambiguous_accuracy"),
    "punct": ("break_f1", "sentence_end_f1", "macro_f1"),
    "dynasty": ("accuracy", "macro_f1"),
    "authors": ("accuracy", "macro_f1"),
    "multi": ("next_ppl", "next_accuracy", "next-tag_accuracy"),
}


def task_files(data_dir: Path, name: str) -> tuple[Path, Path]:
    train, test = data_dir / f"{name}.train.jsonl", data_dir / f"{name}.test.jsonl"
    if not (train.is_file() and test.is_file()):
        print(f"building the {name} task files from {SHARED} …", flush=True)
        build_task(name, data_dir, source=SHARED)
    return train, test


def run_variant(
    args: argparse.Namespace, experiment: str, variant: tuple[str, str, str, dict[str, Any], dict[str, Any]]
) -> dict[str, Any]:
    name, kind, task, model_options, task_options = variant
    train, test = task_files(args.data_dir, task)
    out = args.runs / experiment / name.replace("+", "-").replace(" ", "-")
    if not (out / "config.json").exists():
        print(f"\n== {experiment} / {name}: training ≤ {args.minutes} min into {out}", flush=True)
        train_task(
            kind,
            train,
            out,
            model_options=model_options,
            train_options={"max_minutes": args.minutes, "seed": args.seed, "device": "cpu"},
            task_options=task_options,
            progress=False,
        )
    elif not (out / "model.safetensors").exists():
        print(f"== {experiment} / {name}: resuming the unfinished run in {out}", flush=True)
        train_task(kind, None, out, resume=True, progress=False)
    baselines = not args.no_baselines and variant is EXPERIMENTS[experiment][0] and kind != "multi"
    started = time.perf_counter()
    evaluation = evaluate_task(out, test, baselines=baselines, device="cpu")
    eval_seconds = time.perf_counter() - started
    print(evaluation.table(), flush=True)
    return {
        "variant": name,
        "kind": kind,
        "model_options": model_options,
        "task_options": task_options,
        **training_summary(out),
        "eval_seconds": eval_seconds,
        "model": evaluation.rows["model"],
        "baselines": {k: v for k, v in evaluation.rows.items() if k != "model"},
        "test_examples": evaluation.n_examples,
    }


def training_summary(out: Path) -> dict[str, Any]:
    """Updates, epochs, wall time and characters per second of a finished run (from its own records)."""
    run = load_task_run(out, "final")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    end = next(r for r in reversed(records) if r.get("event") == "end")
    elapsed = max(r.get("elapsed_s") or 0.0 for r in records)
    steps = int(end["step"])
    data = run.config["data"]
    batch = run.config["train"]["batch_size"]
    batches_per_epoch = math.ceil(data["train_examples"] / batch)  # ≈ (pieces of long texts add a few)
    epochs = steps / batches_per_epoch
    chars = epochs * data["train_chars"]
    update_rates = [r["tok_s"] for r in records if r.get("kind") == "train" and r.get("tok_s")]
    return {
        "stopped": end["stopped"],
        "updates": steps,
        "epochs": epochs,
        "train_minutes": elapsed / 60,
        "chars_per_s": chars / elapsed if elapsed else math.nan,
        "targets_per_update_s": sorted(update_rates)[len(update_rates) // 2] if update_rates else math.nan,
        "parameters": run.config["parameters"],
        "train_examples": data["train_examples"],
        "train_chars": data["train_chars"],
    }


def bucketing(args: argparse.Namespace) -> dict[str, Any]:
    """Characters/s of the same updates with length-bucketed vs random batches (interleaved)."""
    from rnnlab.tasks.api import batches_for, build_model, make_objective, model_config, training_split
    from rnnlab.tasks.encoding import TaskCodec
    from rnnlab.tasks.recipes import TRAIN_DEFAULTS, TaskOptions, model_options
    from rnnlab.train.config import TrainConfig

    train, _ = task_files(args.data_dir, "tones")
    options = TaskOptions(kind="tag")
    examples, _, _ = training_split(options, train, None, 0.05)
    codec = TaskCodec.build(options, examples)
    config = TrainConfig.from_dict({**TRAIN_DEFAULTS["tag"], "device": "cpu"})
    torch.manual_seed(0)
    model = build_model("tag", model_config(options, model_options("tag", None), codec).to_dict())
    objective = make_objective(model, codec.labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sources = {}
    for name, pool in (("bucketed", options.bucket_pool), ("random", 1)):
        layout = TaskCodec(TaskOptions(kind="tag", bucket_pool=pool), codec.vocab, codec.labels)
        sources[name] = batches_for(layout, examples, str(train), config, training=True)
    result: dict[str, Any] = {name: {"chars": 0, "seconds": 0.0} for name in sources}
    for name, source in sources.items():
        result[name]["padding_fraction"] = source.padding_fraction(0)
    iterators = {name: iter(source) for name, source in sources.items()}
    for _ in range(args.bucket_steps):
        for name, it in iterators.items():  # interleaved, so load changes hit both alike
            batch = next(it)
            assert batch.lengths is not None
            start = time.perf_counter()
            loss, n, _ = objective.loss(batch, None)
            optimizer.zero_grad(set_to_none=True)
            (loss / max(1, n)).backward()
            optimizer.step()
            result[name]["seconds"] += time.perf_counter() - start
            result[name]["chars"] += int(batch.lengths.sum())
    for name in sources:
        result[name]["chars_per_s"] = result[name]["chars"] / result[name]["seconds"]
    result["speedup"] = result["bucketed"]["chars_per_s"] / result["random"]["chars_per_s"]
    result["steps"] = args.bucket_steps
    bucketed, random_ = result["bucketed"], result["random"]
    print(
        f"bucketing: {bucketed['chars_per_s']:.0f} vs {random_['chars_per_s']:.0f} chars/s "
        f"(×{result['speedup']:.2f}); padding {bucketed['padding_fraction']:.1%} vs "
        f"{random_['padding_fraction']:.1%}",
        flush=True,
    )
    return result


def summary_line(experiment: str, row: dict[str, Any]) -> str:
    cells = [f"{k} {row['model'].get(k, math.nan):.4f}" for k in HEADLINE[experiment]]
    return (
        f"{experiment:<8} {row['variant']:<14} " + "  ".join(cells)
        + f"  | {row['train_minutes']:.1f} min, {row['epochs']:.2f} epochs, {row['chars_per_s']:.0f} chars/s"
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=[*EXPERIMENTS, "bucketing"], help="run only these")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per run (default 10)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (default 1: shared machine)"
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "runs" / "bench-tasks" / "data", help="task files"
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench-tasks", help="run folders")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines (faster)")
    parser.add_argument(
        "--bucket-steps", type=int, default=60, help="updates per layout in the bucketing test"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"{SHARED} is missing: the benchmark trains on ../shared/data", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    results: dict[str, Any] = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    results["machine"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "minutes_per_run": args.minutes,
    }
    chosen = args.only or [*EXPERIMENTS, "bucketing"]
    for experiment in chosen:
        if experiment == "bucketing":
            results["bucketing"] = bucketing(args)
        else:
            results[experiment] = [run_variant(args, experiment, v) for v in EXPERIMENTS[experiment]]
            for row in results[experiment]:
                print(summary_line(experiment, row), flush=True)
        results["machine"]["load_average_at_end"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(json_safe(results), ensure_ascii=False, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    for experiment in EXPERIMENTS:
        for row in results.get(experiment, []):
            print(summary_line(experiment, row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
