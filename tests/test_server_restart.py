"""A server killed with renders in flight resumes them on start: none is left ``processing``, none is lost."""

from __future__ import annotations

import httpx
import pytest

from mixdown.api_compat.twoshot.demo import demo_project, write_library
from tests.server_process import Server, wait_for


@pytest.mark.parametrize("stop", ["kill", "stop"])
def test_stopped_server_resumes_its_renders(tmp_path, stop):
    """``kill``: SIGKILL to the server and its workers (a crash); ``stop``: SIGTERM (a shutdown)."""
    write_library(tmp_path / "home" / "library")
    project = demo_project()
    server = Server(tmp_path / "home").start()
    try:
        with httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
            # FLAC at 24 bits: slow enough to still be running when the server stops, even on an idle machine
            long = client.post("/project/render", json={"project": project, "render": {"format": "flac",
                                                                                       "endTime": 600}}).json()
            short = client.post("/project/render", json={"project": project, "render": {"format": "flac",
                                                                                        "endTime": 8}}).json()
            running = wait_for(client, f"/project/render/{long['jobId']}", lambda r: r["progress"] > 0, timeout=120)
            assert running["status"] == "processing", running
            kept = client.post("/project", json=project).json()["id"]
        getattr(server, stop)()
        server.start()
        with httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
            for job, frames in ((long, 600 * 44_100), (short, 8 * 44_100)):
                status = wait_for(client, f"/project/render/{job['jobId']}", lambda r: r["status"] != "processing",
                                  timeout=300)
                assert status["status"] == "completed" and status["frames"] == frames, status
                assert len(client.get(f"/audio/{status['audioId']}/download").content) > frames
            assert client.get(f"/project/{kept}").json()["data"] == project
            assert len(client.get("/sample").json()) == 6
    finally:
        server.stop()
    assert not list((tmp_path / "home" / "renders").glob(".*"))


def test_a_full_queue_answers_429_and_long_renders_are_refused(tmp_path):
    write_library(tmp_path / "home" / "library")
    body = {"project": demo_project(), "render": {"endTime": 900}}  # long enough to be queued still
    with Server(tmp_path / "home", "--queue", "2", "--max-duration", "1000") as server, \
            httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
        wait_for(client, "/sample", lambda rows: not any(r["processing"] for r in rows), timeout=120)
        assert httpx.get(f"{server.url}/health").json()["pending"] == 0
        replies = [client.post("/project/render", json=body) for _ in range(4)]
        assert [r.status_code for r in replies] == [202, 202, 429, 429]
        assert replies[2].json()["code"] == "RATE_LIMITED" and replies[2].headers["retry-after"] == "1"
        for reply in replies[:2]:
            status = wait_for(client, f"/project/render/{reply.json()['jobId']}", lambda r: r["status"] != "processing")
            assert status["status"] == "completed"
        too_long = client.post("/project/render", json={"project": demo_project(), "render": {"endTime": 1100}})
        assert too_long.status_code == 202
        status = wait_for(client, f"/project/render/{too_long.json()['jobId']}", lambda r: r["status"] != "processing")
        assert status["status"] == "failed" and status["error"]["code"] == "VALIDATION_ERROR", status
        assert status["error"]["details"]["field"] == "endTime", status


def test_renders_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    write_library(tmp_path / "home" / "library")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Server(tmp_path / "home", "--scheduler", cluster.scheduler_address) as server, \
            httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
        accepted = client.post("/project/render", json={"project": demo_project(), "render": {"endTime": 4}})
        status = wait_for(client, f"/project/render/{accepted.json()['jobId']}", lambda r: r["status"] != "processing")
        assert status["status"] == "completed" and status["frames"] == 4 * 44_100, status
        assert httpx.get(f"{server.url}/health").json()["workers"] == 1


def test_twistedwave_jobs_a_stopped_server_left_are_run_on_start(tmp_path):
    import socket

    from mixdown.api_compat.twistedwave import TwistedWave
    from tests.test_twistedwave_transfer import source_audio, write_source

    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    write_source(home / "inbox" / "take.wav", source_audio(1.0))
    store = TwistedWave(home / "twistedwave")
    job = store.create_job({"document": {"url": str(home / "inbox" / "take.wav")}, "output": {"format": "flac"}})
    # As a server killed while importing leaves it: active, owned by a process that no longer runs.
    with store.store.transaction() as conn:
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (f"{socket.gethostname()}:999999999:1/1", job["id"]))
    store.close()
    with Server(home) as server, httpx.Client(base_url=f"{server.url}/twistedwave", timeout=60) as client:
        done = wait_for(client, f"/online/api/jobs/{job['id']}", lambda r: r["state"] not in
                        ("pending", "importing", "editing", "exporting"))
        assert done["state"] == "completed" and done["output"]["state"] == "completed", done
        assert client.get(f"/online/api/jobs/{job['id']}/download").status_code == 200


def test_a_killed_worker_fails_its_render_and_the_server_goes_on(tmp_path):
    import os
    import signal
    from pathlib import Path

    write_library(tmp_path / "home" / "library")
    body = {"project": demo_project(), "render": {"endTime": 240}}
    with Server(tmp_path / "home") as server, httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
        wait_for(client, "/sample", lambda rows: not any(r["processing"] for r in rows), timeout=120)
        job = client.post("/project/render", json=body).json()["jobId"]
        wait_for(client, f"/project/render/{job}", lambda r: r["progress"] > 0, timeout=120)
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        workers = [int(pid) for pid in children
                   if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]
        assert workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        failed = wait_for(client, f"/project/render/{job}", lambda r: r["status"] != "processing")
        assert failed["status"] == "failed" and failed["error"]["code"] == "INTERNAL_ERROR", failed
        again = client.post("/project/render", json={"project": demo_project(), "render": {"endTime": 4}}).json()
        assert wait_for(client, f"/project/render/{again['jobId']}",
                        lambda r: r["status"] != "processing")["status"] == "completed"
