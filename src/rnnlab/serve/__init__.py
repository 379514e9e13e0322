"""`rnnlab serve`: a small web page and JSON API over :class:`rnnlab.poet.Poet`.

    from rnnlab.serve import create_app
    app = create_app({"tang-lstm": None, "mine": Path("runs/my-poems")})   # any ASGI server runs it

The app is thin: it validates input, picks a model and calls ``Poet.write`` off the event loop.
Importing this package imports FastAPI; the CLI imports it only when `rnnlab serve` runs.
"""

from __future__ import annotations

from rnnlab.serve.app import (
    GenerateRequest,
    GenerateResponse,
    ModelInfo,
    PoetRegistry,
    create_app,
)

__all__ = ["GenerateRequest", "GenerateResponse", "ModelInfo", "PoetRegistry", "create_app"]
