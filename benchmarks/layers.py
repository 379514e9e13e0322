"""Throughput of our recurrent layers against torch.nn on the same shapes, in one run.

    python -m benchmarks.layers                         # LSTM, T=124 B=64 I=128 H=256, 2 layers, CPU
    python -m benchmarks.layers --cell gru --variants plain layer_norm --device cuda
    python -m benchmarks.layers --impls reference compiled --bidirectional

Each implementation gets the same weights and inputs. Timings are interleaved (round-robin
over the implementations, repeated) and the median is kept, so a busy machine slows all of
them alike and the ratios stay meaningful. Training = forward + backward of a sum loss. The
ratio column divides by the plain ``torch.nn`` layer (the fused kernel) of the same shape:
a layer-normalised LSTM at 0.8× trains at 80% of the speed of a plain fused LSTM.

Variants: ``plain``, ``layer_norm`` (Ba et al.), ``dropout_hidden`` (variational dropout on
h_{t−1}, training only). Implementations: ``fused`` (PyTorch's kernel; plain only),
``reference`` (hand-written BPTT over eager kernels), ``compiled`` (the same, kernels fused by
torch.compile; compiles on first use, which the warm-up call absorbs; for a float32 LSTM on the
CPU the C++ time loop of ``rnnlab.native``), ``autograd`` (the
readable cells under autograd: the definition, and what variants ran on before).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as `python benchmarks/<name>.py`: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn

from benchmarks.timing import CLOCKS, interleaved, training_call
from rnnlab.layers import RecurrentConfig, RecurrentLayer

if TYPE_CHECKING:
    from benchmarks.suite import Context, Section

VARIANTS = {"plain": {}, "layer_norm": {"layer_norm": True}, "dropout_hidden": {"dropout_hidden": 0.25}}
IMPLS = ("fused", "reference", "compiled", "autograd")
COLUMNS = ["mode", "cell", "variant", "impl", "ms/batch", "tokens/s", "× torch.nn"]


@dataclass
class Shape:
    steps: int = 124  # T
    batch: int = 64  # B
    input: int = 128  # I
    hidden: int = 256  # H
    layers: int = 2
    bidirectional: bool = False

    def __str__(self) -> str:
        bi = " bidirectional" if self.bidirectional else ""
        return f"T={self.steps} B={self.batch} I={self.input} H={self.hidden} layers={self.layers}{bi}"


def torch_layer(cell: str, shape: Shape) -> nn.Module:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    return cls(shape.input, shape.hidden, shape.layers, bidirectional=shape.bidirectional)


def our_layer(cell: str, impl: str, variant: str, shape: Shape) -> RecurrentLayer:
    config = RecurrentConfig(
        cell, shape.input, shape.hidden, shape.layers, bidirectional=shape.bidirectional, impl=impl,
        **VARIANTS[variant],  # type: ignore[arg-type]
    )  # fmt: skip
    return RecurrentLayer.from_config(config)


def measure(
    cell: str,
    shape: Shape,
    cases: list[tuple[str, str]],
    modes: tuple[str, ...],
    repeats: int,
    device: torch.device,
    clock: str = "wall",
) -> list[dict[str, object]]:
    """Rows of ms/batch, tokens/s and the ratio to torch.nn for each (variant, impl) in ``cases``."""
    torch.manual_seed(0)
    reference = torch_layer(cell, shape).to(device)
    modules: dict[str, nn.Module] = {"torch.nn": reference}
    for variant, impl in cases:
        layer = our_layer(cell, impl, variant, shape).to(device)
        layer.load_state_dict(reference.state_dict(), strict=False)  # norms keep their own init
        modules[f"{variant}/{impl}"] = layer
    x = torch.randn(shape.steps, shape.batch, shape.input, device=device)
    tokens = shape.steps * shape.batch
    rows: list[dict[str, object]] = []
    for mode in modes:
        runs: dict[str, Callable[[], object]] = {}
        for name, module in modules.items():
            if mode == "inference" and name.split("/")[0] == "dropout_hidden":
                continue  # variational dropout is off in eval: the same as plain
            runs[name] = _inference(module, x) if mode == "inference" else training_call(module, x)
        seconds = interleaved(runs, repeats, device, clock=clock)
        for name, s in seconds.items():
            variant, _, impl = name.partition("/")
            rows.append(
                {
                    "mode": mode, "cell": cell + (" bi" if shape.bidirectional else ""),
                    "variant": "plain" if name == "torch.nn" else variant, "impl": impl or "torch.nn",
                    "ms/batch": s * 1e3, "tokens/s": tokens / s, "× torch.nn": seconds["torch.nn"] / s,
                }
            )  # fmt: skip
    return rows


def _inference(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        module.eval()
        with torch.no_grad():
            return module(x)

    return run


def cases_for(variants: list[str], impls: list[str]) -> list[tuple[str, str]]:
    """Every (variant, impl) pair that exists: the fused kernel computes plain layers only."""
    return [(v, i) for v in variants for i in impls if not (i == "fused" and v != "plain")]


def suite_entry(ctx: Context) -> list[Section]:
    """The layer goals: variants (layer norm, variational dropout) against the plain fused cell."""
    from benchmarks.suite import Section

    shape = ctx.pick(Shape(8, 4, 8, 16), Shape(), Shape())
    # Medians of 3 rounds moved by ±0.05 between runs on a 2-vCPU machine; 9 rounds cost a minute more.
    repeats = ctx.pick(2, 9, 15)
    compiled = [] if ctx.mode == "quick" else ["compiled"]
    lstm_cases = cases_for(["plain", "layer_norm", "dropout_hidden"], ["fused", "reference", *compiled])
    gru_cases = cases_for(["plain", "layer_norm", "dropout_hidden"], ["reference", *compiled])
    if ctx.mode == "full":
        lstm_cases.append(("layer_norm", "autograd"))
        gru_cases += [("plain", "fused"), ("layer_norm", "autograd")]
    rows = measure("lstm", shape, lstm_cases, ("training", "inference"), repeats, ctx.device, ctx.clock)
    rows += measure("gru", shape, gru_cases, ("training",), repeats, ctx.device, ctx.clock)
    bi = Shape(**{**shape.__dict__, "bidirectional": True})
    rows += measure(
        "lstm", bi, cases_for(["layer_norm"], ["reference", *compiled]), ("training",), repeats, ctx.device
    )
    return [
        Section(
            "layers",
            f"Recurrent layers, {shape}, {ctx.device}, {ctx.threads} threads, {ctx.clock} clock",
            COLUMNS,
            rows,
            [
                "× torch.nn: time of the plain torch.nn layer of the same cell and shape / time of this row "
                "(interleaved medians); the goal for layer_norm and dropout_hidden training: ≥ 0.8 on a CPU",
                "compiled: each whole step compiled by Inductor (compile time absorbed by the warm-up call); "
                "a float32 LSTM on the CPU runs the C++ time loop of rnnlab.native instead",
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["plain"])
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=["fused", "reference"])
    parser.add_argument(
        "--modes", nargs="+", choices=["training", "inference"], default=["inference", "training"]
    )
    parser.add_argument("--steps", type=int, default=124, help="sequence length T")
    parser.add_argument("--batch", type=int, default=64, help="batch size B")
    parser.add_argument("--input", type=int, default=128, help="input size I")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size H")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per implementation")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall", help="wall or CPU time (see timing.py)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    shape = Shape(args.steps, args.batch, args.input, args.hidden, args.layers, args.bidirectional)
    rows = measure(
        args.cell,
        shape,
        cases_for(args.variants, args.impls),
        tuple(args.modes),
        args.repeats,
        device,
        args.clock,
    )
    print(
        f"{args.cell.upper()} {shape} device={device} threads={torch.get_num_threads()} clock={args.clock} "
        f"torch={torch.__version__}"
    )
    print(f"{'mode':<10}{'variant':<16}{'impl':<11}{'ms/batch':>10}{'tokens/s':>12}{'× torch.nn':>12}")
    for r in rows:
        print(
            f"{r['mode']:<10}{r['variant']:<16}{r['impl']:<11}{r['ms/batch']:>10.1f}"
            f"{r['tokens/s']:>12,.0f}{r['× torch.nn']:>12.2f}"
        )


if __name__ == "__main__":
    main()
