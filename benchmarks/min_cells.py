"""Training throughput of minGRU/minLSTM (parallel scan and step by step) against torch.nn.GRU.

    python -m benchmarks.min_cells                          # T = 128, 512, 2048; B=32 I=128 H=256, 2 layers
    python -m benchmarks.min_cells --steps 128 4096 --batch 64 --device cuda

One training call is forward + backward of a sum loss over the whole sequence. The min cells
have no hidden product, so all their matrix work is one product per layer over all T·B tokens
and the recurrence is a scan (``rnnlab.recurrence.log_space_scan``); torch.nn.GRU multiplies
by W_hh at every step. Interleaved medians, ratios to torch.nn.GRU of the same shape.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from benchmarks.timing import CLOCKS, interleaved, training_call
from rnnlab.layers import MinGRU, MinLSTM, RecurrentLayer

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section

COLUMNS = ["T", "impl", "ms/batch", "tokens/s", "× torch.nn.GRU"]


def measure(
    steps: int,
    batch: int,
    size: int,
    hidden: int,
    layers: int,
    repeats: int,
    device: torch.device,
    clock: str = "wall",
    step_loop: bool = True,
) -> list[dict[str, object]]:
    """Training speed at T = ``steps``; ``step_loop=False`` leaves out the step-by-step layers (the
    generation path, minutes per call at T = 2048 on a CPU)."""
    torch.manual_seed(0)
    models: dict[str, nn.Module] = {"torch.nn.GRU": nn.GRU(size, hidden, layers)}
    impls = (
        (("auto", "parallel scan"), ("reference", "step by step"))
        if step_loop
        else (("auto", "parallel scan"),)
    )
    for name, cls in (("MinGRU", MinGRU), ("MinLSTM", MinLSTM)):
        for impl, label in impls:
            layer: RecurrentLayer = cls(size, hidden, layers, impl=impl)  # type: ignore[arg-type]
            models[f"{name} ({label})"] = layer
    x = torch.randn(steps, batch, size, device=device)
    runs: dict[str, Callable[[], object]] = {}
    for name, model in models.items():
        model.to(device)
        runs[name] = training_call(model, x)
    seconds = interleaved(runs, repeats, device, clock=clock)
    return [
        {
            "T": steps, "impl": name, "ms/batch": s * 1e3, "tokens/s": steps * batch / s,
            "× torch.nn.GRU": seconds["torch.nn.GRU"] / s,
        }
        for name, s in seconds.items()
    ]  # fmt: skip


def suite_entry(ctx: Context) -> list[Section]:
    from benchmarks.suite import Section

    batch, size, hidden = ctx.pick((2, 8, 8), (32, 128, 256), (64, 128, 256))
    steps_list = ctx.pick([8, 16], [128, 512, 2048], [128, 512, 2048, 8192])
    repeats = ctx.pick(2, 3, 5)
    rows = []
    for steps in steps_list:
        # The step-by-step loop beyond T = 512 only in --full: it alone took over 10 minutes.
        step_loop = ctx.mode == "full" or steps <= 512
        rows += measure(steps, batch, size, hidden, 2, repeats, ctx.device, ctx.clock, step_loop)
    return [
        Section(
            "min_cells",
            f"minGRU/minLSTM training vs torch.nn.GRU, B={batch} I={size} H={hidden}, 2 layers, "
            f"{ctx.device}, {ctx.clock} clock",
            COLUMNS,
            rows,
            ["tokens/s of forward + backward over whole sequences; × torch.nn.GRU: same interleaved run"],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[128, 512, 2048], help="sequence lengths T")
    parser.add_argument("--batch", type=int, default=32, help="B")
    parser.add_argument("--input", type=int, default=128, help="I")
    parser.add_argument("--hidden", type=int, default=256, help="H")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=CLOCKS, default="wall", help="wall or CPU time (see timing.py)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'T':>6}  {'impl':<28}{'ms/batch':>10}{'tokens/s':>12}{'× GRU':>8}")
    for steps in args.steps:
        for r in measure(
            steps,
            args.batch,
            args.input,
            args.hidden,
            args.layers,
            args.repeats,
            torch.device(args.device),
            args.clock,
        ):
            print(
                f"{r['T']:>6}  {r['impl']:<28}{r['ms/batch']:>10.1f}{r['tokens/s']:>12,.0f}"
                f"{r['× torch.nn.GRU']:>8.2f}"
            )


if __name__ == "__main__":
    main()
