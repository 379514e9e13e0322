"""Tokens/s of `rnnlab train` on 1 and 2 processes (DDP: gloo on the CPU, NCCL with --device cuda).

    PYTHONPATH=src python benchmarks/ddp_throughput.py                   # CPU: 1 vs 2 gloo processes
    PYTHONPATH=src python benchmarks/ddp_throughput.py --device cuda --nproc 1 2 --threads 4

Every configuration is the real command (`rnnlab train`, under torchrun for N > 1) on the same data
and model with the same per-process batch B, so the global batch is N·B (weak scaling, as DDP is
used). Throughput is the global number of tokens trained between the first and the last log record
divided by the time between them (from the run's metrics.jsonl), which leaves out start-up and the
final evaluation. Configurations alternate round by round and the median is reported, so a busy
machine slows all of them alike. Each process gets --threads intra-op threads (OMP_NUM_THREADS):
with 1, two processes use two cores, and "1 process, 2 threads, batch 2B" is what one would run on
the same two cores without DDP.

The second part times what DDP adds per update: an all-reduce of the model's gradient (its size in
float32) between 2 ranks, median of --reduce-repeats, over the same backend.

Writes benchmarks/results/ddp_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = ROOT.parent / "shared" / "data" / "tang" / "sample-2k.txt"
RESULTS = ROOT / "benchmarks" / "results" / "ddp_throughput.json"


def _env(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    path = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, "PYTHONPATH": path, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _command(nproc: int, args: list[str]) -> list[str]:
    if nproc == 1:
        return [sys.executable, "-m", "rnnlab", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "rnnlab", *args]  # fmt: skip


def train_once(
    data: Path, out: Path, nproc: int, threads: int, batch: int, a: argparse.Namespace
) -> dict[str, Any]:
    """One `rnnlab train` run; tokens/s between the first and the last log record."""
    args = ["train", "--data", str(data), "--out", str(out), "--batch", str(batch), "--bptt", str(a.bptt),
            "--hidden", str(a.hidden), "--layers", str(a.layers), "--max-steps", str(a.steps),
            "--log-every", str(a.log_every), "--eval-every", "0", "--epochs", "1000", "--no-progress",
            "--device", a.device, "--seed", "0"]  # fmt: skip
    done = subprocess.run(
        _command(nproc, args), env=_env(threads), capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{nproc} process(es) failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    first, last = train[0], train[-1]
    tokens = last["tokens_seen"] - first["tokens_seen"]
    seconds = last["elapsed_s"] - first["elapsed_s"]
    config = json.loads((out / "config.json").read_text())
    return {
        "tok_s": tokens / seconds,
        "tokens": tokens,
        "seconds": seconds,
        "parameters": config["parameters"],
    }


def _reduce_worker(numel: int, repeats: int, out: Path) -> None:
    """Runs on each of 2 ranks: times all_reduce of ``numel`` float32 (DDP's gradient volume)."""
    import torch
    import torch.distributed as dist

    cuda = torch.cuda.is_available() and os.environ.get("RNNLAB_BENCH_DEVICE") == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if cuda else "gloo")
    tensor = torch.ones(numel, device="cuda" if cuda else "cpu")
    times = []
    for _ in range(repeats + 2):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(tensor)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    if dist.get_rank() == 0:
        out.write_text(json.dumps({"numel": numel, "seconds": times[2:]}))
    dist.destroy_process_group()


def time_all_reduce(numel: int, a: argparse.Namespace, folder: Path) -> dict[str, Any]:
    out = folder / "allreduce.json"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", __file__,
               "--reduce-worker", str(numel), "--reduce-repeats", str(a.reduce_repeats),
               "--reduce-out", str(out)]  # fmt: skip
    env = {**_env(a.threads), "RNNLAB_BENCH_DEVICE": a.device}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    seconds = json.loads(out.read_text())["seconds"]
    median = statistics.median(seconds)
    return {"numel": numel, "bytes": 4 * numel, "median_s": median, "gb_per_s_bus": 4 * numel / median / 1e9}


def _load() -> list[float]:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help=f"corpus (default {SHARED_SAMPLE} if present, else generated)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="cpu (gloo) or cuda (NCCL)")
    p.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per process (default 1)")
    p.add_argument("--batch", type=int, default=16, help="per-process batch B (default 16)")
    p.add_argument("--bptt", type=int, default=64, help="truncation length T (default 64)")
    p.add_argument("--hidden", type=int, default=256, help="hidden units per layer (default 256)")
    p.add_argument("--layers", type=int, default=2, help="LSTM layers (default 2)")
    p.add_argument("--steps", type=int, default=40, help="updates per run (default 40)")
    p.add_argument("--log-every", type=int, default=5, help="log interval; the first is skipped (default 5)")
    p.add_argument("--repeats", type=int, default=3, help="rounds over the configurations (default 3)")
    p.add_argument("--reduce-repeats", type=int, default=20, help="all-reduce timings (default 20)")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    p.add_argument("--reduce-worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--reduce-out", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.reduce_worker is not None:
        _reduce_worker(a.reduce_worker, a.reduce_repeats, a.reduce_out)
        return

    configs = [(n, a.threads, a.batch) for n in a.nproc]
    if a.device == "cpu" and 2 in a.nproc:
        configs.append((1, 2 * a.threads, 2 * a.batch))  # the same two cores without DDP
    rounds: dict[str, list[float]] = {}
    info: dict[str, Any] = {}
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data or (SHARED_SAMPLE if SHARED_SAMPLE.is_file() else None)
        if data is None:
            from rnnlab.data import shakespeare

            data = Path(tmp) / "text.txt"
            data.write_text(shakespeare().text[:2_000_000], encoding="utf-8")
        for r in range(a.repeats):
            for nproc, threads, batch in configs:
                label = f"{nproc} proc × {threads} thread(s), batch {batch}/proc (global {nproc * batch})"
                got = train_once(
                    data, Path(tmp) / f"run-{r}-{nproc}-{threads}-{batch}", nproc, threads, batch, a
                )
                rounds.setdefault(label, []).append(got["tok_s"])
                info["parameters"] = got["parameters"]
                print(f"round {r + 1}: {label:<60} {got['tok_s']:9.0f} tok/s", flush=True)
        reduce = time_all_reduce(info["parameters"], a, Path(tmp)) if 2 in a.nproc else {}
    medians = {label: statistics.median(v) for label, v in rounds.items()}
    base = medians[next(iter(medians))]
    print(f"\n{'configuration':<62} {'tok/s':>9} {'× 1 proc':>9}")
    for label, value in medians.items():
        print(f"{label:<62} {value:9.0f} {value / base:9.2f}")
    if reduce:
        print(f"\nall-reduce of {info['parameters']:,} float32 between 2 ranks: {reduce}")
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": a.device,
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items() if "reduce_w" not in k
        },
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": _load(),
        "parameters": info["parameters"],
        "rounds_tok_s": rounds,
        "median_tok_s": medians,
        "ratio_to_first": {label: v / base for label, v in medians.items()},
        "all_reduce": reduce,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
