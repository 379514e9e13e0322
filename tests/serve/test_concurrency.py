"""Generation runs off the event loop: a slow request neither blocks others nor waits for them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rnnlab.generate.poems import PoemRequest
from rnnlab.poet import Poet

DELAY = 1.0
Call = tuple[str, str, dict[str, Any]]  # method, URL, httpx keyword arguments


@pytest.fixture
def slow_poet(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Poet.write takes DELAY seconds longer (the model is loaded first, so loading does not count)."""
    app.state.registry.get("tang-lstm")
    write = Poet.write

    def slow_write(self: Poet, request: PoemRequest) -> list[str]:
        time.sleep(DELAY)  # blocking, as real decoding is
        return write(self, request)

    monkeypatch.setattr(Poet, "write", slow_write)


def run_concurrently(app: FastAPI, *calls: Call) -> list[tuple[httpx.Response, float]]:
    """Send call i at 0.1·i s on one event loop; each call's response and when it finished (s from start)."""

    async def scenario() -> list[tuple[httpx.Response, float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rnnlab") as client:
            start = time.perf_counter()

            async def call(i: int, method: str, url: str, kwargs: dict[str, Any]) -> Any:
                await asyncio.sleep(0.1 * i)
                response = await client.request(method, url, **kwargs)
                return response, time.perf_counter() - start

            return list(await asyncio.gather(*(call(i, *c) for i, c in enumerate(calls))))

    return asyncio.run(scenario())


@pytest.mark.usefixtures("slow_poet")
def test_slow_generation_does_not_block_other_requests(app: FastAPI) -> None:
    """GET /api/models, sent 0.1 s after a generation that takes 1 s, answers long before it."""
    body = {"prefix": "床前明月光", "seed": 1}
    (poems, poems_done), (models, models_done) = run_concurrently(
        app, ("POST", "/api/poems", {"json": body}), ("GET", "/api/models", {})
    )
    assert poems.status_code == 200 and models.status_code == 200
    assert poems_done >= DELAY
    assert models_done < DELAY / 2, f"GET /api/models finished at {models_done:.2f} s, behind the generation"


@pytest.mark.usefixtures("slow_poet")
def test_generations_run_side_by_side(app: FastAPI) -> None:
    """No lock around the model: two slow generations overlap instead of queueing."""
    body = {"prefix": "春眠", "seed": 2}
    results = run_concurrently(app, *[("POST", "/api/poems", {"json": body})] * 2)
    assert all(r.status_code == 200 for r, _ in results)
    assert results[0][0].json() == results[1][0].json(), "concurrent calls with one seed agree"
    done = max(t for _, t in results)
    assert done < 1.8 * DELAY, f"two generations took {done:.2f} s: they ran one after the other"
