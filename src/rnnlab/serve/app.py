"""The web app: ``GET /`` (the page), ``GET /api/models``, ``POST /api/poems``; OpenAPI at ``/docs``.

    request  POST /api/poems {"prefix": "床前明月光", "num": 2, "seed": 1}
    response 200 {"poems": ["床前明月光，\\n…。", …], "model": "tang-lstm",
                  "form": "5x4", "form_name": "五言绝句",
                  "metre": null}   with "tone_marks": true: [{"tones": ["平平平仄平", …], …}, …]
    errors   422 {"detail": [{"loc": ["body", "num"], "msg": "…"}]}     a field out of its limits
             422 {"detail": "the prefix has characters this model does not know: 𠀀; …"}
             503 {"detail": "the server is busy: …"}  (with Retry-After) too many requests waiting

A request is checked and laid out on its form in a worker thread, then handed to its model's
:class:`~rnnlab.serve.batching.BatchWorker`, which decodes all requests of that model in one
batch that changes while it runs (continuous batching); the handler only awaits the result, so
the event loop keeps answering other requests. Models load on their first request, with the
NumPy engine wherever it can run them.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rnnlab import __version__
from rnnlab.errors import ConfigError, DataError
from rnnlab.generate.decoding import DecodeJob
from rnnlab.generate.poems import FORM_NAMES, PoemJob, PoemRequest, is_hanzi, resolve_form
from rnnlab.inference.loading import choose_engine
from rnnlab.poet import Poet
from rnnlab.pretrained import DEFAULT_POET, bundled_dir
from rnnlab.serve.batching import ModelRegistry, ServerBusy
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
    rhyme_book: Literal["pingshui", "modern"] | None = Field(
        None, description="平水韵 or 十八韵 for rhyme; null: pingshui for 4 and 8 lines, else modern"
    )
    metre: bool = Field(False, description="regulated verse: legal 平仄 patterns and a Pingshui rhyme")
    tone_marks: bool = Field(
        False, description="also return each poem's 平仄 marks and metre verdict (`metre` in the answer)"
    )
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
            rhyme_book=self.rhyme_book,
            metre=self.metre,
            num=self.num,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            repetition_penalty=self.repetition_penalty,
            seed=self.seed,
        )


class Fault(BaseModel):
    line: int = Field(description="0-based line of the character")
    col: int = Field(description="0-based position in the line")
    char: str
    rule: str = Field(description="the broken rule: 对 粘 二四六 孤平 三平尾 韵")
    detail: str


class MetreInfo(BaseModel):
    """`rnnlab metre`'s verdict on one poem (the Pingshui rhyme book's tones)."""

    tones: list[str] = Field(
        description="one mark per character of each line: 平, 仄, 〇 where either fits, ？ if unknown"
    )
    pattern: str = Field(description="the regulated-verse pattern the poem matches best")
    rhyme_group: str | None = Field(description="the Pingshui rhyme group of the rhyming lines")
    regulated: bool = Field(description="no rule of regulated verse broken")
    violations: list[Fault]


class GenerateResponse(BaseModel):
    poems: list[str] = Field(description="each poem's lines joined by newlines")
    model: str
    form: str = Field(description="the form written, e.g. 5x4")
    form_name: str = Field(description="its Chinese name, e.g. 五言绝句")
    metre: list[MetreInfo | None] | None = Field(
        None,
        description="with `tone_marks`: each poem's tone marks and verdict (as `rnnlab metre`); null "
        "for a poem that is not 4 or 8 lines of 5 or 7 characters",
    )


def metre_info(poem: str) -> MetreInfo | None:
    """The metre check of a generated poem, or None when it has no regulated form to check."""
    from rnnlab.poetics.checker import check_poem

    try:
        report = check_poem(poem)
    except DataError:  # not 绝句 or 律诗 lengths (e.g. a free prefix): nothing to judge
        return None
    data = report.to_dict()
    return MetreInfo(
        tones=data["tones"],  # type: ignore[arg-type]
        pattern=report.pattern.name,
        rhyme_group=report.rhyme_group,
        regulated=report.regulated,
        violations=data["violations"],  # type: ignore[arg-type]
    )


class ModelInfo(BaseModel):
    name: str
    description: str
    default: bool = Field(description="the model a request without `model` gets")
    engine: str = Field(description="what steps the model: numpy or torch")


class PoetRegistry(ModelRegistry[Poet]):
    """The poem models of the app (see :class:`~rnnlab.serve.batching.ModelRegistry`)."""

    def engine_for(self, folder: Path) -> str:
        return choose_engine(folder, self.engine, self.device)[0]

    def bundled(self) -> Path:
        return bundled_dir(DEFAULT_POET)

    def load(self, folder: str | Path | None) -> Poet:
        return Poet.load(folder, device=self.device, engine=self.engine)

    def stepper(self, model: Poet) -> Any:
        return model.model

    def prepare(self, name: str, request: PoemRequest) -> PoemJob:
        """Load the model if needed and check ``request`` against it (ConfigError/DataError if bad)."""
        return self.get(name).prepare(request)

    def ready(self, name: str, request: PoemRequest) -> bool:
        """Whether submitting ``request`` is quick: its model and decoder are up and, for a rhymed
        request, the rhyme table is built (the first one reads pypinyin for every character)."""
        poet = self._models.get(name)
        return name in self._workers and poet is not None and (not request.rhyme or poet.tables.rhymes_ready)

    def submit(self, name: str, request: PoemRequest) -> tuple[PoemJob, Future[DecodeJob]]:
        """Check ``request`` and queue it on the model's decoder; ServerBusy when too many wait."""
        poem_job = self.prepare(name, request)
        return poem_job, self.worker(name).submit(poem_job.job)

    def write(self, name: str, request: PoemRequest) -> list[str]:
        """Write poems through the model's decoder, blocking until they are done."""
        poem_job, future = self.submit(name, request)
        future.result()
        return poem_job.poems()


def create_app(
    models: Mapping[str, str | Path | None] | None = None,
    device: str = "cpu",
    engine: str = "auto",
    max_rows: int = 64,
    max_waiting: int = 256,
    couplet_models: Mapping[str, str | Path | None] | None = None,
) -> FastAPI:
    """The app over ``models`` (name → run folder, None for the bundled Tang model).

    The bundled model is always offered, as ``tang-lstm`` (the default for requests that name no
    model); ``models`` may map that name to a run folder of its own instead. ``engine`` picks what
    steps the models (see :func:`rnnlab.inference.load_lm`); ``max_rows`` bounds the rows a model
    decodes at once and ``max_waiting`` the requests waiting beyond them (more get 503).
    ``couplet_models`` does the same for the 对联 tab (see :mod:`rnnlab.serve.couplets`).
    """
    registry = PoetRegistry(
        {DEFAULT_POET: None, **(models or {})}, device, engine, max_rows=max_rows, max_waiting=max_waiting
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(registry.close)
        await run_in_threadpool(app.state.couplets.close)

    app = FastAPI(
        title="rnnlab poet",
        version=__version__,
        description=(
            "Classical Chinese poems from a character-level recurrent language model. "
            "Constrained decoding keeps every poem well-formed: the right number of lines and "
            "characters, with ，and 。in place."
        ),
        lifespan=lifespan,
    )
    app.state.registry = registry

    @app.exception_handler(DataError)
    @app.exception_handler(ConfigError)
    async def _user_error(request: Request, err: Exception) -> JSONResponse:
        # rnnlab's own messages name the problem and the fix; pass them on as they are.
        return JSONResponse(status_code=422, content={"detail": str(err)})

    @app.exception_handler(ServerBusy)
    async def _busy(request: Request, err: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(err)}, headers={"Retry-After": "1"})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/models", response_model=list[ModelInfo], summary="The models this server offers")
    async def list_models() -> list[ModelInfo]:
        return [
            ModelInfo(
                name=name,
                description=registry.descriptions[name],
                default=name == DEFAULT_POET,
                engine=registry.engines[name],
            )
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
            },
            503: {"description": "Too many requests are waiting; retry after a moment (Retry-After)"},
        },
    )
    async def write_poems(body: GenerateRequest) -> GenerateResponse:
        if body.model not in registry.folders:
            raise HTTPException(
                status_code=422, detail=f"unknown model {body.model!r}; options are {registry.names()}"
            )
        request = body.to_request()
        form = resolve_form(request)
        if registry.ready(body.model, request):  # a fraction of a millisecond: no thread hop
            poem_job, future = registry.submit(body.model, request)
        else:  # off the event loop: loading the model or building the rhyme table takes a while
            poem_job, future = await run_in_threadpool(registry.submit, body.model, request)
        await asyncio.wrap_future(future)  # the decoder thread resolves it when the poems are done
        poems = poem_job.poems()
        return GenerateResponse(
            poems=poems,
            model=body.model,
            form=str(form),
            form_name=FORM_NAMES.get(str(form), str(form)),
            # About 1 ms of Python a poem, which a busy server's event loop notices: on request.
            metre=[metre_info(poem) for poem in poems] if body.tone_marks else None,
        )

    add_couplet_routes(app, couplet_models, device, engine, max_rows=max_rows, max_waiting=max_waiting)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


ENVIRONMENT = "RNNLAB_SERVE"  # create_app's arguments as JSON, for server processes started by uvicorn


def app_from_environment() -> FastAPI:
    """``create_app(**json.loads(os.environ[RNNLAB_SERVE]))``: how each of ``--workers`` processes
    builds its app (uvicorn starts them from an import string, so arguments travel this way)."""
    options: dict[str, Any] = json.loads(os.environ.get(ENVIRONMENT, "{}"))
    return create_app(**options)
