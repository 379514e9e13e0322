"""Throughput of our recurrent layers against torch.nn on the same shapes, in one run.

    python benchmarks/layers.py                      # LSTM, T=124 B=64 I=128 H=256, 2 layers, CPU
    python benchmarks/layers.py --cell gru --device cuda

Each implementation gets the same weights and inputs. Timings are interleaved (round-robin
over the implementations, repeated) and the median is kept, so a busy machine slows all of
them alike and the ratios stay meaningful. Training = forward + backward of a sum loss.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from rnnlab import GRU, LSTM, RNN


def build(cell: str, impl: str | None, args: argparse.Namespace) -> torch.nn.Module:
    """torch.nn's layer when impl is None, otherwise ours with that impl."""
    shape = (args.input, args.hidden, args.layers)
    if impl is None:
        return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](*shape)
    return {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell](*shape, impl=impl)  # type: ignore[arg-type]


def timer(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    parser.add_argument("--steps", type=int, default=124, help="sequence length T")
    parser.add_argument("--batch", type=int, default=64, help="batch size B")
    parser.add_argument("--input", type=int, default=128, help="input size I")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size H")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per implementation")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)

    names = {"torch.nn": None, "fused": "fused", "reference": "reference"}
    modules = {name: build(args.cell, impl, args).to(device) for name, impl in names.items()}
    for module in modules.values():
        module.load_state_dict(modules["torch.nn"].state_dict())
    x = torch.randn(args.steps, args.batch, args.input, device=device)
    tokens = args.steps * args.batch

    def infer(module: torch.nn.Module) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return module(x)

        return run

    def train(module: torch.nn.Module) -> Callable[[], object]:
        def run() -> object:
            module.zero_grad(set_to_none=True)
            out = module(x)[0]
            out.sum().backward()
            return out

        return run

    print(
        f"{args.cell.upper()} T={args.steps} B={args.batch} I={args.input} H={args.hidden} "
        f"layers={args.layers} device={device} threads={torch.get_num_threads()} torch={torch.__version__}"
    )
    print(f"{'mode':<10}{'impl':<12}{'ms/batch':>10}{'tokens/s':>12}{'× torch.nn':>12}")
    for mode, make in (("inference", infer), ("training", train)):
        runs = {name: make(module) for name, module in modules.items()}
        for run in runs.values():  # warm-up: allocator, oneDNN/cuDNN plans
            run()
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                times[name].append(timer(run, device))
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, seconds in medians.items():
            ratio = medians["torch.nn"] / seconds
            print(f"{mode:<10}{name:<12}{seconds * 1e3:>10.1f}{tokens / seconds:>12,.0f}{ratio:>12.2f}")


if __name__ == "__main__":
    main()
