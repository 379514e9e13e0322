"""Continuous batching for the web app: one decoding loop per model; requests join between steps.

    request ─ checked, laid out ─▶ waiting (bounded) ─▶ decoder thread: one DecodeBatch
                                                          ┌─ admit waiting jobs (prefill, concat)
                                                          ├─ one step for every row
                                                          └─ finished jobs → their futures

Decoding one token for 32 rows costs far less than 32 single-row steps (the weights are read
once per step, the products are matrix–matrix), so a server that decodes every request in its
own thread wastes most of the CPU: requests arriving while a batch runs join it at the next step
and leave when their poem is done (Orca's iteration-level scheduling, Yu et al. 2022). Each row
keeps its own constraints, temperature, top-k/top-p and random generator
(:class:`rnnlab.generate.DecodeBatch`), so an answer does not depend on the requests it was
batched with.

The decoder runs in its own thread; the event loop only waits on futures, so it keeps serving
other requests. At most ``max_rows`` rows decode together (more wait for rows to leave); at most
``max_waiting`` requests wait beyond them, and :meth:`BatchWorker.submit` refuses the next with
:class:`ServerBusy`, which the app answers with 503.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from rnnlab.errors import RnnlabError
from rnnlab.generate.decoding import DecodeBatch, DecodeJob

log = logging.getLogger("rnnlab.serve")


class ServerBusy(RnnlabError):
    """Too many requests are waiting already; the client should retry shortly."""


@dataclass
class _Waiting:
    job: DecodeJob
    future: Future[DecodeJob]


class BatchWorker:
    """Decodes every submitted job of one model in one continuously changing batch (its own thread)."""

    def __init__(self, model: Any, max_rows: int = 64, max_waiting: int = 256, name: str = "model") -> None:
        if max_rows < 1 or max_waiting < 0:
            raise ValueError(f"max_rows must be ≥ 1 and max_waiting ≥ 0, got {max_rows}, {max_waiting}")
        self.batch = DecodeBatch(model)
        self.max_rows, self.max_waiting = max_rows, max_waiting
        self.changed = threading.Condition()  # notified whenever waiting jobs, rows or steps change
        self.steps = 0  # decoding steps taken so far
        self._waiting: deque[_Waiting] = deque()
        self._running: dict[DecodeJob, Future[DecodeJob]] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"rnnlab-decoder-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ called from request handlers

    def submit(self, job: DecodeJob) -> Future[DecodeJob]:
        """Queue ``job``; the future resolves to the job once its rows are done (or to its error).

        Raises :class:`ServerBusy` when ``max_waiting`` jobs are waiting already.
        """
        future: Future[DecodeJob] = Future()
        with self.changed:
            if self._closed:
                raise ServerBusy("the server is shutting down; send the request again in a moment")
            if len(self._waiting) >= self.max_waiting:
                raise ServerBusy(
                    f"the server is busy: {len(self._waiting)} requests are already waiting (the limit is "
                    f"{self.max_waiting}); send the request again in a moment"
                )
            self._waiting.append(_Waiting(job, future))
            self.changed.notify_all()
        return future

    def waiting(self) -> int:
        """Jobs submitted but not yet decoding."""
        with self.changed:
            return len(self._waiting)

    def rows(self) -> int:
        """Rows decoding now."""
        with self.changed:
            return len(self.batch)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the jobs already submitted, then stop the thread."""
        with self.changed:
            self._closed = True
            self.changed.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the decoder thread

    def _loop(self) -> None:
        while self._admit():
            try:
                finished = self.batch.step()
            except Exception as err:  # a broken model fails every job decoding with it, not the server
                log.exception("decoding step failed")
                self._fail_running(err)
                continue
            for job in finished:
                self._running.pop(job).set_result(job)
            with self.changed:
                self.steps += 1
                self.changed.notify_all()

    def _admit(self) -> bool:
        """Move waiting jobs into the batch while rows allow; wait while there is nothing to do.

        Returns False when closed and idle (the thread ends).
        """
        with self.changed:
            while not self._waiting and not len(self.batch):
                if self._closed:
                    return False
                self.changed.wait()
            taken, rows = [], len(self.batch)
            while self._waiting and (
                rows == 0 or rows + self._waiting[0].job.config.num_samples <= self.max_rows
            ):
                waiting = self._waiting.popleft()
                taken.append(waiting)
                rows += waiting.job.config.num_samples
        for waiting in taken:
            if not waiting.future.set_running_or_notify_cancel():
                continue  # the client went away before its turn
            try:
                self.batch.add(waiting.job)  # prefill: reads the job's context
            except Exception as err:
                waiting.future.set_exception(err)
                continue
            if waiting.job.done:
                waiting.future.set_result(waiting.job)  # nothing to generate
            else:
                self._running[waiting.job] = waiting.future
        with self.changed:
            self.changed.notify_all()
        return True

    def _fail_running(self, err: Exception) -> None:
        for future in self._running.values():
            future.set_exception(err)
        self._running.clear()
        self.batch = DecodeBatch(self.batch.stepper)
