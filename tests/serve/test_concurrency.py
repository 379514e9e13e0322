"""Continuous batching in the app, driven by events (never by timing): a gate holds the decoder inside
a step until the test opens it, so each scenario happens in a known order on any machine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from rnnlab.generate.poems import PoemRequest
from rnnlab.poet import Poet
from rnnlab.serve import BatchWorker, create_app

WAIT = 60.0  # seconds before a missing event fails the test (an event, not a pace)


class GatedStepper:
    """Wraps a stepper: every step announces itself and then waits for a permit from the test."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.arrived = threading.Semaphore(0)  # released when a step begins
        self.permits = threading.Semaphore(0)
        self.rows: list[int] = []  # rows of each step, in order

    def prefill(self, ids: np.ndarray, state: Any) -> Any:
        return self.inner.prefill(ids, state)

    def step(self, ids: np.ndarray, state: Any) -> Any:
        self.rows.append(len(ids))
        self.arrived.release()
        if not self.permits.acquire(timeout=WAIT):
            raise TimeoutError("the test never let this step go on")
        return self.inner.step(ids, state)

    def select(self, state: Any, rows: np.ndarray) -> Any:
        return self.inner.select(state, rows)

    def concat(self, states: Sequence[Any]) -> Any:
        return self.inner.concat(states)

    def open(self) -> None:
        """Let every step from now on go on without waiting."""
        self.permits.release(10**6)


@pytest.fixture
def gated() -> Iterator[tuple[FastAPI, GatedStepper]]:
    """A fresh app whose model is gated (max one waiting request beyond a batch of 8 rows)."""
    app = create_app(max_rows=8, max_waiting=1)
    poet = app.state.registry.get("tang-lstm")
    gate = GatedStepper(poet.model)
    poet.model = gate  # the decoder thread starts with the first request, on the gated model
    yield app, gate
    gate.open()
    app.state.registry.close()


def run(app: FastAPI, scenario: Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]]) -> Any:
    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rnnlab", timeout=WAIT) as client:
            return await scenario(client)

    return asyncio.run(main())


async def until(worker_of: Callable[[], BatchWorker], predicate: Callable[[BatchWorker], bool]) -> None:
    """Wait, without polling, until ``predicate(worker)`` holds (checked whenever the worker changes)."""

    def wait() -> None:
        worker = worker_of()
        with worker.changed:
            assert worker.changed.wait_for(lambda: predicate(worker), timeout=WAIT)

    await asyncio.to_thread(wait)


async def arrived(gate: GatedStepper) -> None:
    assert await asyncio.to_thread(gate.arrived.acquire, timeout=WAIT), "the decoder never reached a step"


def body(seed: int, **fields: Any) -> dict[str, Any]:
    return {"prefix": "床前明月光", "seed": seed, **fields}


def test_a_generation_in_progress_does_not_block_other_requests(gated: tuple[FastAPI, GatedStepper]) -> None:
    """While the decoder is held inside a step, GET /api/models is answered and the poem is not."""
    app, gate = gated

    async def scenario(client: httpx.AsyncClient) -> None:
        poem = asyncio.create_task(client.post("/api/poems", json=body(1)))
        await arrived(gate)
        models = await client.get("/api/models")
        assert models.status_code == 200 and not poem.done()
        gate.open()
        assert (await poem).status_code == 200

    run(app, scenario)


def test_requests_arriving_during_a_batch_join_it_at_the_next_step(
    gated: tuple[FastAPI, GatedStepper],
) -> None:
    """A request sent while another decodes is stepped together with it from the next step on, and
    both answers equal the same requests answered alone."""
    app, gate = gated
    registry = app.state.registry
    first, second = body(1, num=2), body(2, temperature=1.1, form="5x8")

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        one = asyncio.create_task(client.post("/api/poems", json=first))
        await arrived(gate)  # the first request's rows are inside their first step
        two = asyncio.create_task(client.post("/api/poems", json=second))
        await until(lambda: registry.worker("tang-lstm"), lambda w: w.waiting() == 1)
        gate.open()
        return [await one, await two]

    answers = run(app, scenario)
    assert gate.rows[0] == 2 and 3 in gate.rows, gate.rows  # 2 rows alone, then 2 + 1 together
    poet: Poet = registry.get("tang-lstm")
    poet.model = gate.inner
    for response, sent in zip(answers, (first, second), strict=True):
        assert response.status_code == 200
        assert response.json()["poems"] == poet.write(PoemRequest(**sent))


def test_batched_answers_equal_the_same_requests_answered_alone(gated: tuple[FastAPI, GatedStepper]) -> None:
    """Six different requests (seeds, temperatures, top-p, forms, acrostic, rhyme, several poems)
    decoded in one batch give exactly what each gives alone with the same seed."""
    app, gate = gated
    app.state.registry.max_waiting = 10
    requests = [
        body(3),
        body(4, temperature=0.3, top_p=0.5),
        {"acrostic": "深度学习", "seed": 5, "rhyme": True},
        {"prefix": "春眠", "form": "7x4", "seed": 6, "num": 2, "top_k": 20},
        body(7, temperature=0.0),
        {"prefix": "白日依山尽", "form": "5x8", "seed": 8, "repetition_penalty": 1.0},
    ]

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        first = asyncio.create_task(client.post("/api/poems", json=requests[0]))
        await arrived(gate)
        rest = [asyncio.create_task(client.post("/api/poems", json=r)) for r in requests[1:]]
        await until(lambda: app.state.registry.worker("tang-lstm"), lambda w: w.waiting() == len(rest))
        gate.open()
        return [await first, *[await r for r in rest]]

    answers = run(app, scenario)
    assert max(gate.rows) == 7, gate.rows  # all seven rows decoded together
    poet: Poet = app.state.registry.get("tang-lstm")
    poet.model = gate.inner
    for response, sent in zip(answers, requests, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["poems"] == poet.write(PoemRequest(**sent)), sent


def test_a_full_queue_is_answered_503_with_a_clear_message(gated: tuple[FastAPI, GatedStepper]) -> None:
    """With one request decoding and one waiting (the limit), the next gets 503 and Retry-After at
    once; the first two are answered normally afterwards."""
    app, gate = gated
    registry = app.state.registry

    async def scenario(client: httpx.AsyncClient) -> None:
        one = asyncio.create_task(client.post("/api/poems", json=body(1, num=8)))  # fills the 8 rows
        await arrived(gate)
        two = asyncio.create_task(client.post("/api/poems", json=body(2)))
        await until(lambda: registry.worker("tang-lstm"), lambda w: w.waiting() == 1)
        refused = await client.post("/api/poems", json=body(3))
        assert refused.status_code == 503
        assert "busy" in refused.json()["detail"] and "again" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "1"
        gate.open()
        assert (await one).status_code == 200 and (await two).status_code == 200

    run(app, scenario)


class Broken:
    """A stepper whose steps fail (after a normal prefill)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def prefill(self, ids: np.ndarray, state: Any) -> Any:
        return self.inner.prefill(ids, state)

    def step(self, ids: np.ndarray, state: Any) -> Any:
        raise RuntimeError("the model broke")

    def select(self, state: Any, rows: np.ndarray) -> Any:
        return self.inner.select(state, rows)

    def concat(self, states: Sequence[Any]) -> Any:
        return self.inner.concat(states)


def test_a_failing_model_fails_its_requests_not_the_decoder() -> None:
    """A step that raises fails the jobs decoding in it; the decoder thread serves the next job."""
    poet = Poet.load()
    broken = BatchWorker(Broken(poet.model), name="broken")
    failed = broken.submit(poet.prepare(PoemRequest(prefix="床前明月光", seed=1)).job)
    with pytest.raises(RuntimeError, match="broke"):
        failed.result(timeout=WAIT)
    empty = poet.prepare(PoemRequest(prefix="床前明月光，疑是地上霜。举头望明月，低头思故乡。")).job
    assert broken.submit(empty).result(timeout=WAIT).outputs() == [[]]  # a whole poem as prefix: done
    broken.close()
