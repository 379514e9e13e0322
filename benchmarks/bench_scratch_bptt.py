"""Cost, bias and variance of the three BPTT modes of rnnlab.scratch, and the time of the gradflow probe.

Run: PYTHONPATH=src python benchmarks/bench_scratch_bptt.py [--cell lstm] [--steps 100] [--draws 200]

Prints one fixed-width line per mode: time per loss_and_grads call, and the relative error of the
gradient against full BPTT — for a single draw, and for the mean over ``--draws`` draws (ARTBP's
mean error shrinks like 1/√draws because it is unbiased; truncated BPTT's bias does not).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnlab.scratch import RandomTruncation, ScratchConfig, build_model
from rnnlab.scratch.gradcheck import relative_error


def flat(grads: dict[str, np.ndarray]) -> np.ndarray:
    """All gradients as one vector."""
    return np.concatenate([g.ravel() for g in grads.values()])


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cell", default="lstm", choices=["rnn", "lstm", "gru"], help="cell type (default: lstm)"
    )
    parser.add_argument("--vocab", type=int, default=65, help="vocabulary size V (default: 65)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size H (default: 64)")
    parser.add_argument("--steps", type=int, default=100, help="sequence length T (default: 100)")
    parser.add_argument("--batch", type=int, default=16, help="batch size B (default: 16)")
    parser.add_argument("--k", type=int, default=10, help="truncation / ARTBP mean length (default: 10)")
    parser.add_argument("--draws", type=int, default=200, help="ARTBP draws averaged (default: 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    args = parser.parse_args()

    config = ScratchConfig(cell=args.cell, vocab_size=args.vocab, hidden_size=args.hidden, seed=args.seed)
    model = build_model(config)
    # Scale W_hh up to ρ ≈ 1 so that long-range terms matter and the modes differ visibly.
    model.params["weight_hh_l0"] *= np.sqrt(3.0)
    rng = np.random.default_rng(args.seed)
    x = rng.integers(0, args.vocab, (args.steps, args.batch))
    y = np.roll(x, -1, axis=0)

    def timed(truncate: object, repeats: int) -> tuple[float, list[np.ndarray]]:
        grads, start = [], time.perf_counter()
        for _ in range(repeats):
            grads.append(flat(model.loss_and_grads(x, y, truncate=truncate)[1]))  # type: ignore[arg-type]
        return (time.perf_counter() - start) / repeats, grads

    t_full, (full,) = timed(None, 1)
    t_trunc, (trunc,) = timed(args.k, 1)
    sampler = RandomTruncation(mean_length=float(args.k), seed=args.seed)
    t_art, draws = timed(sampler, args.draws)
    mean = np.mean(draws, axis=0)
    single = np.median([relative_error(d, full) for d in draws])
    print(f"{config.cell} V={args.vocab} H={args.hidden} T={args.steps} B={args.batch}, k = {args.k}")
    print(f"| {'mode':<22} | {'ms/call':>8} | {'rel. error, 1 call':>18} | {'rel. error, mean':>16} |")
    print(f"| {'full BPTT':<22} | {1e3 * t_full:8.1f} | {0.0:18.3f} | {0.0:16.3f} |")
    bias = relative_error(trunc, full)
    print(f"| {f'truncated k={args.k}':<22} | {1e3 * t_trunc:8.1f} | {bias:18.3f} | {'(same)':>16} |")
    print(
        f"| {f'ARTBP ×{args.draws} draws':<22} | {1e3 * t_art:8.1f} | {single:18.3f} | "
        f"{relative_error(mean, full):16.3f} |"
    )

    from rnnlab.gradflow import GradFlowConfig, measure_gradient_flow

    start = time.perf_counter()
    measure_gradient_flow(GradFlowConfig())
    elapsed = time.perf_counter() - start
    print(f"gradflow probe, default settings (5 cells × 2 scales, NumPy + torch): {elapsed:.1f} s")


if __name__ == "__main__":
    main()
