"""The web app: ``GET /`` (the page), ``GET /api/models``, ``POST /api/poems``; OpenAPI at ``/docs``.

    request  POST /api/poems {"prefix": "床前明月光", "num": 2, "seed": 1}
    response 200 {"poems": ["床前明月光，\\n…。", …], "model": "tang-lstm",
                  "form": "5x4", "form_name": "五言绝句"}
    errors   422 {"detail": [{"loc": ["body", "num"], "msg": "…"}]}     a field out of its limits
             422 {"detail": "the prefix has characters this model does not know: 𠀀; …"}

Generation is CPU work (a fraction of a second per request with the bundled model, more for
big models and many poems). It runs in Starlette's thread pool, so the event loop keeps
answering other requests meanwhile. There is no lock around it: ``Poet.write`` keeps every
piece of decoding state (hidden states, random generator, form constraint) local to the call
and only reads the model's weights, so concurrent requests run side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rnnlab import __version__
from rnnlab.errors import CheckpointError, ConfigError, DataError
from rnnlab.generate.poems import FORM_NAMES, PoemRequest, is_hanzi, resolve_form
from rnnlab.poet import Poet
from rnnlab.pretrained import DEFAULT_POET, bundled_dir, describe
from rnnlab.serve.couplets import add_couplet_routes

STATIC = Path(__file__).parent / "static"
MAX_PREFIX = 32  # longer than any first line or two; a whole 七言律诗 is 64 characters
MAX_ACROSTIC = 8  # one character per line, and the longest form has 8 lines
PUNCTUATION = "，。"
FormName = Literal["5x4", "7x4", "5x8", "7x8"]


def _listing(chars: list[str]) -> str:
    return ", ".join(repr(c) for c in dict.fromkeys(chars))  # each once, in the order typed


class GenerateRequest(BaseModel):
    """What ``POST /api/poems`` accepts; the limits keep one request small and the messages clear."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prefix": "床前明月光", "num": 2, "seed": 1}]},
    )

    prefix: str = Field(
        "", max_length=MAX_PREFIX, description="the poem's opening, continued by the model (汉字 and ，。)"
    )
    acrostic: str = Field(
        "", max_length=MAX_ACROSTIC, description="藏头诗: line i starts with acrostic[i] (汉字 only)"
    )
    form: FormName | None = Field(
        None, description="5x4 五言绝句, 7x4 七言绝句, 5x8 五言律诗, 7x8 七言律诗; null: from the input"
    )
    rhyme: bool = Field(False, description="even lines end in one rhyme group")
    num: int = Field(1, ge=1, le=10, description="poems to write")
    temperature: float = Field(0.8, ge=0.0, le=2.0, description="0 = greedy; higher = bolder")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="nucleus sampling mass; 1 = off")
    top_k: int = Field(0, ge=0, le=100_000, description="keep the k likeliest characters; 0 = off")
    repetition_penalty: float = Field(1.2, ge=1.0, le=3.0, description="1 = off")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="makes the output repeatable")
    model: str = Field(DEFAULT_POET, max_length=100, description="a name from GET /api/models")

    @field_validator("prefix", "acrostic", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("prefix")
    @classmethod
    def _prefix_chars(cls, value: str) -> str:
        bad = [c for c in value if not (is_hanzi(c) or c in PUNCTUATION)]
        if bad:
            raise PydanticCustomError(
                "poem_text", "may hold Chinese characters and ，。 only, not {bad}", {"bad": _listing(bad)}
            )
        return value

    @field_validator("acrostic")
    @classmethod
    def _acrostic_chars(cls, value: str) -> str:
        bad = [c for c in value if not is_hanzi(c)]
        if bad:
            raise PydanticCustomError(
                "poem_text", "may hold Chinese characters only, not {bad}", {"bad": _listing(bad)}
            )
        return value

    def to_request(self) -> PoemRequest:
        return PoemRequest(
            prefix=self.prefix,
            acrostic=self.acrostic,
            form=self.form,
            rhyme=self.rhyme,
            num=self.num,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            repetition_penalty=self.repetition_penalty,
            seed=self.seed,
        )


class GenerateResponse(BaseModel):
    poems: list[str] = Field(description="each poem's lines joined by newlines")
    model: str
    form: str = Field(description="the form written, e.g. 5x4")
    form_name: str = Field(description="its Chinese name, e.g. 五言绝句")


class ModelInfo(BaseModel):
    name: str
    description: str
    default: bool = Field(description="the model a request without `model` gets")


class PoetRegistry:
    """Model names → run folders (None: the bundled model); each loads on first use, once.

    Descriptions are read up front from each folder's config.json, so a wrong folder fails when the
    app is created rather than at the first request.
    """

    def __init__(self, models: Mapping[str, str | Path | None], device: str = "cpu") -> None:
        self.folders = dict(models)
        self.device = device
        self.descriptions = {name: describe(self._checked(name)) for name in self.folders}
        self._poets: dict[str, Poet] = {}
        self._locks = {name: threading.Lock() for name in self.folders}  # one load per model

    def _checked(self, name: str) -> Path:
        folder = self.folders[name]
        if folder is None:
            return bundled_dir(DEFAULT_POET)
        if not (Path(folder) / "config.json").is_file():
            raise CheckpointError(
                f"model {name!r}: {folder} is not a run folder (no config.json); "
                "give a folder written by `rnnlab train` or `rnnlab bundle`"
            )
        return Path(folder)

    def names(self) -> list[str]:
        return list(self.folders)

    def loaded(self) -> list[str]:
        """The names of the models loaded so far."""
        return list(self._poets)

    def get(self, name: str) -> Poet:
        """The loaded poet ``name`` (KeyError for an unknown name)."""
        with self._locks[name]:
            if name not in self._poets:
                self._poets[name] = Poet.load(self.folders[name], device=self.device)
            return self._poets[name]

    def write(self, name: str, request: PoemRequest) -> list[str]:
        return self.get(name).write(request)


def create_app(
    models: Mapping[str, str | Path | None] | None = None,
    device: str = "cpu",
    couplet_models: Mapping[str, str | Path | None] | None = None,
) -> FastAPI:
    """The app over ``models`` (name → run folder, None for the bundled Tang model).

    The bundled model is always offered, as ``tang-lstm`` (the default for requests that name no
    model); ``models`` may map that name to a run folder of its own instead. ``couplet_models``
    does the same for the 对联 tab (see :mod:`rnnlab.serve.couplets`).
    """
    registry = PoetRegistry({DEFAULT_POET: None, **(models or {})}, device=device)
    app = FastAPI(
        title="rnnlab poet",
        version=__version__,
        description=(
            "Classical Chinese poems from a character-level recurrent language model. "
            "Constrained decoding keeps every poem well-formed: the right number of lines and "
            "characters, with ，and 。in place."
        ),
    )
    app.state.registry = registry

    @app.exception_handler(DataError)
    @app.exception_handler(ConfigError)
    async def _user_error(request: Request, err: Exception) -> JSONResponse:
        # rnnlab's own messages name the problem and the fix; pass them on as they are.
        return JSONResponse(status_code=422, content={"detail": str(err)})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/models", response_model=list[ModelInfo], summary="The models this server offers")
    async def list_models() -> list[ModelInfo]:
        return [
            ModelInfo(name=name, description=registry.descriptions[name], default=name == DEFAULT_POET)
            for name in registry.names()
        ]

    @app.post(
        "/api/poems",
        response_model=GenerateResponse,
        summary="Write poems",
        responses={
            422: {
                "description": "Invalid input: a list of field errors, or one message such as the "
                "characters the model does not know or an unknown model name",
            }
        },
    )
    async def write_poems(body: GenerateRequest) -> GenerateResponse:
        if body.model not in registry.folders:
            raise HTTPException(
                status_code=422, detail=f"unknown model {body.model!r}; options are {registry.names()}"
            )
        request = body.to_request()
        form = resolve_form(request)
        # Off the event loop: the first call also loads the model (a second or two).
        poems = await run_in_threadpool(registry.write, body.model, request)
        return GenerateResponse(
            poems=poems, model=body.model, form=str(form), form_name=FORM_NAMES.get(str(form), str(form))
        )

    add_couplet_routes(app, couplet_models, device=device)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
