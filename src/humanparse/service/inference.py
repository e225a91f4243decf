"""A bounded inference pool: N worker threads, each with its own backend, fed by a bounded queue.

Why not ``ThreadPoolExecutor``: its queue is unbounded, so a burst of requests would pile up in memory
and every client would wait ever longer. Here a full queue is refused at once (the caller answers
503 + ``Retry-After``), a job whose caller gave up before it started is skipped, and each worker owns
its backend, so backends need not be thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from concurrent.futures import Future
from typing import Callable

from ..backends.base import Backend
from .errors import InferenceTimeoutError, NotReadyError, QueueFullError

log = logging.getLogger("humanparse.service")

Job = Callable[[Backend], object]
"""A unit of work: gets the worker's backend, returns the result (runs in a worker thread)."""

_STOP = object()


class InferencePool:
    """Run jobs on ``workers`` threads with at most ``queue_size`` jobs waiting.

    Args:
        backend_factory: called once per worker at :meth:`start` to load that worker's backend.
            A factory returning the *same* instance each time is allowed: the pool then serialises
            calls on it with a lock, so a non-thread-safe backend stays safe.
        workers: number of worker threads (>= 1).
        queue_size: most jobs waiting for a worker (>= 0; 0 = refuse whenever all workers are busy).
        on_inference: optional callback ``(seconds)`` after each job, for metrics.
    """

    def __init__(self, backend_factory: Callable[[], Backend], workers: int = 1, queue_size: int = 8,
                 on_inference: Callable[[float], None] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, got {queue_size}")
        self.workers = int(workers)
        self.queue_size = int(queue_size)
        self._factory = backend_factory
        self._on_inference = on_inference
        # A slot is taken while a job waits *or* runs; queue capacity itself is unbounded to let the
        # stop sentinels in, the semaphore does the bounding.
        self._slots = threading.BoundedSemaphore(self.workers + self.queue_size)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self.backends: list[Backend] = []
        self._busy = 0
        self._waiting = 0
        self._lock = threading.Lock()
        self._avg_seconds = 1.0
        self.started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load one backend per worker and start the threads. Errors of the factory propagate."""
        if self.started:
            return
        shared_locks: dict[int, threading.Lock] = {}
        for i in range(self.workers):
            backend = self._factory()
            self.backends.append(backend)
            lock = shared_locks.setdefault(id(backend), threading.Lock())
            t = threading.Thread(target=self._run, args=(backend, lock), name=f"humanparse-worker-{i}", daemon=True)
            self._threads.append(t)
        for t in self._threads:
            t.start()
        self.started = True

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse new jobs, let the workers finish the jobs already queued, stop them and close the backends."""
        if not self.started:
            return
        self.started = False
        for _ in self._threads:
            self._queue.put(_STOP)
        for t in self._threads:
            t.join(timeout)
        closed: set[int] = set()
        for b in self.backends:
            if id(b) not in closed:
                closed.add(id(b))
                try:
                    b.close()
                except Exception:  # noqa: BLE001 - closing must not mask shutdown
                    log.exception("closing backend failed")
        self._threads.clear()
        self.backends.clear()

    # ------------------------------------------------------------------ state
    @property
    def queue_depth(self) -> int:
        """Jobs waiting for a worker."""
        return self._waiting

    @property
    def busy(self) -> int:
        """Jobs running now."""
        return self._busy

    def retry_after(self) -> int:
        """Suggested seconds before retrying a refused request: time to drain the queue, 1..60."""
        est = self._avg_seconds * (self.queue_size + self.workers) / self.workers
        return int(min(60, max(1, math.ceil(est))))

    # ------------------------------------------------------------------ work
    def submit(self, job: Job) -> Future:
        """Queue ``job``; returns a Future of its result.

        Raises:
            NotReadyError: the pool is not started.
            QueueFullError: ``workers + queue_size`` jobs are already waiting or running.
        """
        if not self.started:
            raise NotReadyError("the model is not loaded")
        if not self._slots.acquire(blocking=False):
            raise QueueFullError(
                f"server busy: {self.workers} worker(s) busy and {self.queue_size} request(s) queued; retry later",
                headers={"Retry-After": str(self.retry_after())})
        fut: Future = Future()
        with self._lock:
            self._waiting += 1
        self._queue.put((fut, job))
        return fut

    async def run(self, job: Job, timeout: float | None) -> object:
        """Submit ``job`` and await its result for at most ``timeout`` seconds (queue wait included).

        Raises:
            QueueFullError, NotReadyError: see :meth:`submit`.
            InferenceTimeoutError: not done in time. A job still waiting is dropped; one already running
                finishes in its thread (Python threads cannot be killed) and its result is discarded.
            Whatever ``job`` raises.
        """
        fut = self.submit(job)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            fut.cancel()
            raise InferenceTimeoutError(f"request took longer than the {timeout:g} s limit") from None

    def _run(self, backend: Backend, lock: threading.Lock) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fut, job = item
            with self._lock:
                self._waiting -= 1
            try:
                if not fut.set_running_or_notify_cancel():
                    continue  # caller timed out while the job waited
                with self._lock:
                    self._busy += 1
                t0 = time.perf_counter()
                try:
                    with lock:
                        result = job(backend)
                except BaseException as e:  # noqa: BLE001 - handed to the awaiting request
                    fut.set_exception(e)
                else:
                    fut.set_result(result)
                finally:
                    dt = time.perf_counter() - t0
                    self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * dt
                    with self._lock:
                        self._busy -= 1
                    if self._on_inference is not None:
                        self._on_inference(dt)
            finally:
                self._slots.release()
