"""Run a manifest's jobs on an executor, record each result, resume where a run stopped.

One loop over the ``concurrent.futures`` interface serves both executors: a local process pool sized to
the cores, or a Dask cluster's ``Client.get_executor()``. Every result is appended to
``results.jsonl`` in the output folder as it arrives, so a run killed at any point loses no finished work;
``resume`` skips jobs whose recorded output still exists with the recorded hash (and whose body is
unchanged) and runs the rest.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from mixdown.batch.kinds import output_digest, run_job, warm_up
from mixdown.batch.manifest import Job
from mixdown.errors import InvalidInputError

RESULTS = "results.jsonl"


def job_digest(job: Job) -> str:
    return hashlib.sha256(json.dumps(job.body, sort_keys=True).encode()).hexdigest()


@dataclass
class Summary:
    total: int
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    audio_seconds: float = 0.0
    job_seconds: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    workers: int = 0
    executor: str = ""
    failures: list[dict] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def as_dict(self) -> dict:
        return {
            "total": self.total, "ok": self.ok, "failed": self.failed, "skipped": self.skipped,
            "remaining": self.total - self.done - self.skipped, "interrupted": self.interrupted,
            "audio_seconds": round(self.audio_seconds, 3), "wall_seconds": round(self.wall_seconds, 3),
            "x_realtime": round(self.audio_seconds / self.wall_seconds, 1) if self.wall_seconds else None,
            "workers": self.workers, "executor": self.executor, "failures": self.failures,
        }


def previous_results(out_dir: Path) -> dict[int, dict]:
    """The last recorded result of each job index (a torn last line from a kill is ignored)."""
    path = out_dir / RESULTS
    latest: dict[int, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            latest[record["index"]] = record
    return latest


def already_done(job: Job, record: dict | None) -> bool:
    if not record or record.get("status") != "ok" or record.get("job_sha256") != job_digest(job):
        return False
    output = Path(record["output"])
    return output.exists() and output_digest(output) == record.get("sha256")


Progress = Callable[[Summary], None]


def _local_executor(workers: int) -> Executor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=warm_up)


def _dask_executor(address: str, stack: ExitStack) -> tuple[Executor, int]:
    try:
        from distributed import Client
    except ImportError:
        raise InvalidInputError("--scheduler needs Dask's distributed package (pip install distributed)",
                                field="--scheduler") from None
    client = stack.enter_context(Client(address))
    client.run(warm_up)
    workers = sum(info.get("nthreads", 1) for info in client.scheduler_info()["workers"].values())
    return client.get_executor(), workers


def run_batch(
    jobs: list[Job],
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> Summary:
    """Run ``jobs``; returns the summary (``interrupted`` when Ctrl-C stopped it).

    ``executor`` runs the jobs on an executor the caller owns (kept open afterwards), instead of a new
    local pool of ``workers`` processes or a client of the Dask ``scheduler``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS
    previous = previous_results(out_dir) if resume else {}
    if resume:
        _remove_stale_temporaries(out_dir)
    todo = [job for job in jobs if not already_done(job, previous.get(job.index))]
    summary = Summary(total=len(jobs), skipped=len(jobs) - len(todo))
    started = time.perf_counter()
    with ExitStack() as stack:
        if executor is not None:
            summary.workers = getattr(executor, "_max_workers", workers or 0)
            summary.executor = type(executor).__name__
        elif scheduler:
            executor, summary.workers = _dask_executor(scheduler, stack)
            summary.executor = f"dask {scheduler}"
        else:
            summary.workers = workers or os.cpu_count() or 1
            executor = stack.enter_context(_local_executor(summary.workers))
            summary.executor = "local processes"
        results = stack.enter_context(results_path.open("a" if resume else "w", encoding="utf-8"))
        futures: dict[Future, Job] = {
            executor.submit(run_job, job.index, job.body, str(job.base), str(out_dir)): job for job in todo
        }
        try:
            for future in as_completed(futures):
                job = futures[future]
                record = _collect(future, job)
                results.write(json.dumps(record) + "\n")
                results.flush()
                _count(summary, record)
                summary.wall_seconds = time.perf_counter() - started
                if progress:
                    progress(summary)
        except KeyboardInterrupt:
            summary.interrupted = True
            for future in futures:
                future.cancel()
            if isinstance(executor, ProcessPoolExecutor):
                executor.shutdown(wait=True, cancel_futures=True)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Temporary files a killed run left beside its outputs (never an output itself: those are renamed)."""
    for stale in out_dir.rglob(".*.part*"):
        if stale.is_file():
            stale.unlink()


def _collect(future: Future, job: Job) -> dict:
    try:
        record = future.result()
    except Exception as error:  # the worker itself died (killed, out of memory): the job is failed, not lost
        record = {"index": job.index, "id": job.body.get("id"), "kind": job.kind, "status": "failed",
                  "error": {"type": type(error).__name__, "message": str(error)}}
    record["job_sha256"] = job_digest(job)
    return record


def _count(summary: Summary, record: dict) -> None:
    summary.job_seconds += record.get("seconds", 0.0)
    if record["status"] == "ok":
        summary.ok += 1
        summary.audio_seconds += record.get("audio_seconds", 0.0)
    else:
        summary.failed += 1
        summary.failures.append({"index": record["index"], "id": record.get("id"), "error": record.get("error")})
