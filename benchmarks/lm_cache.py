"""The memory-mapped LM corpus cache on a large corpus: time to first update, memory of 2 ranks.

`rnnlab train` on ``--data`` (default: the 54,822 poems of ../shared/data/tang/tang.jsonl), three
ways, in interleaved rounds so that all three see the same machine load:

    none   --no-cache: every process reads, splits and encodes the corpus in memory
    cold   the cache is built (a fresh --cache-dir), then used
    warm   a cache built beforehand (untimed) is opened (memory-mapped)

The order of the three rotates from round to round, so that a load changing during a round
favours none of them; medians over the rounds are printed, every round's numbers are in the JSON.

1. **Time to first update**, one process: from starting ``python -m rnnlab train`` to its first
   log line (``--log-every 1``), and the corpus-loading time the run prints itself.
2. **Memory of 2 ranks** under torchrun (gloo, CPU): every worker's peak RSS, peak anonymous RSS
   (private heap: parsed text, Python objects, int64 copies) and peak PSS (resident memory with
   each shared page split between the processes mapping it, from /proc/PID/smaps_rollup), sampled
   every 0.1 s from start until its first update is logged; the run is then killed.
3. **What the corpus costs a process**: in a fresh process with torch imported, the growth of
   RSS / anonymous RSS / PSS from before loading the corpus (as ``rnnlab train`` does) and
   building its samplers to after (memory still held), and the growth of the peak RSS meanwhile.

Linux only (reads /proc). Writes benchmarks/results/lm_cache.json.

    PYTHONPATH=src nice -n 10 python benchmarks/lm_cache.py --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIRST_UPDATE = re.compile(r"\| step\s+1 \|")
CORPUS_LINE = re.compile(r"^corpus: .*\(([\d.]+) s\)\s*$")
MODES = ("none", "cold", "warm")


def _env(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    path = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _kib(path: Path, field: str) -> int:
    """A ``Field:   N kB`` value of a /proc file (0 when the process is gone)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory(pid: int) -> dict[str, int]:
    status, rollup = Path(f"/proc/{pid}/status"), Path(f"/proc/{pid}/smaps_rollup")
    return {
        "rss": _kib(status, "VmRSS"),
        "anon": _kib(status, "RssAnon"),
        "pss": _kib(rollup, "Pss"),
    }


def _workers(parent: int) -> dict[int, int]:
    """torchrun's workers: rank → pid (children of ``parent`` with RANK in their environment)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for item in env:
            if item.startswith(b"RANK="):
                found[int(item[5:])] = int(stat.parent.name)
    return found


def _lines(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _run(command: list[str], env: dict[str, str], ranks: int, timeout: float) -> dict[str, Any]:
    """Start ``command``; sample its workers' memory until the first update is logged; kill it."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so the whole process group can be killed at the end
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    peaks: dict[int, dict[str, int]] = {}
    peak_pss_sum = 0
    first_update, corpus_s, corpus_done, output = None, None, None, []
    try:
        while first_update is None:
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"no update after {timeout} s:\n" + "".join(output[-30:]))
            pids = {0: proc.pid} if ranks == 1 else _workers(proc.pid)
            samples = {rank: _memory(pid) for rank, pid in pids.items()}
            for rank, sample in samples.items():
                peak = peaks.setdefault(rank, dict.fromkeys(sample, 0))
                for key, value in sample.items():
                    peak[key] = max(peak[key], value)
            peak_pss_sum = max(peak_pss_sum, sum(s["pss"] for s in samples.values()))
            deadline = time.perf_counter() + 0.1
            while (left := deadline - time.perf_counter()) > 0:
                try:
                    line = lines.get(timeout=left)
                except queue.Empty:
                    break
                if line is None:
                    raise RuntimeError(
                        f"{command[:6]} ended before its first update:\n" + "".join(output[-30:])
                    )
                output.append(line)
                if (match := CORPUS_LINE.match(line)) is not None:
                    corpus_s = float(match.group(1))
                    corpus_done = time.perf_counter() - start
                if FIRST_UPDATE.search(line) and first_update is None:
                    first_update = time.perf_counter() - start
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    mib = 1024.0
    return {
        "first_update_s": round(first_update, 2),
        "corpus_s": corpus_s,  # as the run reports it (rank 0)
        "corpus_done_s": None if corpus_done is None else round(corpus_done, 2),  # since the start
        "ranks": {
            str(rank): {f"peak_{k}_mib": round(v / mib, 1) for k, v in peak.items()}
            for rank, peak in sorted(peaks.items())
        },
        "peak_pss_sum_mib": round(peak_pss_sum / mib, 1),
    }


def _train(data: Path, out: Path, mode: str, cache: Path, extra: list[str]) -> list[str]:
    flags = ["--no-cache"] if mode == "none" else ["--cache-dir", str(cache)]
    return ["train", "--data", str(data), "--out", str(out), "--max-steps", "1000", "--log-every", "1",
            "--no-progress", "--device", "cpu", "--seed", "0", *flags, *extra]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "tang" / "tang.jsonl",
        help="corpus (default ../shared/data/tang/tang.jsonl)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of none/cold/warm (default 3)"
    )
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per process (default 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a first update")
    parser.add_argument("--skip-ranks", action="store_true", help="only the one-process timing")
    parser.add_argument(
        "--train-flag",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra `rnnlab train` flag, repeatable (e.g. --train-flag=--hidden=128)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "lm_cache.json")
    parser.add_argument(
        "--footprint-child",
        nargs=2,
        metavar=("MODE", "CACHE_DIR"),
        help="internal: measure part 3 in this process and print it as JSON",
    )
    args = parser.parse_args()
    if args.footprint_child:
        mode, cache = args.footprint_child
        print(json.dumps(_footprint(args.data, mode, Path(cache))))
        return
    if not args.data.is_file():
        sys.exit(f"{args.data}: no such corpus; pass --data")
    env = _env(args.threads)
    python = [sys.executable, "-m"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m"]
    load_start = os.getloadavg()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        "one": {m: [] for m in MODES},
        "two": {m: [] for m in MODES},
        "footprint": {m: [] for m in MODES},
    }
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "cache-warm"  # built once, untimed, before the rounds

        def footprint(mode: str, cache: Path) -> dict[str, Any]:
            child = [
                sys.executable,
                __file__,
                "--data",
                str(args.data),
                "--footprint-child",
                mode,
                str(cache),
            ]
            done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            return dict(json.loads(done.stdout.strip().splitlines()[-1]))

        footprint("cold", warm)
        for r in range(args.rounds):
            # The order rotates, so that a load that changes during a round favours none of them.
            order = MODES[r % len(MODES) :] + MODES[: r % len(MODES)]
            for mode in order:
                got = footprint(mode, warm if mode == "warm" else Path(tmp) / f"cache-footprint-{r}")
                results["footprint"][mode].append(got)
                print(f"round {r + 1} footprint {mode:>4}: {json.dumps(got)}", flush=True)
            for kind, launcher, ranks in (("one", python, 1), ("two", torchrun, 2)):
                if kind == "two" and args.skip_ranks:
                    continue
                for mode in order:
                    cache = warm if mode == "warm" else Path(tmp) / f"cache-{kind}-{r}"  # cold: a fresh one
                    out = Path(tmp) / f"run-{kind}-{mode}-{r}"
                    command = [*launcher, "rnnlab", *_train(args.data, out, mode, cache, args.train_flag)]
                    got = _run(command, env, ranks, args.timeout)
                    results[kind][mode].append(got)
                    print(f"round {r + 1} {kind} {mode:>4}: {json.dumps(got)}", flush=True)
    summary = _summary(results)
    report = {
        "benchmark": "lm_cache",
        "command": "PYTHONPATH=src nice -n 10 python benchmarks/lm_cache.py " + " ".join(sys.argv[1:]),
        "data": str(args.data),
        "data_bytes": args.data.stat().st_size,
        "threads_per_process": args.threads,
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 1) for x in load_start],
        "load_average_end": [round(x, 1) for x in os.getloadavg()],
        "rounds": results,
        "median": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    _print(summary)
    header = f"{'held RSS':>9} {'anon':>7} {'PSS':>7} {'peak growth':>12} {'seconds':>8}"
    print(f"\n{'corpus costs':<16} {header}  (MiB)")
    for mode in MODES:
        e = summary.get(f"footprint/{mode}", {})
        if e:
            held = f"{e['held_rss_mib']:>9} {e['held_anon_mib']:>7} {e['held_pss_mib']:>7}"
            print(f"{mode:<16} {held} {e['peak_rss_growth_mib']:>12} {e['seconds']:>8}")
    print(
        f"load average {report['load_average_start']} → {report['load_average_end']} on {os.cpu_count()} CPUs"
    )
    print(f"written to {args.out}")


def _footprint(data: Path, mode: str, cache: Path) -> dict[str, float]:
    """Part 3, in this process: memory held for the corpus and its samplers, and the peak meanwhile."""
    import gc
    import resource

    import torch  # noqa: F401  # loaded by every training process before its corpus

    from rnnlab.train.batches import evaluation_batches, training_batches
    from rnnlab.train.config import TrainConfig
    from rnnlab.train.distributed import World
    from rnnlab.train.lm import load_training_corpus

    gc.collect()
    before, peak_before = _memory(os.getpid()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    corpus = load_training_corpus(World(), data, 0.05, cache=mode != "none", cache_dir=cache).corpus
    config, vocab = TrainConfig(), corpus.vocab
    ids = {"pad_id": vocab.pad_id, "bos_id": vocab.bos_id, "eos_id": vocab.eos_id}
    samplers = (
        training_batches(config, corpus.train, **ids),
        evaluation_batches(config, corpus.valid, **ids),
    )
    seconds = time.perf_counter() - start
    gc.collect()
    after, peak_after = _memory(os.getpid()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held = {f"held_{k}_mib": round((after[k] - before[k]) / 1024, 1) for k in after}
    assert len(samplers) == 2
    return {
        **held,
        "peak_rss_growth_mib": round((peak_after - peak_before) / 1024, 1),
        "seconds": round(seconds, 2),
    }


def _median(runs: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(value)
    return round(statistics.median(values), 2) if values and None not in values else None


def _summary(results: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, modes in results.items():
        for mode, runs in modes.items():
            if not runs:
                continue
            if kind == "footprint":
                out[f"{kind}/{mode}"] = {key: _median(runs, key) for key in runs[0]}
                continue
            entry = {
                "first_update_s": _median(runs, "first_update_s"),
                "corpus_s": _median(runs, "corpus_s"),
                "corpus_done_s": _median(runs, "corpus_done_s"),
                "peak_pss_sum_mib": _median(runs, "peak_pss_sum_mib"),
            }
            for rank in runs[0]["ranks"]:
                for key in runs[0]["ranks"][rank]:
                    entry[f"rank{rank}_{key}"] = _median(runs, "ranks", rank, key)
            out[f"{kind}/{mode}"] = entry
    for kind in ("one", "two"):
        none = out.get(f"{kind}/none")
        for mode in ("cold", "warm"):
            got = out.get(f"{kind}/{mode}")
            if none and got and none["first_update_s"]:
                got["first_update_vs_none"] = round(got["first_update_s"] / none["first_update_s"], 3)
                got["pss_sum_vs_none"] = round(got["peak_pss_sum_mib"] / none["peak_pss_sum_mib"], 3)
    return out


def _print(summary: dict[str, Any]) -> None:
    print(f"\n{'run':<10} {'first update s':>14} {'corpus s':>9} {'× none':>7} {'Σ PSS MiB':>10} "
          f"{'per rank: peak RSS / anon / PSS MiB':>40}")  # fmt: skip
    for name, e in summary.items():
        if name.startswith("footprint"):
            continue
        ranks = "  ".join(
            f"{e.get(f'rank{r}_peak_rss_mib')}/{e.get(f'rank{r}_peak_anon_mib')}/{e.get(f'rank{r}_peak_pss_mib')}"
            for r in ("0", "1")
            if f"rank{r}_peak_rss_mib" in e
        )
        ratio = e.get("first_update_vs_none", 1.0)
        timing = f"{e['first_update_s']:>14} {e['corpus_s']!s:>9} {ratio:>7}"
        print(f"{name:<10} {timing} {e['peak_pss_sum_mib']:>10} {ranks:>40}")


if __name__ == "__main__":
    main()
