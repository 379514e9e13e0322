"""Timing and memory helpers shared by the benchmarks: interleaved medians, peak memory, matmul peak.

Every comparison interleaves its implementations (round-robin, repeated) and keeps each one's
median, so a machine that other people are using slows all of them alike and the ratios hold.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = ("wall", "cpu")


def clock_function(clock: str, device: torch.device) -> Callable[[], float]:
    """``time.perf_counter`` for wall-clock timing, ``time.process_time`` for CPU time.

    CPU time (of one thread) is what to compare on a machine that other jobs oversubscribe: it
    counts the work done, not the waits for a core, so its ratios hold when wall-clock ratios are
    noise. With several threads it adds up their work (and OpenMP's spinning), so use it with
    ``--threads 1``. A GPU's work is not CPU time: there it is always the wall clock.
    """
    if clock == "cpu" and device.type == "cpu":
        return time.process_time
    return time.perf_counter


def interleaved(
    runs: dict[str, Callable[[], object]],
    repeats: int,
    device: torch.device,
    warmup: int = 1,
    clock: str = "wall",
) -> dict[str, float]:
    """Median seconds per call of each function, timed round-robin ``repeats`` times after warm-up."""
    now = clock_function(clock, device)
    for run in runs.values():
        for _ in range(warmup):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            sync(device)
            start = now()
            run()
            sync(device)
            times[name].append(now() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def training_call(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], object]:
    """A function doing forward + backward of a sum loss: one training call of a recurrent layer."""

    def run() -> object:
        model.train()
        model.zero_grad(set_to_none=True)
        out = model(x)[0]
        out.sum().backward()
        return out

    return run


def matmul_flops(device: torch.device, size: int = 2048, seconds: float = 1.0) -> float:
    """Dense float32 matmul FLOP/s of this machine: the best of several (size × size)² products.

    The best, not the median: it is the ceiling the recurrent layers are measured against.
    """
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up: thread pool, allocator
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
        if time.perf_counter() > deadline:
            return best


def peak_memory_of(module: str, spec: dict[str, Any], device: torch.device) -> float:
    """Peak bytes that one call of ``module.probe(spec)`` adds, measured in a fresh process.

    Each probe runs in a child process, so that nothing of the parent's (or an earlier probe's)
    allocations counts. On the CPU the child resets its resident-set high-water mark just before
    the step (Linux: ``/proc/self/clear_refs``) and reports the new mark minus its resident memory
    at that moment; on a GPU it reports ``torch.cuda.max_memory_allocated`` above the baseline.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    code = f"from benchmarks.timing import _probe_main; _probe_main({module!r})"
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps({**spec, "device": str(device)})],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(json.loads(result.stdout.strip().splitlines()[-1])["peak_bytes"])


def _probe_main(module: str) -> None:
    """Child side of :func:`peak_memory_of`: build, measure one step, print the peak as JSON."""
    import importlib

    spec = json.loads(sys.argv[1])
    device = torch.device(spec["device"])
    torch.set_num_threads(int(spec.get("threads", 1)))
    step = importlib.import_module(module).probe(spec)  # builds the model; returns one step
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        peak = torch.cuda.max_memory_allocated(device) - base
    else:
        base = _resident_bytes()
        step()
        peak = _high_water_bytes() - base
    print(json.dumps({"peak_bytes": max(peak, 0)}))


def _resident_bytes() -> int:
    """Current resident memory, after resetting the high-water mark to it (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _high_water_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        match = re.search(r"VmHWM:\s+(\d+) kB", f.read())
    assert match, "no VmHWM in /proc/self/status"
    return int(match.group(1)) * 1024
