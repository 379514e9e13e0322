"""The couplet part of the web app: ``POST /api/couplets`` and ``GET /api/couplets/models``.

    request  POST /api/couplets {"upper": "海内存知己", "num": 2, "seed": 1}
    response 200 {"upper": "海内存知己", "lowers": ["天涯若比邻", …], "model": "couplet-gru"}
    errors   422 {"detail": [{"loc": ["body", "num"], "msg": "…"}]}     a field out of its limits
             422 {"detail": "the upper line has characters this model does not know: 𠀀; …"}

The limits and errors follow ``POST /api/poems``: pydantic checks each field's range and the
characters allowed, rnnlab's own checks (unknown characters, the model's vocabulary) answer 422
with their message, a full queue 503. Sampling requests join the model's continuous batch (see
:mod:`rnnlab.serve.batching`): each clause of the upper line is one job whose state is its encoded
source, so requests of different lengths decode together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from rnnlab.couplet import (
    DEFAULT_COUPLET,
    CoupletWriter,
    PreparedCouplets,
    bundled_couplet_dir,
    choose_couplet_engine,
    read_run_config,
)
from rnnlab.generate.couplets import MARKS, MAX_CHARS, CoupletRequest
from rnnlab.generate.decoding import DecodeJob
from rnnlab.generate.poems import is_hanzi
from rnnlab.serve.batching import ModelRegistry


class CoupletBody(BaseModel):
    """What ``POST /api/couplets`` accepts."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"upper": "海内存知己", "num": 2, "seed": 1}]}
    )

    upper: str = Field(
        ...,
        min_length=1,
        max_length=MAX_CHARS,
        description=f"the upper line (上联): 汉字 and the marks {MARKS}",
    )
    num: int = Field(1, ge=1, le=10, description="lower lines to write")
    beam: int = Field(0, ge=0, le=10, description="beam width; 0 = sample")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="sampling: 0 = greedy; higher = bolder")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="nucleus sampling mass; 1 = off")
    top_k: int = Field(0, ge=0, le=100_000, description="keep the k likeliest characters; 0 = off")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="makes the output repeatable")
    no_repeat: bool = Field(True, description="no character of the upper line at the same position")
    level_ending: bool = Field(False, description="the last character level-toned (平)")
    mirror: bool = Field(True, description="repeat characters exactly where the upper line does")
    model: str = Field(DEFAULT_COUPLET, max_length=100, description="a name from GET /api/couplets/models")

    @field_validator("upper", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("upper")
    @classmethod
    def _chars(cls, value: str) -> str:
        bad = list(dict.fromkeys(c for c in value if not (is_hanzi(c) or c in MARKS)))
        if bad:
            raise PydanticCustomError(
                "couplet_text",
                "may hold Chinese characters and {marks} only, not {bad}",
                {"marks": MARKS, "bad": ", ".join(repr(c) for c in bad)},
            )
        return value

    def to_request(self) -> CoupletRequest:
        return CoupletRequest(
            upper=self.upper,
            num=self.num,
            beam=self.beam,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            seed=self.seed,
            no_repeat=self.no_repeat,
            level_ending=self.level_ending,
            mirror=self.mirror,
        )


class CoupletResponse(BaseModel):
    upper: str = Field(description="the upper line as answered (spaces and a closing mark removed)")
    lowers: list[str] = Field(description="the lower lines, best first for beam search")
    model: str


class CoupletModelInfo(BaseModel):
    name: str
    description: str
    default: bool = Field(description="the model a request without `model` gets")
    engine: str = Field(description="what steps the model: numpy or torch")


class CoupletRegistry(ModelRegistry[CoupletWriter]):
    """The couplet models of the app (see :class:`~rnnlab.serve.batching.ModelRegistry`).

    Sampling requests are queued on the model's :class:`~rnnlab.serve.batching.BatchWorker`, one
    job per clause, and decode in its continuous batch beside every other request of that model;
    beam-search requests are searched in the request's own worker thread (a beam is a few rows).
    """

    what = "couplet model"
    written_by = "`rnnlab seq2seq train` or `rnnlab bundle`"

    def engine_for(self, folder: Path) -> str:
        return choose_couplet_engine(folder, read_run_config(folder), self.engine, self.device)[0]

    def bundled(self) -> Path:
        return bundled_couplet_dir()

    def load(self, folder: str | Path | None) -> CoupletWriter:
        return CoupletWriter.load(folder, device=self.device, engine=self.engine)

    def stepper(self, model: CoupletWriter) -> Any:
        return model.stepper

    def submit(self, name: str, request: CoupletRequest) -> tuple[PreparedCouplets, list[Future[DecodeJob]]]:
        """Check the request and queue its clauses' jobs (sampling); ServerBusy when too many wait."""
        prepared = self.get(name).prepare([request.upper], request)
        worker = self.worker(name)
        return prepared, [worker.submit(job) for job in prepared.jobs]

    def answer(self, name: str, request: CoupletRequest) -> tuple[str, list[str]]:
        """The upper line as answered and its lower lines, blocking (beam search, and tests)."""
        if request.beam:
            writer = self.get(name)
            prepared = writer.prepare([request.upper], request)
            return prepared.uppers[0], writer.write(request)
        prepared, futures = self.submit(name, request)
        for future in futures:
            future.result()
        return prepared.uppers[0], prepared.lines(prepared.answers())[0]


def add_couplet_routes(
    app: FastAPI,
    models: Mapping[str, str | Path | None] | None = None,
    device: str = "cpu",
    engine: str = "auto",
    *,
    max_rows: int = 64,
    max_waiting: int = 256,
) -> None:
    """Add the couplet endpoints to ``app``, over the bundled couplet model and ``models``."""
    registry = CoupletRegistry(
        {DEFAULT_COUPLET: None, **(models or {})}, device, engine, max_rows, max_waiting
    )
    app.state.couplets = registry

    @app.get(
        "/api/couplets/models",
        response_model=list[CoupletModelInfo],
        summary="The couplet models this server offers",
    )
    async def list_couplet_models() -> list[CoupletModelInfo]:
        return [
            CoupletModelInfo(
                name=name,
                description=registry.descriptions[name],
                default=name == DEFAULT_COUPLET,
                engine=registry.engines[name],
            )
            for name in registry.folders
        ]

    @app.post(
        "/api/couplets",
        response_model=CoupletResponse,
        summary="Answer an upper line with lower lines (对联)",
        responses={
            422: {"description": "Invalid input: field errors, or one message such as unknown characters"},
            503: {"description": "Too many requests are waiting; retry after a moment (Retry-After)"},
        },
    )
    async def write_couplets(body: CoupletBody) -> CoupletResponse:
        if body.model not in registry.folders:
            raise HTTPException(
                status_code=422,
                detail=f"unknown couplet model {body.model!r}; options are {list(registry.folders)}",
            )
        request = body.to_request()
        if request.beam:
            upper, lowers = await run_in_threadpool(registry.answer, body.model, request)
            return CoupletResponse(upper=upper, lowers=lowers, model=body.model)
        # Off the event loop: encoding the upper line (and, the first time, loading the model).
        prepared, futures = await run_in_threadpool(registry.submit, body.model, request)
        for future in futures:
            await asyncio.wrap_future(future)  # the model's decoder thread resolves them
        return CoupletResponse(
            upper=prepared.uppers[0], lowers=prepared.lines(prepared.answers())[0], model=body.model
        )
