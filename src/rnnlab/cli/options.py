"""Options shared by several commands (not a command itself): the engine that steps a model, and
turning parsed flags into config dicts. No heavy imports."""

from __future__ import annotations

import argparse
from typing import Any


def given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """``{config key: value}`` for each flag in ``flags`` (flag → key) the user actually gave."""
    return {key: getattr(args, flag) for flag, key in flags.items() if getattr(args, flag, None) is not None}


def add_keep_memory_argument(group: Any) -> None:
    """--no-keep-memory (TrainConfig.keep_memory = False), as every training command takes it."""
    group.add_argument(
        "--no-keep-memory",
        dest="keep_memory",
        action="store_false",
        default=None,
        help="CPU: let malloc return freed memory to the system after each step (by default it is "
        "kept mapped and reused: fewer page faults, faster steps, peak memory held until exit)",
    )


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


LAUNCH_FLAGS = ("--nproc", "--max-restarts")  # options of the launcher, not of the workers


def add_launch_arguments(group: Any, default_timeout: float) -> None:
    """--nproc, --max-restarts and --dist-timeout, as every training command takes them."""
    group.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train on N processes of this machine (torchrun --standalone; one per GPU with --device "
        "cuda, gloo on CPUs); ignored inside a torchrun worker",
    )
    group.add_argument(
        "--max-restarts",
        type=int,
        metavar="R",
        help="with --nproc: restart all processes up to R times when one fails; the run continues "
        "from its latest checkpoint (default 0)",
    )
    group.add_argument(
        "--dist-timeout",
        type=float,
        metavar="MIN",
        help=f"longest wait for the other processes before the job fails (default {default_timeout:g})",
    )


def worker_argv(argv: list[str]) -> list[str]:
    """The command line of each worker: ``argv`` without the launch options (and their values).

    Dropping them also keeps torchrun's own parser from reading ``--nproc`` as an abbreviation of
    its ``--nproc-per-node``. Abbreviations argparse accepted (``--npr 2``) are dropped too.
    """
    out: list[str] = []
    skip_value = False
    for token in argv:
        if skip_value:
            skip_value = False
            continue
        name = token.split("=", 1)[0]
        if len(name) > 2 and any(flag.startswith(name) for flag in LAUNCH_FLAGS):
            skip_value = "=" not in token
            continue
        out.append(token)
    return out


def wants_launch(args: argparse.Namespace) -> bool:
    """Whether this command must start torchrun workers (``--nproc``, outside a torchrun worker)."""
    if args.nproc is None:
        return False
    from rnnlab.train.distributed import under_torchrun

    return not under_torchrun()  # a torchrun worker ignores --nproc


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run ``argv`` (a worker command line, see :func:`worker_argv`) as ``--nproc`` torchrun workers."""
    from rnnlab.train.distributed import launch_local

    print(f"starting {args.nproc} processes with torchrun (global batch = {args.nproc} × --batch)")
    launch_local(args.nproc, argv, max_restarts=args.max_restarts or 0)
    return 0
