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
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.batch.executors import dask_executor, local_executor
from mixdown.batch.kinds import output_digest, output_name, run_job
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
    cancelled: int = 0
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
            "cancelled": self.cancelled, "remaining": self.total - self.done - self.skipped,
            "interrupted": self.interrupted,
            "audio_seconds": round(self.audio_seconds, 3), "wall_seconds": round(self.wall_seconds, 3),
            "x_realtime": round(self.audio_seconds / self.wall_seconds, 1) if self.ok and self.wall_seconds else None,
            "workers": self.workers, "executor": self.executor, "failures": self.failures,
        }


def previous_results(out_dir: Path) -> dict[int, dict]:
    """The last recorded result of each job index (a torn line from a kill, and run headers, are skipped)."""
    path = out_dir / RESULTS
    latest: dict[int, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("index"), int):  # not a run header
                latest[record["index"]] = record
    return latest


def already_done(job: Job, record: dict | None) -> bool:
    if not record or record.get("status") != "ok" or record.get("job_sha256") != job_digest(job):
        return False
    output = Path(record["output"])
    return output.exists() and output_digest(output) == record.get("sha256")


Progress = Callable[[Summary], None]


def _open_results(path: Path, header: dict) -> TextIO:
    """``results.jsonl`` opened to append (earlier runs are history), a torn last line ended first so the
    next record is not glued to it, and this run's header written."""
    try:
        torn = path.is_file() and path.stat().st_size and path.read_bytes()[-1:] != b"\n"
    except OSError:
        torn = False
    handle = path.open("a", encoding="utf-8")
    if torn:
        handle.write("\n")
    handle.write(json.dumps({"run": header}) + "\n")
    handle.flush()
    return handle


def run_batch(
    jobs: list[Job],
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
    allow_roots: list[str | Path] | None = None,
    allow_private_http: bool = False,
) -> Summary:
    """Run ``jobs``; returns the summary (``interrupted`` when Ctrl-C stopped it).

    ``allow_roots`` confines every job (see :mod:`mixdown.api_compat.twistedwave.confine`): the files a job
    names (``project_file``, ``library``, ``song``; a TwistedWave job's urls and store) must lie inside these
    folders or ``out_dir``, TwistedWave http hosts be public unless ``allow_private_http``. None (the
    default) confines nothing: the manifest is the user's own.

    ``executor`` runs the jobs on an executor the caller owns (kept open afterwards), instead of a new
    local pool of ``workers`` processes or a client of the Dask ``scheduler``.
    """
    out_dir = Path(out_dir)
    if workers is not None and workers < 1:
        raise InvalidInputError(f"must be at least 1, got {workers}", field="--workers")
    confinement = confinement_for(allow_roots, allow_private_http, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        reason = "it is a file, not a folder" if out_dir.exists() else (getattr(error, "strerror", None) or error)
        raise InvalidInputError(f"cannot use {str(out_dir)!r} as the output folder: {reason}", field="--out") from None
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
            executor, summary.workers = dask_executor(scheduler, stack)
            summary.executor = f"dask {scheduler}"
        else:
            summary.workers = workers or os.cpu_count() or 1
            executor = stack.enter_context(local_executor(summary.workers))
            summary.executor = "local processes"
        results = stack.enter_context(_open_results(results_path, {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "resume": resume, "jobs": len(jobs),
            "skipped": summary.skipped}))

        def record(entry: dict) -> None:
            results.write(json.dumps(entry) + "\n")
            results.flush()
            _count(summary, entry)
            summary.wall_seconds = time.perf_counter() - started

        futures: dict[Future, Job] = {
            executor.submit(run_job, job.index, job.body, str(job.base), str(out_dir), confinement): job
            for job in todo
        }
        recorded: set[Future] = set()
        try:
            for future in as_completed(futures):
                record(_collect(future, futures[future]))
                recorded.add(future)
                if progress:
                    progress(summary)
        except KeyboardInterrupt:
            summary.interrupted = True
            _interrupted(executor, futures, recorded, record, out_dir, confinement)
    summary.wall_seconds = time.perf_counter() - started
    return summary


def confinement_for(roots: list[str | Path] | None, allow_private_http: bool,
                    out_dir: str | Path) -> Confinement | None:
    """What ``allow_roots`` confines a batch writing to ``out_dir`` to (None: nothing)."""
    if not roots:
        if allow_private_http:
            raise InvalidInputError("goes with --allow-root", field="--allow-private-http")
        return None
    return Confinement.of([*roots, Path(out_dir)], allow_private_http=allow_private_http)


def _interrupted(executor: Executor, futures: dict[Future, Job], recorded: set[Future],
                 record: Callable[[dict], None], out_dir: Path, confinement: Confinement | None = None) -> None:
    """After Ctrl-C: record every job that finished (its output is in place), stop the local workers, and
    record the jobs they were running as cancelled (their temporary files removed)."""
    for future in futures:
        future.cancel()
    finished = [f for f in futures if f.done() and not f.cancelled() and f not in recorded]
    running = [f for f in futures if not f.done()]
    for future in finished:
        record(_collect(future, futures[future]))
    if isinstance(executor, ProcessPoolExecutor):
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        _remove_stale_temporaries(out_dir)
    for future in running:
        job = futures[future]
        record({"index": job.index, "id": job.body.get("id"), "kind": job.kind, "status": "cancelled",
                "output": str(out_dir / output_name(job.index, job.body, job.base, confinement)),
                "error": {"type": "Cancelled", "message": "interrupted (Ctrl-C) before it finished"},
                "job_sha256": job_digest(job)})


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
    elif record["status"] == "cancelled":
        summary.cancelled += 1
    else:
        summary.failed += 1
        summary.failures.append({"index": record["index"], "id": record.get("id"), "error": record.get("error")})
