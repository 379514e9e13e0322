"""`rnnlab serve`: a small web page and JSON API over :class:`rnnlab.poet.Poet`.

    from rnnlab.serve import create_app
    app = create_app({"tang-lstm": None, "mine": Path("runs/my-poems")})   # any ASGI server runs it

The app is thin: it validates input, picks a model and hands the request to that model's
decoder thread, which batches all requests continuously (:mod:`rnnlab.serve.batching`).
Importing this package imports FastAPI; the CLI imports it only when `rnnlab serve` runs.
"""

from __future__ import annotations

from rnnlab.serve.app import (
    GenerateRequest,
    GenerateResponse,
    ModelInfo,
    PoetRegistry,
    app_from_environment,
    create_app,
)
from rnnlab.serve.batching import BatchWorker, ServerBusy

__all__ = [
    "BatchWorker",
    "GenerateRequest",
    "GenerateResponse",
    "ModelInfo",
    "PoetRegistry",
    "ServerBusy",
    "app_from_environment",
    "create_app",
]
