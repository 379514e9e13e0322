"""`rnnlab serve`: the poetry web page and its JSON API on a local port."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  rnnlab serve                                   # http://127.0.0.1:8000 with the bundled Tang model
  rnnlab serve --model mine=runs/my-poems        # offer a run of your own beside it
  rnnlab serve --host 0.0.0.0 --port 8080 --threads 2

The page is at /, the API at /api/poems and /api/models, its OpenAPI description at /docs
(interactive) and /openapi.json. For example:
  curl -s localhost:8000/api/poems -H 'Content-Type: application/json' \\
       -d '{"prefix": "床前明月光", "num": 2, "seed": 1}'
Models load on first use. Each request decodes in a worker thread, so requests run side by side;
--threads sets torch's CPU threads, shared by all of them (one token at a time gains little from
more than one, and parallel requests already keep several cores busy).
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
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="(default cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch CPU threads; requests already run in parallel threads (default 1)",
    )
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
    # FastAPI and uvicorn load here only, so the other commands start without them.
    import torch
    import uvicorn

    from rnnlab.errors import ConfigError
    from rnnlab.serve import create_app

    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    torch.set_num_threads(args.threads)
    app = create_app(parse_models(args.model), device=args.device)
    print(f"rnnlab serve: http://{args.host}:{args.port}  (API docs at /docs; Ctrl-C stops)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
