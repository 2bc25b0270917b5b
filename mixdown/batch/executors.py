"""The executors work runs on, for ``mixdown batch`` and ``mixdown serve`` alike.

A local pool of spawned processes, each with the compiled kernels loaded before its first job, or a Dask
cluster's ``Client.get_executor()`` whose workers are warmed the same way. Both take plain functions of
plain data (:mod:`mixdown.batch.kinds`, :mod:`mixdown.server.work`) through the ``concurrent.futures``
interface.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack

from mixdown.batch.kinds import warm_up
from mixdown.errors import InvalidInputError


def _worker_start() -> None:
    """A local worker leaves Ctrl-C to its parent (the batch records what finished and cancels the rest; the
    server stops its workers itself), and loads the kernels before its first job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()


def local_executor(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (spawn: a forked copy of a server's threads and sockets is
    unsafe), warmed before their first job."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start)


def dask_executor(address: str, stack: ExitStack) -> tuple[Executor, int]:
    """An executor of the Dask cluster at ``address`` (its client closed with ``stack``), with its workers
    warmed, and how many jobs it runs at once (the workers' threads)."""
    try:
        from distributed import Client
    except ImportError:
        raise InvalidInputError("--scheduler needs Dask's distributed package (pip install distributed)",
                                field="--scheduler") from None
    client = stack.enter_context(Client(address))
    client.run(warm_up)
    workers = sum(info.get("nthreads", 1) for info in client.scheduler_info()["workers"].values())
    return client.get_executor(), workers
