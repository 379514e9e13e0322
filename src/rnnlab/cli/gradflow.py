"""`rnnlab gradflow`: plot how gradients vanish or explode through time, per cell type."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
example:
  rnnlab gradflow --out grad.png --json grad.json
  rnnlab gradflow --out ortho.png --init orthogonal --scale 1.0 --large-scale 1.5 \
      --cells rnn-tanh,rnn-relu,lstm

The PNG shows mean ‖∂L_T/∂h_t‖ (log scale) against the distance T − t, one line per cell; the right
panel repeats the probe with a large recurrent weight scale, dashed lines after gradient clipping.
The JSON maps each cell to {distance: mean gradient norm}.
"""


def register(subparsers: Any) -> None:
    """Add the `gradflow` sub-command."""
    from rnnlab.scratch.gradflow import CELL_NAMES, INITS, TORCH_DEFAULT_SCALE

    parser = subparsers.add_parser(
        "gradflow",
        help="measure and plot vanishing/exploding gradients through time for RNN, LSTM and GRU",
        description=(
            "Measure ‖∂L_T/∂h_t‖ for every t on random inputs, for RNN-tanh, RNN-sigmoid, RNN-relu, LSTM "
            "and GRU, with hand-written NumPy BPTT and with torch autograd on the same weights; print a "
            "table, write a PNG and optionally a JSON file."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out", required=True, type=Path, metavar="FILE.png", help="where to write the plot (PNG)"
    )
    output.add_argument(
        "--json",
        type=Path,
        metavar="FILE.json",
        help="also write {cell: {distance: mean gradient norm}} as JSON",
    )
    probe = parser.add_argument_group("probe")
    probe.add_argument("--length", type=int, default=100, help="sequence length T (default: 100)")
    probe.add_argument("--hidden", type=int, default=64, help="hidden size H (default: 64)")
    probe.add_argument(
        "--scale",
        type=float,
        default=TORCH_DEFAULT_SCALE,
        help=(
            f"spectral radius W_hh is drawn with "
            f"(default: {TORCH_DEFAULT_SCALE:.3f} = 1/√3, as PyTorch's default init)"
        ),
    )
    probe.add_argument(
        "--large-scale",
        type=float,
        default=2.0,
        help="scale of the second, exploding panel, which also shows clipping; 0 omits it (default: 2.0)",
    )
    probe.add_argument(
        "--clip",
        type=float,
        default=1.0,
        help="max global gradient norm for the clipped curves (default: 1.0)",
    )
    probe.add_argument(
        "--init",
        choices=INITS,
        default="uniform",
        help="W_hh: uniform entries (ρ ≈ scale) or scale × orthogonal (ρ = scale) (default: uniform)",
    )
    probe.add_argument(
        "--cells",
        default=",".join(CELL_NAMES),
        help=f"comma-separated cells to probe (default: {','.join(CELL_NAMES)})",
    )
    probe.add_argument("--forget-bias", type=float, default=1.0, help="LSTM forget-gate bias (default: 1.0)")
    probe.add_argument("--samples", type=int, default=32, help="random sequences averaged over (default: 32)")
    probe.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (default: 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure, print the table, write the files."""
    from rnnlab.errors import ConfigError
    from rnnlab.gradflow import (
        GradFlowConfig,
        format_table,
        measure_gradient_flow,
        plot_gradient_flow,
        write_json,
    )

    if args.large_scale < 0:
        raise ConfigError(f"--large-scale must be ≥ 0 (0 omits the panel), got {args.large_scale}")
    for name in ("length", "hidden", "samples"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} must be ≥ 1, got {getattr(args, name)}")
    config = GradFlowConfig(
        cells=tuple(c.strip() for c in args.cells.split(",") if c.strip()),
        length=args.length,
        hidden_size=args.hidden,
        scale=args.scale,
        large_scale=args.large_scale or None,
        clip=args.clip,
        samples=args.samples,
        init=args.init,
        forget_bias=args.forget_bias,
        seed=args.seed,
    )
    report = measure_gradient_flow(config)
    print(format_table(report), end="")
    plot_gradient_flow(report, args.out)
    print(f"wrote {args.out}")
    if args.json is not None:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0
