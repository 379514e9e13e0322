"""Options shared by several commands (not a command itself): the engine that steps a model, and
turning parsed flags into config dicts (no heavy imports)."""

from __future__ import annotations

import argparse
from typing import Any


def add_engine_arguments(group: Any) -> None:
    """--engine, --device and --threads, as `rnnlab poem` and `rnnlab serve` take them."""
    group.add_argument(
        "--engine",
        choices=("auto", "numpy", "torch"),
        default="auto",
        help="what steps the model: numpy (no torch needed; plain RNN/GRU/LSTM on the CPU), torch "
        "(any model, CPU or GPU), or auto: numpy when it can run the model, else torch (default auto)",
    )
    group.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="(default cpu; cuda needs torch)"
    )
    group.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="CPU threads of the engine (BLAS or torch); one token at a time gains little from more "
        "(default 1)",
    )


def set_threads(threads: int, engine: str) -> None:
    """Limit the engine's CPU threads. BLAS reads its variables when NumPy loads, so they are set
    before anything imports NumPy (and reach the processes a server starts); torch is told directly,
    when it is loaded."""
    import os
    import sys

    from rnnlab.errors import ConfigError

    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    if "numpy" not in sys.modules:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
    if engine != "numpy" and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """``{config key: value}`` for each flag in ``flags`` (flag → key) the user actually gave."""
    return {key: getattr(args, flag) for flag, key in flags.items() if getattr(args, flag, None) is not None}
