"""Held-out perplexity of LSTM, GRU, minGRU and minLSTM language models after equal training budgets.

    python -m benchmarks.cells_at_equal_time                                   # 10 CPU-minutes each, Tang
    python -m benchmarks.cells_at_equal_time --minutes 1 --cells lstm mingru   # smoke test
    python -m benchmarks.cells_at_equal_time --clock wall                      # wall-clock budget instead

Each cell trains (``rnnlab.train.lm.train_language_model``, the API behind ``rnnlab train``) in its
own process on one CPU thread, all of them at the same time under ``nice``. The budget is CPU
time by default: a callback stops the run once the process has used ``--minutes`` of CPU. On an
idle machine one thread's CPU time is its wall-clock time, so this is the wall-clock budget the
comparison asks for — but it stays equal when other people's jobs take most of the machine, where
a wall-clock budget would measure their load instead (``--clock wall`` uses ``--max-minutes``).
The model is the same for every cell (2 layers × 256, embedding 256 tied, ``rnnlab train``'s
recipe); the min cells have fewer parameters (no W_hh) and more updates per second. The training
run's final evaluation on its held-out poems (the split chosen by hashing each line, the same
for every cell) gives the perplexity; the table and JSON go to benchmarks/results.
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
from rnnlab.train.config import TrainConfig
from rnnlab.train.lm import train_language_model
from rnnlab.train.trainer import Callback, Trainer

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section

TANG = ROOT.parent / "shared" / "data" / "tang" / "tang.jsonl"
RESULT = ROOT / "benchmarks" / "results" / "cells_equal_time.json"
CELLS = ("lstm", "gru", "mingru", "minlstm")


def train_all(data: Path, out: Path, cells: list[str], minutes: float, clock: str, nice: int = 10) -> None:
    """Start one worker per cell at once (1 thread, ``nice``) and wait for all of them."""
    env = {
        **os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }  # fmt: skip
    procs = {}
    for cell in cells:
        cmd = [
            "nice", "-n", str(nice), sys.executable, "-m", "benchmarks.cells_at_equal_time", "--worker", cell,
            "--data", str(data), "--out", str(out), "--minutes", str(minutes), "--clock", clock,
        ]  # fmt: skip
        procs[cell] = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    for cell, proc in procs.items():
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"training {cell} failed:\n{stdout[-3000:]}")


class CPUBudget(Callback):
    """Stop training (final evaluation and checkpoint included, as Ctrl-C) after ``seconds`` of CPU."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, trainer: Trainer) -> None:
        if time.process_time() >= self.seconds:
            trainer.request_stop()


def worker(cell: str, data: Path, out: Path, minutes: float, clock: str) -> None:
    """Train one cell into ``out/cell`` within the budget."""
    import torch

    torch.set_num_threads(1)
    config = TrainConfig(epochs=1000, seed=0, device="cpu", max_minutes=minutes if clock == "wall" else 0.0)
    callbacks = [CPUBudget(60 * minutes)] if clock == "cpu" else []
    train_language_model(data, out / cell, config, {"cell": cell}, callbacks=callbacks, progress=False)


def result_rows(out: Path, cells: list[str]) -> list[dict[str, Any]]:
    """Per cell: parameters, updates, tokens, time and the final held-out perplexity of its run."""
    rows = []
    for cell in cells:
        run = out / cell
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        records = [
            json.loads(line) for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        train = [r for r in records if r.get("kind") == "train"]
        valid = [r for r in records if r.get("kind") == "valid"][-1]
        rows.append(
            {
                "cell": cell, "parameters": config["parameters"], "updates": valid["step"],
                "train tokens": max((r.get("tokens_seen", 0) for r in train), default=0),
                "perplexity": valid["ppl"], "bits/char": valid["bpc"], "held-out tokens": valid["tokens"],
                "wall minutes": valid["elapsed_s"] / 60,
            }
        )  # fmt: skip
    return rows


def suite_entry(ctx: Context) -> list[Section]:
    """--full trains (10 min per cell, concurrently); other sizes report the last recorded result."""
    from benchmarks.suite import Section

    columns = ["cell", "parameters", "updates", "train tokens", "perplexity", "bits/char", "wall minutes"]
    if ctx.mode == "full" and TANG.is_file():
        result = run(TANG, ctx.out_dir / "cells_equal_time", list(CELLS), 10.0, "cpu")
        note = "measured in this run"
    elif RESULT.is_file():
        result = json.loads(RESULT.read_text(encoding="utf-8"))
        note = f"recorded result of {result['command']} ({result['time']}); --full re-measures it"
    else:
        return []
    return [
        Section(
            "cells_quality",
            f"Held-out perplexity after {result['minutes']:g} {result['clock']} minutes of training each "
            "(Tang poems, 1 thread)",
            columns,
            result["rows"],
            [
                note,
                "all cells train at once on one thread each under nice: they share the machine's load alike",
            ],
        )
    ]


def run(
    data: Path, out: Path, cells: list[str], minutes: float, clock: str, nice: int = 10
) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()
    train_all(data, out, cells, minutes, clock, nice)
    return {
        "command": "python -m benchmarks.cells_at_equal_time "
        f"--minutes {minutes:g} --clock {clock} --nice {nice}",
        "time": started, "load_average_at_start": list(load), "minutes": minutes, "clock": clock,
        "data": str(data), "rows": result_rows(out, cells),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=TANG, help="poems, one a line or chinese-poetry JSONL")
    parser.add_argument("--out", type=Path, default=Path("runs/cells_equal_time"), help="run folders")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--minutes", type=float, default=10.0, help="budget per cell (default 10)")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="CPU-time or wall-clock budget"
    )
    parser.add_argument(
        "--nice", type=int, default=10, help="niceness of the training processes (default 10)"
    )
    parser.add_argument("--json", type=Path, default=RESULT, help="where to write the result")
    parser.add_argument("--worker", choices=CELLS, help=argparse.SUPPRESS)  # one training process
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out, args.minutes, args.clock)
        return
    result = run(args.data, args.out, args.cells, args.minutes, args.clock, args.nice)
    print(
        f"{'cell':<9}{'params':>11}{'updates':>9}{'tokens':>11}{'perplexity':>12}{'bits/char':>10}"
        f"{'wall min':>9}"
    )
    for r in result["rows"]:
        print(
            f"{r['cell']:<9}{r['parameters']:>11,}{r['updates']:>9}{r['train tokens']:>11,}"
            f"{r['perplexity']:>12.2f}{r['bits/char']:>10.3f}{r['wall minutes']:>9.1f}"
        )
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
