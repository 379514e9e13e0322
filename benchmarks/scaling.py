"""How training time and memory grow with sequence length T and hidden size H, with a plot.

    python -m benchmarks.scaling --out benchmarks/results        # scaling.png and numbers

For torch.nn.LSTM (the fused kernel), our LSTM on the reference path (hand-written BPTT) and
the minGRU (parallel scan): milliseconds of one training call (forward + backward, B=32, I=128,
2 layers; interleaved medians) and the memory that call adds (a fresh process per point).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from benchmarks.timing import interleaved, peak_memory_of, training_call
from rnnlab.layers import LSTM, MinGRU

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.suite import Context, Section

IMPLS = ("torch.nn.LSTM", "LSTM reference", "MinGRU scan")
COLUMNS = ["sweep", "T", "H", "impl", "ms/batch", "peak MB"]


def layer(impl: str, size: int, hidden: int) -> nn.Module:
    if impl == "torch.nn.LSTM":
        return nn.LSTM(size, hidden, 2)
    if impl == "LSTM reference":
        return LSTM(size, hidden, 2, impl="reference")
    return MinGRU(size, hidden, 2)


def probe(spec: dict[str, Any]) -> Callable[[], None]:
    """One training call of ``spec['impl']`` at its shape (for the peak-memory child process)."""
    device = torch.device(spec["device"])
    model = layer(spec["impl"], spec["input"], spec["hidden"]).to(device)
    x = torch.randn(spec["steps"], spec["batch"], spec["input"], device=device)

    def step() -> None:
        model(x)[0].sum().backward()

    return step


def sweep(
    points: list[tuple[str, int, int]],
    batch: int,
    size: int,
    repeats: int,
    device: torch.device,
    threads: int,
    memory: bool = True,
    clock: str = "wall",
) -> list[dict[str, object]]:
    """Time (interleaved) and, if ``memory``, peak memory (a fresh process each) at every point."""
    rows: list[dict[str, object]] = []
    for name, steps, hidden in points:
        torch.manual_seed(0)
        x = torch.randn(steps, batch, size, device=device)
        runs: dict[str, Callable[[], object]] = {}
        for impl in IMPLS:
            model = layer(impl, size, hidden).to(device)
            runs[impl] = training_call(model, x)
        seconds = interleaved(runs, repeats, device, clock=clock)
        for impl, s in seconds.items():
            spec = {
                "impl": impl,
                "input": size,
                "hidden": hidden,
                "steps": steps,
                "batch": batch,
                "threads": threads,
            }
            peak = peak_memory_of("benchmarks.scaling", spec, device) if memory else float("nan")
            rows.append(
                {
                    "sweep": name,
                    "T": steps,
                    "H": hidden,
                    "impl": impl,
                    "ms/batch": s * 1e3,
                    "peak MB": peak / 2**20,
                }
            )
    return rows


def plot(rows: list[dict[str, object]], path: Path) -> None:
    """Time and memory against T (left) and H (right), one line per implementation, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for col, (name, key) in enumerate((("T", "T"), ("H", "H"))):
        for row_index, metric in enumerate(("ms/batch", "peak MB")):
            ax = axes[row_index][col]
            drawn = False
            for impl in IMPLS:
                points = sorted(
                    (r[key], r[metric])
                    for r in rows
                    if r["sweep"] == name and r["impl"] == impl and math.isfinite(r[metric])  # type: ignore[arg-type]
                )
                if points:
                    ax.plot(*zip(*points, strict=True), marker="o", label=impl)  # type: ignore[arg-type]
                    drawn = True
            if not drawn:
                ax.text(0.5, 0.5, "not measured", ha="center", transform=ax.transAxes)
                continue
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length T" if key == "T" else "hidden size H")
            ax.set_ylabel("training ms per batch" if metric == "ms/batch" else "peak MB per training call")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Training cost against sequence length (H=256) and hidden size (T=128); B=32, 2 layers")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def points_for(mode: str) -> list[tuple[str, int, int]]:
    lengths = {"quick": [4, 8], "default": [64, 256, 1024], "full": [64, 128, 256, 512, 1024, 2048]}[mode]
    sizes = {"quick": [4, 8], "default": [128, 256, 512], "full": [128, 256, 512, 1024]}[mode]
    hidden, steps = (8, 8) if mode == "quick" else (256, 128)
    return [("T", t, hidden) for t in lengths] + [("H", steps, h) for h in sizes]


def suite_entry(ctx: Context) -> list[Section]:
    from benchmarks.suite import Section

    batch, size = ctx.pick((2, 8), (32, 128), (32, 128))
    repeats = ctx.pick(1, 2, 3)
    rows = sweep(
        points_for(ctx.mode), batch, size, repeats, ctx.device, ctx.threads, ctx.mode != "quick", ctx.clock
    )
    plot(rows, ctx.out_dir / "scaling.png")
    return [
        Section(
            "scaling",
            f"Scaling with sequence length and hidden size (training, B={batch}, I={size}, 2 layers, "
            f"{ctx.device})",
            COLUMNS,
            rows,
            [
                "peak MB: memory one training call adds, measured in a fresh process "
                "(CPU: resident set high-water mark)"
            ],
            ["scaling.png"],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="more points")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = sweep(
        points_for("full" if args.full else "default"), 32, 128, 2, torch.device(args.device), args.threads
    )
    for r in rows:
        print(
            f"{r['sweep']}  T={r['T']:<5} H={r['H']:<5} {r['impl']:<16} {r['ms/batch']:>9.1f} ms "
            f"{r['peak MB']:>8.1f} MB"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    plot(rows, args.out / "scaling.png")
    print(f"wrote {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
