"""A server killed with renders in flight resumes them on start: none is left ``processing``, none is lost."""

from __future__ import annotations

import httpx

from mixdown.api_compat.twoshot.demo import demo_project, write_library
from tests.server_process import Server, wait_for


def test_killed_server_resumes_its_renders(tmp_path):
    write_library(tmp_path / "home" / "library")
    project = demo_project()
    server = Server(tmp_path / "home").start()
    try:
        with httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
            long = client.post("/project/render", json={"project": project, "render": {"endTime": 240}}).json()
            short = client.post("/project/render", json={"project": project, "render": {"format": "flac",
                                                                                        "endTime": 8}}).json()
            running = wait_for(client, f"/project/render/{long['jobId']}", lambda r: r["progress"] > 0, timeout=120)
            assert running["status"] == "processing", running
            kept = client.post("/project", json=project).json()["id"]
        server.kill()
        server.start()
        with httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
            for job, frames in ((long, 240 * 44_100), (short, 8 * 44_100)):
                status = wait_for(client, f"/project/render/{job['jobId']}", lambda r: r["status"] != "processing",
                                  timeout=300)
                assert status["status"] == "completed" and status["frames"] == frames, status
                assert len(client.get(f"/audio/{status['audioId']}/download").content) > frames
            assert client.get(f"/project/{kept}").json()["data"] == project
            assert len(client.get("/sample").json()) == 6
    finally:
        server.stop()
    assert not list((tmp_path / "home" / "renders").glob(".*"))


def test_a_full_queue_answers_429(tmp_path):
    write_library(tmp_path / "home" / "library")
    body = {"project": demo_project(), "render": {"endTime": 60}}
    with Server(tmp_path / "home", "--queue", "2") as server, \
            httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as client:
        wait_for(client, "/sample", lambda rows: not any(r["processing"] for r in rows), timeout=120)
        assert httpx.get(f"{server.url}/health").json()["pending"] == 0
        replies = [client.post("/project/render", json=body) for _ in range(4)]
        assert [r.status_code for r in replies] == [202, 202, 429, 429]
        assert replies[2].json()["code"] == "RATE_LIMITED" and replies[2].headers["retry-after"] == "1"
        for reply in replies[:2]:
            status = wait_for(client, f"/project/render/{reply.json()['jobId']}", lambda r: r["status"] != "processing")
            assert status["status"] == "completed"
        assert client.post("/project/render", json=body).status_code == 202
