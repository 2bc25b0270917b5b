"""Batch scaling: 200 short TwoShot projects on 1, 2 and all cores, and the per-job overhead.

A short project is the bundled demo: 7 tracks, 8 bars at 120 BPM (16 s), each job with its own pitch on
one clip. Pools are started and warmed (kernels loaded, every worker's caches filled by a first pass over
some of the jobs) before timing: the figures are the steady state an overnight batch runs at. Targets:
scaling efficiency >= 80% on 2 cores; per-job overhead (wall time per job on one worker minus the same
render done in-process) under 20 ms.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait

import pytest

from mixdown.api_compat.twoshot.demo import demo_project, write_library
from mixdown.api_compat.twoshot.service import render_document
from mixdown.batch.kinds import warm_up, worker_caches
from mixdown.batch.manifest import Job
from mixdown.batch.runner import run_batch

JOBS = 200
TIMES: dict[int, float] = {}


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch-bench")
    write_library(base / "library")
    made = []
    for i in range(JOBS):
        project = demo_project()
        project["tracks"][4]["clips"][0]["pitchOffset"] = float(i % 5)
        made.append(Job(i, {"kind": "twoshot", "project": project, "library": "library", "quality": "low",
                            "format": "wav"}, base, f"line {i + 1}"))
    return made


def _pool(workers: int, jobs: list[Job], scratch) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=warm_up)
    wait([pool.submit(time.sleep, 0.2) for _ in range(workers * 2)])
    run_batch(jobs[: 10 * workers], scratch, executor=pool)
    return pool


@pytest.mark.parametrize("workers", sorted({1, 2, os.cpu_count() or 1}))
def test_batch_scaling(benchmark, peer_report, jobs, tmp_path, workers):
    with _pool(workers, jobs, tmp_path / "warm") as pool:
        summary = benchmark.pedantic(lambda: run_batch(jobs, tmp_path / f"out{workers}", executor=pool),
                                     rounds=3, iterations=1)
    assert summary.ok == JOBS
    TIMES[workers] = benchmark.stats.stats.min
    note = ""
    if workers > 1 and 1 in TIMES:
        efficiency = TIMES[1] / (TIMES[workers] * workers)
        note = f"scaling efficiency {efficiency:.0%}"
        benchmark.extra_info["efficiency"] = efficiency
        assert efficiency >= 0.8
    peer_report.record("batch: 200 short TwoShot projects", f"mixdown batch, {workers} worker(s)",
                       TIMES[workers], summary.audio_seconds, note)


def test_per_job_overhead(peer_report, jobs, tmp_path):
    sources, materials = worker_caches()
    warm_up()
    sample = jobs[:40]
    started = time.perf_counter()
    for job in sample:
        render_document(job.body["project"], job.base / "library", tmp_path / f"{job.index}.wav", quality="low",
                        sources=sources, materials=materials)
    in_process = (time.perf_counter() - started) / len(sample)
    with _pool(1, sample, tmp_path / "warm") as pool:
        started = time.perf_counter()
        run_batch(sample, tmp_path / "batch", executor=pool)
        batched = (time.perf_counter() - started) / len(sample)
    overhead_ms = 1000 * (batched - in_process)
    peer_report.record("batch: per-job overhead", "mixdown batch (1 worker) vs in-process render", batched,
                       0, f"in-process {1000 * in_process:.1f} ms/job, batch {1000 * batched:.1f} ms/job, "
                          f"overhead {overhead_ms:.1f} ms/job")
    assert overhead_ms < 20
