"""The benchmark suite: a registry of entries, run in one go, written to summary.json and summary.md.

    python -m benchmarks                    # default size: about 10 minutes on a 2-core CPU
    python -m benchmarks --quick            # tiny shapes, seconds (what CI runs)
    python -m benchmarks --full             # the long runs (larger shapes, every variant)
    python -m benchmarks --only layers min_cells --device cuda

An entry is a function ``entry(ctx: Context) -> list[Section]`` named in :data:`ENTRIES` as
``"module:function"``; the suite imports it only when it runs, so an entry whose module is
missing is reported as skipped rather than breaking the run. To plug a new benchmark in, write
such a function in ``benchmarks/<name>.py`` and add one line to :data:`ENTRIES`; every entry
measures its implementations interleaved in one process and reports ratios to a reference
measured in the same run, because absolute numbers on a shared machine move with its load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchmarks.timing import CLOCKS, ROOT, matmul_flops
from rnnlab.train.memory import keep_freed_memory

# name → "module:function". The order is the order of the run and of the report.
ENTRIES: dict[str, str] = {
    "machine": "benchmarks.suite:machine_entry",
    "layers": "benchmarks.layers:suite_entry",
    "min_cells": "benchmarks.min_cells:suite_entry",
    "lm_training": "benchmarks.throughput:suite_entry",
    "scaling": "benchmarks.scaling:suite_entry",
    "generation": "benchmarks.generation:suite_entry",
    "inference": "benchmarks.inference:suite_entry",  # the NumPy engine's cold start and speed
    "cells_quality": "benchmarks.cells_at_equal_time:suite_entry",  # recorded unless --full
}
MODES = ("quick", "default", "full")


@dataclass
class Context:
    """What every entry gets: the size of the run, where to write, and shared measurements."""

    mode: str  # "quick", "default" or "full"
    device: torch.device
    threads: int
    out_dir: Path
    data_dir: Path | None  # ../shared/data when present (quality entries skip without it)
    clock: str = "wall"  # "wall" or "cpu" (process CPU time: robust on an oversubscribed machine)
    malloc: str = "system default"  # "keeps freed memory" when the suite runs as the Trainer does on a CPU
    _matmul: dict[str, float] = field(default_factory=dict)

    def pick(self, quick: Any, default: Any, full: Any) -> Any:
        """The value for this run's size."""
        return {"quick": quick, "default": default, "full": full}[self.mode]

    def matmul_flops(self) -> float:
        """Dense float32 matmul FLOP/s measured once per run (2048² on CPU/GPU, 256² in quick mode)."""
        if "peak" not in self._matmul:
            size = 256 if self.mode == "quick" else (8192 if self.device.type == "cuda" else 2048)
            self._matmul["peak"] = matmul_flops(self.device, size, 0.2 if self.mode == "quick" else 2.0)
        return self._matmul["peak"]


@dataclass
class Section:
    """One table of the report: rows of measurements, the columns to show, and notes."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # files written next to the summary

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.rows:
            lines += ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
            lines += ["| " + " | ".join(_cell(row.get(c)) for c in self.columns) + " |" for row in self.rows]
        lines += [""] + [f"- {n}" for n in self.notes] + [f"\n![{p}]({p})" for p in self.plots]
        return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        magnitude = abs(value)
        if magnitude >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.3g}" if magnitude < 10 else f"{value:.1f}"
    return str(value)


def machine_entry(ctx: Context) -> list[Section]:
    """The machine itself: threads, load, and the dense matmul FLOP/s that utilisation is measured against."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    row = {
        "device": str(ctx.device),
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load (1 min)": load[0],
        "matmul GFLOP/s": ctx.matmul_flops() / 1e9,
        "malloc": ctx.malloc,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    return [
        Section(
            "machine",
            "Machine",
            list(row),
            [row],
            [
                "matmul GFLOP/s: best of repeated float32 square products; the ceiling for utilisation",
                "malloc: on a CPU the suite keeps freed memory mapped, as the Trainer does "
                "(rnnlab.train.memory), so every implementation is timed without page faults on reused "
                "buffers",
            ],
        )
    ]


def resolve(spec: str) -> Callable[[Context], list[Section]]:
    module, _, function = spec.partition(":")
    entry: Callable[[Context], list[Section]] = getattr(importlib.import_module(module), function)
    return entry


def run(ctx: Context, names: list[str]) -> dict[str, Any]:
    """Run the named entries in registry order; an entry that fails is recorded, not fatal."""
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(ctx.threads)
    summary: dict[str, Any] = {"meta": _meta(ctx), "sections": [], "errors": {}}
    sections: list[Section] = []
    for name in names:
        start = time.perf_counter()
        print(f"[{name}] running ({ctx.mode})", flush=True)
        try:
            produced = resolve(ENTRIES[name])(ctx)
        except ModuleNotFoundError as error:
            summary["errors"][name] = f"skipped: {error}"
            print(f"[{name}] skipped: {error}", flush=True)
            continue
        except Exception as error:  # one broken entry must not lose the others' results
            summary["errors"][name] = "".join(traceback.format_exception_only(type(error), error)).strip()
            print(f"[{name}] FAILED\n{traceback.format_exc()}", flush=True)
            continue
        for section in produced:
            print(section.markdown(), flush=True)
        sections += produced
        print(f"[{name}] {time.perf_counter() - start:.0f} s", flush=True)
    summary["sections"] = [asdict(s) for s in sections]
    summary["meta"]["seconds"] = time.perf_counter() - summary["meta"].pop("_start")
    (ctx.out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (ctx.out_dir / "summary.md").write_text(_report(summary, sections), encoding="utf-8")
    return summary


def _meta(ctx: Context) -> dict[str, Any]:
    return {
        "mode": ctx.mode,
        "device": str(ctx.device),
        "threads": ctx.threads,
        "clock": ctx.clock,
        "torch": torch.__version__,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "_start": time.perf_counter(),
    }


def _report(summary: dict[str, Any], sections: list[Section]) -> str:
    meta = summary["meta"]
    head = [
        "# Benchmark summary",
        "",
        f"`python -m benchmarks` ({meta['mode']}), device {meta['device']}, {meta['threads']} threads, "
        f"{meta['clock']} clock, "
        f"torch {meta['torch']}, {meta['time']}, {meta['seconds']:.0f} s. Ratios compare implementations "
        "measured interleaved in this run; absolute numbers move with the machine's load "
        f"(load average at the start: {meta['load_average']}).",
        "",
    ]
    errors = [f"- {name}: {message}" for name, message in summary["errors"].items()]
    return "\n".join(head + [s.markdown() for s in sections] + (["### Not run", *errors] if errors else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny shapes, seconds (CI)")
    size.add_argument("--full", action="store_true", help="larger shapes and every variant (long)")
    parser.add_argument("--only", nargs="+", choices=list(ENTRIES), help="run these entries only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="wall",
        help="time with the wall clock (default) or CPU time — for a machine other jobs oversubscribe, "
        "with --threads 1 (see benchmarks/timing.py)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="folder for summary.json/.md and plots",
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="../shared/data")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    kept = device.type == "cpu" and keep_freed_memory()  # as the Trainer does; for the whole process
    ctx = Context(
        mode="quick" if args.quick else ("full" if args.full else "default"),
        device=device,
        threads=args.threads,
        out_dir=args.out,
        data_dir=args.data if args.data.is_dir() else None,
        clock=args.clock,
        malloc="keeps freed memory" if kept else "system default",
    )
    summary = run(ctx, args.only or list(ENTRIES))
    failed = [name for name, message in summary["errors"].items() if not message.startswith("skipped")]
    print(f"wrote {ctx.out_dir / 'summary.json'} and summary.md" + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0
