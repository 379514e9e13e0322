"""Held-out perplexity of LSTM, GRU, minGRU and minLSTM language models after equal wall-clock training.

    python -m benchmarks.cells_at_equal_time                                   # 10 min each, Tang poems
    python -m benchmarks.cells_at_equal_time --minutes 1 --cells lstm mingru   # smoke test

Each cell trains with ``rnnlab train`` for ``--minutes`` of wall-clock time (evaluation included)
in its own process on one CPU thread, all of them at the same time under ``nice``: on a shared
machine they then share whatever the others leave them alike, which keeps the budget equal.
The model is the same for every cell (2 layers × 256, embedding 256 tied, the recipe of
``rnnlab train``); the min cells have fewer parameters (no W_hh) and more updates per second.
Afterwards ``rnnlab eval`` scores every run on the same held-out poems (the split ``rnnlab
train`` chose by hashing each line) and the table and JSON go to benchmarks/results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.timing import ROOT

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section

TANG = ROOT.parent / "shared" / "data" / "tang" / "tang.jsonl"
RESULT = ROOT / "benchmarks" / "results" / "cells_equal_time.json"
CELLS = ("lstm", "gru", "mingru", "minlstm")


def train_all(
    data: Path, out: Path, cells: list[str], minutes: float, extra: list[str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Start one `rnnlab train` per cell at once (1 thread, nice 10) and wait for all of them."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    procs = {}
    for cell in cells:
        cmd = [
            "nice", "-n", "10", sys.executable, "-m", "rnnlab", "train", "--data", str(data),
            "--out", str(out / cell), "--cell", cell, "--max-minutes", str(minutes), "--epochs", "1000",
            "--device", "cpu", "--seed", "0", "--no-progress", *extra,
        ]  # fmt: skip
        procs[cell] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = {}
    for cell, proc in procs.items():
        stdout, _ = proc.communicate()
        done[cell] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, "")
        if proc.returncode != 0:
            sys.exit(f"training {cell} failed:\n{stdout[-3000:]}")
    return done


def evaluate(data: Path, out: Path, cells: list[str]) -> list[dict[str, Any]]:
    """`rnnlab eval` of every run on the held-out split; rows of name, parameters, perplexity."""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "rnnlab", "eval", *(str(out / c) for c in cells), "--data", str(data)]
    table = subprocess.run(cmd + ["--device", "cpu"], env=env, capture_output=True, text=True, check=True).stdout
    print(table)
    rows = []
    for cell in cells:
        metrics = [json.loads(line) for line in (out / cell / "metrics.jsonl").read_text().splitlines() if line]
        steps = max((m.get("step", 0) for m in metrics), default=0)
        tokens = max((m.get("tokens", 0) or 0 for m in metrics), default=0)
        line = next(row for row in table.splitlines() if row.split() and row.split()[0] == cell)
        parts = line.split()
        rows.append(
            {
                "cell": cell, "parameters": int(parts[2].replace(",", "")), "perplexity": float(parts[4]),
                "bits/char": float(parts[5]), "updates": steps, "train tokens": tokens, "train time": parts[6],
            }
        )  # fmt: skip
    return rows


def suite_entry(ctx: Context) -> list[Section]:
    """--full trains (10 min per cell, concurrently); other sizes report the last recorded result."""
    from benchmarks.suite import Section

    columns = ["cell", "parameters", "updates", "perplexity", "bits/char", "train time"]
    if ctx.mode == "full" and TANG.is_file():
        result = run(TANG, ctx.out_dir / "cells_equal_time", list(CELLS), 10.0, [])
        note = "measured in this run"
    elif RESULT.is_file():
        result = json.loads(RESULT.read_text(encoding="utf-8"))
        note = f"recorded result of {result['command']} ({result['time']}); --full re-measures it"
    else:
        return []
    return [
        Section(
            "cells_quality",
            f"Held-out perplexity after {result['minutes']:g} minutes of training each (Tang poems, 1 thread)",
            columns,
            result["rows"],
            [note, "all cells train at once on one thread each under nice, so they share the machine's load alike"],
        )
    ]


def run(data: Path, out: Path, cells: list[str], minutes: float, extra: list[str]) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()
    train_all(data, out, cells, minutes, extra)
    rows = evaluate(data, out, cells)
    return {
        "command": f"python -m benchmarks.cells_at_equal_time --minutes {minutes:g}",
        "time": started, "load_average_at_start": list(load), "minutes": minutes, "data": str(data),
        "extra_flags": extra, "rows": rows,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=TANG, help="poems, one a line or chinese-poetry JSONL")
    parser.add_argument("--out", type=Path, default=Path("runs/cells_equal_time"), help="run folders")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget per cell")
    parser.add_argument("--train-flag", action="append", default=[], help="extra `rnnlab train` flag")
    parser.add_argument("--json", type=Path, default=RESULT, help="where to write the result")
    args = parser.parse_args()
    result = run(args.data, args.out, args.cells, args.minutes, args.train_flag)
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
