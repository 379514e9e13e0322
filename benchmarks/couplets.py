"""Couplets on held-out poems: encoder–decoders against retrieval, copy and the poetry LM; speed and latency.

    python benchmarks/couplets.py --attention runs/couplet-gru --plain runs/couplet-gru-noattn \\
        --data data/couplets/couplets.test.jsonl

``--data`` is the test file of ``rnnlab data pairs couplets``: the 颔联 and 颈联 of the regulated
poems the bundled poet held out (neither it nor the couplet models saw them). Systems, all decoding
greedily under the same couplet constraint (the upper line's length and marks, no character of it
repeated at the same position) unless marked "free":

* reference       the real lower lines (chrF/BLEU 100 by definition; their tone opposition is the ceiling)
* copy            the upper line itself
* retrieval       the lower line of the most similar training upper line (TF-IDF of characters, same length)
* LM-prompted     the bundled Tang poet reads "<start> 上联，" and writes the rest of the line
* seq2seq         without attention (--plain), with additive attention (--attention), and with beam 5
* … free          the same models without constraints: how often they get length and marks right alone

Also: each run's training time and throughput (from its metrics.jsonl, as recorded: note how busy
the machine was), and the latency of ``rnnlab couplet`` for one line — cold (a new process: imports,
model load, one answer) and warm (one answer from a loaded writer, median of 20) — for the NumPy
and torch engines in the same run, with the bundled model. Writes ``benchmarks/results/couplets.json``;
``--systems`` runs a subset and merges its rows into the file.
"""

# ruff: noqa: E402  (BLAS thread variables must be set before NumPy is imported)
from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one BLAS thread, as `rnnlab couplet` runs (set before NumPy loads)

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rnnlab.couplet import CoupletWriter
from rnnlab.generate.couplets import CoupletRequest
from rnnlab.tasks.pair_baselines import Retrieval, copy_baseline, lm_couplets
from rnnlab.tasks.pair_metrics import PairScores, format_scores, score_pairs
from rnnlab.tasks.pairs import read_pairs
from rnnlab.tasks.seq2seq import load_seq2seq_run, predict, training_pairs
from rnnlab.train.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("reference", "copy", "retrieval", "lm", "plain", "attention", "beam", "latency", "speed")


def config_path(run: Path) -> str:
    """The training pair file a run recorded."""
    return str(json.loads((run / "config.json").read_text(encoding="utf-8"))["data"]["path"])


def training_record(run: Path) -> dict[str, Any]:
    """Minutes, updates, epochs, target tokens seen and mean tokens/s of a run, from its own records."""
    records = read_metrics(run / "metrics.jsonl")
    train = [r for r in records if r.get("kind") == "train"]
    valid = [r for r in records if r.get("kind") == "valid"]
    last = records[-1]
    seconds = max(r.get("elapsed_s", 0.0) for r in records)
    tokens = train[-1]["tokens_seen"] if train else 0
    return {
        "minutes": seconds / 60,
        "updates": last.get("step"),
        "epochs_started": valid[-1]["epoch"] if valid else None,
        "tokens_seen": tokens,
        "tokens_per_s": tokens / seconds if seconds else None,
        "valid_ppl": valid[-1]["ppl"] if valid else None,
        "parameters": json.loads((run / "config.json").read_text(encoding="utf-8")).get("parameters"),
    }


def cold_latency(engine: str, upper: str, repeats: int) -> float:
    """Median wall time of a fresh `python -m rnnlab couplet UPPER` process (imports, load, one answer),
    with the bundled model."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnnlab",
                "couplet",
                upper,
                "--engine",
                engine,
                "--seed",
                "1",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_speed(runs: list[tuple[str, Path]], train_file: Path, steps: int = 30) -> dict[str, float]:
    """Tokens/s of training updates for each run's architecture, interleaved on the same batches (one thread).

    Fresh models from the runs' configs; the same 64-pair batches of the training file, each model one
    update in turn, so the machine's load falls on all alike and the ratios hold.
    """
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnlab.tasks.seq2seq import Seq2SeqObjective, pair_batches

    _, vocab, _ = load_seq2seq_run(runs[0][1])
    batches = pair_batches(read_pairs(train_file)[:20_000], vocab, 64, shuffle=True)
    plan = [b for _, b in zip(range(steps + 3), batches, strict=False)]
    models = {}
    for name, run in runs:
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))["model"]
        model = Seq2Seq(Seq2SeqConfig.from_dict(config)).train()
        models[name] = (Seq2SeqObjective(model), torch.optim.AdamW(model.parameters(), lr=3e-3))
    seconds = dict.fromkeys(models, 0.0)
    tokens = 0
    for i, batch in enumerate(plan):
        for name, (objective, optimizer) in models.items():
            start = time.perf_counter()
            loss, n, _ = objective.loss(batch, None)
            optimizer.zero_grad()
            (loss / n).backward()
            optimizer.step()
            if i >= 3:  # the first updates warm the allocator up
                seconds[name] += time.perf_counter() - start
        tokens += batch.n_tokens if i >= 3 else 0
    return {name: tokens / s for name, s in seconds.items()}


def warm_latency(writer: CoupletWriter, upper: str, repeats: int = 20) -> float:
    writer.write(CoupletRequest(upper, seed=0))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        writer.write(CoupletRequest(upper, seed=i))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attention", type=Path, required=True, help="run with additive attention")
    parser.add_argument("--plain", type=Path, help="run without attention (same recipe otherwise)")
    parser.add_argument("--data", type=Path, required=True, help="held-out couplet pair file")
    parser.add_argument("--limit", type=int, help="score only the first N pairs")
    parser.add_argument("--beam", type=int, default=5, help="beam width of the beam row (default 5)")
    parser.add_argument("--latency-repeats", type=int, default=5, help="cold starts to time per engine")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help=f"comma-separated subset of {','.join(SYSTEMS)}; rows are merged into an existing --out",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/couplets.json")
    args = parser.parse_args()
    systems = set(args.systems.split(","))
    unknown = systems - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; options are {list(SYSTEMS)}")
    torch.set_num_threads(1)

    pairs = read_pairs(args.data)[: args.limit]
    sources, references = [p.source for p in pairs], [p.target or "" for p in pairs]
    rows: list[tuple[str, PairScores]] = []
    timings: dict[str, float] = {}

    def add(name: str, predictions: list[str]) -> None:
        rows.append((name, score_pairs(sources, references, predictions)))
        print(format_scores(rows[-1:]).splitlines()[-1], flush=True)

    if "reference" in systems:
        add("reference", references)
    if "copy" in systems:
        add("copy", copy_baseline(sources))
    if "retrieval" in systems:
        _, _, config = load_seq2seq_run(args.attention)
        add("retrieval", Retrieval(training_pairs(config))(sources))
    if "lm" in systems:
        start = time.perf_counter()
        add("LM-prompted (tang-lstm)", lm_couplets(sources))
        timings["LM-prompted"] = time.perf_counter() - start
    runs = [("seq2seq, no attention", args.plain)] if args.plain and "plain" in systems else []
    runs += [("seq2seq, additive attention", args.attention)] if "attention" in systems else []
    for name, run in runs:
        model, vocab, _ = load_seq2seq_run(run)
        for label, kwargs in ((name, {"constrained": True}), (f"{name}, free", {"constrained": False})):
            start = time.perf_counter()
            add(label, predict(model, vocab, sources, **kwargs))  # type: ignore[arg-type]
            timings[label] = time.perf_counter() - start
    if "beam" in systems:
        model, vocab, _ = load_seq2seq_run(args.attention)
        start = time.perf_counter()
        label = f"seq2seq, additive attention, beam {args.beam}"
        add(label, predict(model, vocab, sources, beam=args.beam, constrained=True))
        timings[label] = time.perf_counter() - start
    latency: dict[str, Any] = {}
    if "latency" in systems:
        upper = "海内存知己"
        for engine in ("numpy", "torch"):
            writer = CoupletWriter.load(engine=engine)  # the bundled model, as `rnnlab couplet` uses it
            latency[engine] = {
                "cold_s": cold_latency(engine, upper, args.latency_repeats),
                "warm_ms": 1000 * warm_latency(writer, upper),
            }
        latency["warm_torch_over_numpy"] = latency["torch"]["warm_ms"] / latency["numpy"]["warm_ms"]
    training = {str(run): training_record(run) for _, run in runs}
    speed: dict[str, float] = {}
    if "speed" in systems and runs:
        speed = training_speed(runs, Path(config_path(args.attention)))

    print()
    print(format_scores(rows, f"{args.data} ({len(pairs)} held-out couplets)"))
    for run, record in training.items():
        print(
            f"{run}: {record['minutes']:.1f} min, {record['updates']} updates, "
            f"{record['tokens_seen']:,} target tokens, {record['tokens_per_s']:.0f} tokens/s, "
            f"validation perplexity {record['valid_ppl']:.1f}"
        )
    for name, tokens_per_s in speed.items():
        print(f"training speed, {name}: {tokens_per_s:.0f} target tokens/s (interleaved, one thread)")
    for engine in ("numpy", "torch"):
        if engine in latency:
            values = latency[engine]
            print(
                f"rnnlab couplet ({engine}): cold {values['cold_s']:.2f} s, warm {values['warm_ms']:.1f} ms"
            )
    result: dict[str, Any] = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    result.update(
        data=str(args.data),
        pairs=len(pairs),
        decoding="greedy under the couplet constraint unless 'free'; beam row as named",
        machine={"cpus": os.cpu_count(), "torch_threads": 1, "note": "shared, heavily loaded machine"},
    )
    result.setdefault("scores", {}).update({name: s.to_dict() for name, s in rows})
    result.setdefault("decode_seconds", {}).update(timings)
    result.setdefault("training", {}).update(training)
    if latency:
        result["latency"] = latency
    if speed:
        result["training_speed_tokens_per_s"] = speed
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
