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
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from rnnlab.errors import CheckpointError, RnnlabError
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
        admitted = [w for w in taken if w.future.set_running_or_notify_cancel()]  # skip the cancelled
        try:
            self.batch.add_all([w.job for w in admitted])  # prefill: reads the prompts together
        except Exception:  # find the job that cannot be read and fail it alone
            for waiting in admitted:
                if waiting.job in self.batch.jobs:
                    continue
                try:
                    self.batch.add(waiting.job)
                except Exception as err:
                    waiting.future.set_exception(err)
        for waiting in admitted:
            if waiting.future.done():
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


M = TypeVar("M")


class ModelRegistry(Generic[M]):
    """Model names → run folders (None: the bundled model); each model loads on its first request,
    once, and gets its own decoder thread (:class:`BatchWorker`). Subclasses say how a folder is
    found, loaded and stepped; the poem and couplet registries of the web app share the rest.

    Descriptions and engines are read up front from each folder's config.json, so a wrong folder
    fails when the app is created rather than at the first request.
    """

    what = "model"  # in error messages: "model 'x': … is not a run folder"
    written_by = "`rnnlab train` or `rnnlab bundle`"

    def __init__(
        self,
        models: Mapping[str, str | Path | None],
        device: str = "cpu",
        engine: str = "auto",
        max_rows: int = 64,
        max_waiting: int = 256,
    ) -> None:
        from rnnlab.pretrained import describe

        self.folders = dict(models)
        self.device, self.engine = device, engine
        self.max_rows, self.max_waiting = max_rows, max_waiting
        checked = {name: self.folder(name) for name in self.folders}
        self.descriptions = {name: describe(folder) for name, folder in checked.items()}
        self.engines = {name: self.engine_for(folder) for name, folder in checked.items()}
        self._models: dict[str, M] = {}
        self._workers: dict[str, BatchWorker] = {}
        self._locks = {name: threading.Lock() for name in self.folders}  # one load per model

    # What a subclass provides.
    def bundled(self) -> Path:
        raise NotImplementedError

    def engine_for(self, folder: Path) -> str:
        """What will step the model in ``folder`` ("numpy" or "torch"), read without loading it."""
        raise NotImplementedError

    def load(self, folder: str | Path | None) -> M:
        raise NotImplementedError

    def stepper(self, model: M) -> Any:
        raise NotImplementedError

    # Shared.
    def folder(self, name: str) -> Path:
        """The run folder of ``name``, checked to hold a run (CheckpointError naming the fix if not)."""
        folder = self.folders[name]
        if folder is None:
            return self.bundled()
        if not (Path(folder) / "config.json").is_file():
            raise CheckpointError(
                f"{self.what} {name!r}: {folder} is not a run folder (no config.json); "
                f"give a folder written by {self.written_by}"
            )
        return Path(folder)

    def names(self) -> list[str]:
        return list(self.folders)

    def loaded(self) -> list[str]:
        """The names of the models loaded so far."""
        return list(self._models)

    def get(self, name: str) -> M:
        """The loaded model ``name`` (KeyError for an unknown name)."""
        with self._locks[name]:
            if name not in self._models:
                model = self.load(self.folders[name])
                notice = getattr(model, "notice", None)
                if notice:
                    log.warning("%s", notice)
                self._models[name] = model
            return self._models[name]

    def worker(self, name: str) -> BatchWorker:
        """The decoder of model ``name``, started on first use."""
        model = self.get(name)
        with self._locks[name]:
            if name not in self._workers:
                self._workers[name] = BatchWorker(
                    self.stepper(model), self.max_rows, self.max_waiting, name=name
                )
            return self._workers[name]

    def close(self) -> None:
        """Stop every decoder thread (after the jobs it holds)."""
        for worker in self._workers.values():
            worker.close()
