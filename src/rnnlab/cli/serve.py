"""`rnnlab serve`: the poetry web page and its JSON API on a local port."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from rnnlab.cli.options import add_engine_arguments, set_threads

EPILOG = """\
examples:
  rnnlab serve                                   # http://127.0.0.1:8000 with the bundled Tang model
  rnnlab serve --model mine=runs/my-poems        # offer a run of your own beside it
  rnnlab serve --couplet-model mine=runs/couplets  # and a couplet model beside the bundled one
  rnnlab serve --host 0.0.0.0 --port 8080 --workers 2

The page is at / (tabs 诗 poems and 对联 couplets), the API at /api/poems, /api/models,
/api/couplets and /api/couplets/models, its OpenAPI description at /docs
(interactive) and /openapi.json. For example:
  curl -s localhost:8000/api/poems -H 'Content-Type: application/json' \\
       -d '{"prefix": "床前明月光", "num": 2, "seed": 1}'
Models load on first use, with the NumPy engine wherever it can run them (--engine). Each model
decodes in one thread that batches requests continuously: a request arriving while others are
being written joins them at the next step, and leaves when its poems are done. Beyond
--max-batch rows, requests wait; beyond --max-queue waiting requests, the server answers 503.
--workers starts several server processes (each with its own models and decoder) behind one port.
"""


def register(subparsers: Any) -> None:
    """Add the `serve` sub-command."""
    p = subparsers.add_parser(
        "serve",
        help="the poetry web page and JSON API (FastAPI + uvicorn)",
        description=(
            "Start a local web app: a page to write poems (opening line or acrostic, form, sampling, "
            "model) and the JSON API beside it, documented with OpenAPI."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=8000, help="(default 8000)")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=RUN_DIR",
        help="offer the run folder RUN_DIR as NAME (repeatable); the bundled tang-lstm is always offered",
    )
    p.add_argument(
        "--couplet-model",
        action="append",
        default=[],
        metavar="NAME=RUN_DIR",
        help="offer a `rnnlab seq2seq` run as couplet model NAME (repeatable); the bundled couplet-gru "
        "is always offered",
    )
    p.add_argument(
        "--workers", type=int, default=1, metavar="N", help="server processes sharing the port (default 1)"
    )
    batching = p.add_argument_group("batching")
    batching.add_argument(
        "--max-batch",
        type=int,
        default=64,
        metavar="ROWS",
        help="poems a model decodes together, at most (default 64)",
    )
    batching.add_argument(
        "--max-queue",
        type=int,
        default=256,
        metavar="N",
        help="requests that may wait for room in the batch; more are answered 503 (default 256)",
    )
    add_engine_arguments(p.add_argument_group("model"))
    p.set_defaults(func=run)


def parse_models(specs: list[str]) -> dict[str, Path]:
    """``["mine=runs/x"]`` → ``{"mine": Path("runs/x")}``; ConfigError for a malformed spec."""
    from rnnlab.errors import ConfigError

    models: dict[str, Path] = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ConfigError(f"--model takes NAME=RUN_DIR, e.g. --model mine=runs/my-poems; got {spec!r}")
        models[name.strip()] = Path(folder.strip())
    return models


def run(args: argparse.Namespace) -> int:
    from rnnlab.errors import ConfigError

    set_threads(args.threads, args.engine)  # before NumPy loads; the worker processes inherit it
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    for flag, value in (("--workers", args.workers), ("--max-batch", args.max_batch)):
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    if args.max_queue < 0:
        raise ConfigError(f"--max-queue must be at least 0, got {args.max_queue}")
    # FastAPI and uvicorn load here only, so the other commands start without them.
    import uvicorn

    from rnnlab.serve.app import ENVIRONMENT, create_app

    options = {
        "models": {name: str(folder) for name, folder in parse_models(args.model).items()},
        "device": args.device,
        "engine": args.engine,
        "max_rows": args.max_batch,
        "max_waiting": args.max_queue,
        "couplet_models": {name: str(folder) for name, folder in parse_models(args.couplet_model).items()},
    }
    app = create_app(**options)  # checks the folders and the engine choice now, in this process
    print(f"rnnlab serve: http://{args.host}:{args.port}  (API docs at /docs; Ctrl-C stops)")
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    else:
        # Each process builds its own app from the same options (uvicorn imports it by name).
        os.environ[ENVIRONMENT] = json.dumps(options)
        uvicorn.run(
            "rnnlab.serve.app:app_from_environment",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level="info",
        )
    return 0
