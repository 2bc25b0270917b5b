"""The bounded work queue between the routes and the batch executor.

Work is submitted to the executor :mod:`mixdown.batch.runner` uses (a local process pool of ``--workers``
processes with warm kernels, or a Dask cluster with ``--scheduler``), so a slow render never blocks the
server and N renders run on N cores. At most ``max_pending`` pieces of work wait or run at once; past that
a request is refused (429) rather than queued without end.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from typing import Any

from mixdown.batch.executors import dask_executor, local_executor
from mixdown.server.errors import ApiError

log = logging.getLogger("mixdown.server")


class WorkQueue:
    def __init__(self, workers: int, scheduler: str | None, max_pending: int) -> None:
        self._stack = ExitStack()
        self.executor: Executor
        if scheduler:
            self.executor, self.workers = dask_executor(scheduler, self._stack)
        else:
            self.executor, self.workers = local_executor(workers), workers
        self.max_pending = max_pending
        # Results are recorded on a thread of their own: a done-callback runs on the executor's manager
        # thread, which also feeds the workers, and must hand off at once.
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix="mixdown-record")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, fn: Callable[..., dict], *args: Any, done: Callable[[dict], None] | None = None,
               bounded: bool = True) -> Future:
        """Queue ``fn(*args)``; ``done`` gets its result dict (or a failure dict) in a background thread.

        ``bounded`` work takes one of the ``max_pending`` places (a client's request); the server's own
        background work (a sample's tempo) does not, and is never refused."""
        if bounded and not self._slots.acquire(blocking=False):
            raise ApiError(429, f"{self.max_pending} pieces of work are already queued; try again later",
                           headers={"Retry-After": "1"})
        with self._lock:
            self._pending += 1
        try:
            future = self._submit(fn, *args)
        except BaseException:
            self._release(bounded)
            raise
        future.add_done_callback(lambda f: self._finished(f, done, bounded))
        return future

    def _submit(self, fn: Callable[..., dict], *args: Any) -> Future:
        """Submit to the pool; a local pool broken by a worker's death (killed, out of memory) is replaced
        once: the work it was running has failed (and says so), the server goes on."""
        try:
            return self.executor.submit(fn, *args)
        except BrokenProcessPool:
            with self._lock:
                if isinstance(self.executor, ProcessPoolExecutor) and getattr(self.executor, "_broken", False):
                    log.warning("a render worker died; starting a new pool of %d", self.workers)
                    self.executor.shutdown(wait=False, cancel_futures=True)
                    self.executor = local_executor(self.workers)
            return self.executor.submit(fn, *args)

    def _release(self, bounded: bool) -> None:
        with self._lock:
            self._pending -= 1
        if bounded:
            self._slots.release()

    def _finished(self, future: Future, done: Callable[[dict], None] | None, bounded: bool) -> None:
        self._release(bounded)
        if done is not None:
            self._recorder.submit(self._record, future, done)

    @staticmethod
    def _record(future: Future, done: Callable[[dict], None]) -> None:
        try:
            result = future.result()
        except BaseException as error:  # the worker died (killed, out of memory): the work failed, not lost
            result = {"ok": False, "status": 500, "message": f"the worker stopped: {type(error).__name__}: {error}"}
        try:
            done(result)
        except Exception:
            log.exception("recording a finished piece of work failed")

    async def run(self, fn: Callable[..., dict], *args: Any) -> dict:
        """Queue ``fn(*args)`` and wait for its result without blocking the event loop."""
        future = self.submit(fn, *args)
        try:
            return await asyncio.wrap_future(future)
        except Exception as error:
            return {"ok": False, "status": 500, "message": f"the worker stopped: {type(error).__name__}: {error}"}

    def close(self) -> None:
        """Stop at once: queued work is dropped and running work stopped; the state store still says
        ``processing`` for it, and the next start resumes it."""
        self._recorder.shutdown(wait=False, cancel_futures=True)
        if isinstance(self.executor, ProcessPoolExecutor):
            processes = list((getattr(self.executor, "_processes", None) or {}).values())
            self.executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)
        self._stack.close()
