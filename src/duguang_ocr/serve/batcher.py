"""Dynamic batching: many requests' lines, one model worker thread.

Why one thread: the model already uses every core through torch's intra-op threads, so two
model calls at once would only fight over them; what pays is feeding one call many lines
(passes of lines of similar width, see :func:`duguang_ocr.chunking.plan_passes`). Requests
from the event loop append a :class:`Job` to a bounded FIFO; the worker takes the oldest
jobs until it has ``max_batch`` lines, or until the oldest has waited ``max_wait`` seconds,
runs them through ``Recognizer.recognize`` (one call per distinct option set) and hands each
job exactly the slice of results that belongs to its own lines.

The model is loaded in the worker thread too, so the server answers ``/healthz`` (and
``/readyz`` with 503) while a large checkpoint loads.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("duguang_ocr.serve")


class QueueFull(Exception):
    """The job does not fit in the queue; ``retry_after`` estimates when it would (s)."""

    def __init__(self, retry_after: int):
        super().__init__(f"queue full, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(eq=False)
class Job:
    """One request's images and options, and the future its handler awaits."""

    images: list
    kwargs: dict[str, Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.monotonic)
    cancelled: bool = False  # set by the handler (timeout, disconnect): skip if not started

    @property
    def key(self) -> tuple:
        """Jobs with equal keys can share one ``recognize`` call."""
        return tuple(sorted((k, _hashable(v)) for k, v in self.kwargs.items()))


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


class Batcher:
    """The queue and the model worker thread.

    Args:
        load: builds the Recognizer (called once, in the worker thread).
        max_batch: lines per ``recognize`` call (a single larger job still runs whole: it
            was admitted, and the recognizer splits every call into forward passes of its
            own ``batch_size``).
        max_wait: seconds the oldest job waits for company before its batch starts.
        capacity: lines allowed to wait; :meth:`submit` raises :class:`QueueFull` beyond.
        metrics: a :class:`~duguang_ocr.serve.metrics.Metrics` (or None).
    """

    def __init__(self, load: Callable[[], Any], *, max_batch: int, max_wait: float,
                 capacity: int, metrics: Any = None):
        self._load, self.max_batch, self.max_wait = load, max_batch, max_wait
        self.capacity, self.metrics = capacity, metrics
        self._jobs: deque[Job] = deque()
        self._queued_lines = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._seconds_per_line = 0.01  # running estimate, for Retry-After
        self.recognizer: Any = None
        self.load_error: str | None = None
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="duguang-serve-model",
                                        daemon=True)

    # ------------------------------------------------------------------ event-loop side
    def start(self) -> None:
        self._thread.start()

    @property
    def queued_lines(self) -> int:
        return self._queued_lines

    def submit(self, images: list, kwargs: dict[str, Any]) -> Job:
        """Queue ``images`` (called from the event loop); await ``job.future`` for results.

        Raises:
            QueueFull: fewer than ``len(images)`` lines of room.
        """
        loop = asyncio.get_running_loop()
        job = Job(images, kwargs, loop.create_future(), loop)
        with self._cond:
            if self._queued_lines + len(images) > self.capacity:
                wait = (self._queued_lines + len(images)) * self._seconds_per_line
                raise QueueFull(max(1, math.ceil(wait)))
            self._jobs.append(job)
            self._queued_lines += len(images)
            self._gauge()
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> None:
        """Drop ``job`` if the worker has not taken it yet (its client is gone)."""
        with self._cond:
            if not job.cancelled and job in self._jobs:
                self._jobs.remove(job)
                self._queued_lines -= len(job.images)
                self._gauge()
                if self.metrics:
                    self.metrics.cancelled.inc()
            job.cancelled = True

    def stop(self, timeout: float | None = None) -> None:
        """Let the worker finish what is queued, then end it."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --------------------------------------------------------------------- worker side
    def _main(self) -> None:
        try:
            self.recognizer = self._load()
        except Exception as e:  # reported by /readyz; requests get 503
            log.exception("loading the model failed")
            self.load_error = f"{type(e).__name__}: {e}"
            self._fail_all(RuntimeError(f"model failed to load: {self.load_error}"))
            return
        self.ready.set()
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._run(batch)

    def _next_batch(self) -> list[Job] | None:
        """Wait for jobs, then take up to ``max_batch`` lines of them (None: stopping)."""
        with self._cond:
            while not self._jobs:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = self._jobs[0].enqueued + self.max_wait
            while self._queued_lines < self.max_batch and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0 or not self._jobs:
                    break
                self._cond.wait(left)
            batch: list[Job] = []
            lines = 0
            while self._jobs and (not batch or lines + len(self._jobs[0].images)
                                  <= self.max_batch):
                job = self._jobs.popleft()
                self._queued_lines -= len(job.images)
                batch.append(job)
                lines += len(job.images)
            self._gauge()
            return batch

    def _run(self, batch: list[Job]) -> None:
        groups: dict[tuple, list[Job]] = {}
        for job in batch:
            groups.setdefault(job.key, []).append(job)
        for jobs in groups.values():
            images = [img for job in jobs for img in job.images]
            start = time.perf_counter()
            try:
                results = self.recognizer.recognize(images, errors="skip", **jobs[0].kwargs)
            except Exception as e:  # a bug or out of memory: fail these jobs, keep serving
                log.exception("recognize failed on a batch of %d lines", len(images))
                for job in jobs:
                    _deliver(job, exc=RuntimeError(f"{type(e).__name__}: {e}"))
                continue
            elapsed = time.perf_counter() - start
            self._seconds_per_line = 0.8 * self._seconds_per_line + 0.2 * elapsed / len(images)
            if self.metrics:
                self.metrics.observe_batch(len(images), elapsed)
            offset = 0
            for job in jobs:
                n = len(job.images)
                _deliver(job, results=results[offset : offset + n])
                offset += n

    def _fail_all(self, exc: Exception) -> None:
        with self._cond:
            jobs, self._jobs = list(self._jobs), deque()
            self._queued_lines = 0
        for job in jobs:
            _deliver(job, exc=exc)

    def _gauge(self) -> None:
        if self.metrics:
            self.metrics.queue_depth.set(self._queued_lines)


def _deliver(job: Job, results: list | None = None, exc: Exception | None = None) -> None:
    """Complete ``job.future`` from the worker thread (no-op when the handler gave up)."""

    def done() -> None:
        if job.future.done() or job.cancelled:
            return
        if exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(results)

    try:
        job.loop.call_soon_threadsafe(done)
    except RuntimeError:  # the loop is closed: the server is gone
        pass
