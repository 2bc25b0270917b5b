"""TwistedWave over HTTP, against a server on 127.0.0.1 started by the test: document downloads (timeout,
size limit, errors), multipart POSTs of outputs (exported_filename, post_note), and the webhook with
retries and exponential backoff. Also the helpers the other TwistedWave test modules share."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mixdown.api_compat.twistedwave import TwistedWave, Webhook
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.transfer import fetch, locate, post_file
from mixdown.formats import read, write
from tests.conftest import tone

RATE = 44_100


# --- shared helpers -------------------------------------------------------------------------------------


def write_source(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    """A 32-bit float WAV, so an import reads back exactly these samples."""
    write(path, audio, rate, subtype="FLOAT")
    return path


def source_audio(seconds: float = 0.5, channels: int = 2) -> np.ndarray:
    """A tone with a different phase per channel: every sample position is distinguishable."""
    return np.concatenate([tone(440 + 110 * c, seconds, RATE, phase=0.3 * c) for c in range(channels)])


class Recorded:
    """One request the test server received."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.time = time.monotonic()

    def parts(self) -> dict[str, tuple[str | None, bytes]]:
        """A multipart/form-data body as ``{name: (filename, content)}``."""
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + self.body)
        parts = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            parts[name] = (part.get_filename(), part.get_payload(decode=True))
        return parts

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """An HTTP server on 127.0.0.1 whose answers the test scripts per path.

    ``routes[path]`` is a callable ``(Recorded) -> (status, headers, body)``, or a list of those (one per
    request, the last repeated). Every request is recorded in ``requests``.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(self.command, self.path, dict(self.headers), body)
                server.requests.append(record)
                route = server.routes.get(self.path.split("?")[0])
                if isinstance(route, list):
                    count = sum(1 for r in server.requests if r.path == self.path)
                    route = route[min(count, len(route)) - 1]
                status, headers, payload = route(record) if route else (404, {}, b"no route")
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(body: bytes = b"ok", **headers: str) -> Callable[[Recorded], tuple[int, dict, bytes]]:
    return lambda _request: (200, headers, body)


def status(code: int) -> Callable[[Recorded], tuple[int, dict, bytes]]:
    return lambda _request: (code, {}, b"nope")


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


# --- document downloads -------------------------------------------------------------------------------


def test_http_document_is_downloaded_and_imported_exactly(tmp_path, server):
    audio = source_audio()
    server.routes["/take.wav"] = ok(write_source(tmp_path / "take.wav", audio).read_bytes(),
                                    **{"Content-Type": "audio/wav"})
    tw = TwistedWave(tmp_path / "store")
    job = tw.submit({"document": {"url": server.url("/take.wav")}, "edit": {"max_duration": 0},
                     "output": {"format": "wav", "bit_depth": 32}})
    assert job["state"] == "completed", job
    assert job["document"]["channels"] == 2 and job["document"]["duration"] == audio.shape[1] / RATE
    out = tw.download(job["id"], tmp_path / "out.wav")
    np.testing.assert_allclose(read(out)[0], audio, atol=2**-30)
    assert not list((tmp_path / "store" / "tmp").iterdir()), "the download is removed once imported"


def test_http_document_errors_fail_the_job_with_the_reason(tmp_path, server):
    body = write_source(tmp_path / "take.wav", source_audio()).read_bytes()
    server.routes["/missing.wav"] = status(404)
    server.routes["/big.wav"] = ok(body)

    def chunked(_request: Recorded) -> tuple[int, dict, bytes]:  # no Content-Length: the limit counts bytes
        chunk = body[:70_000]
        payload = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
        return 200, {"Transfer-Encoding": "chunked"}, payload

    def slow(_request: Recorded) -> tuple[int, dict, bytes]:
        time.sleep(1.0)
        return 200, {}, body

    server.routes["/chunked.wav"] = chunked
    server.routes["/slow.wav"] = slow
    tw = TwistedWave(tmp_path / "store", download_timeout=0.3, max_download_bytes=65_536)
    errors = {}
    for name in ("missing", "big", "chunked", "slow"):
        job = tw.submit({"document": {"url": server.url(f"/{name}.wav")}, "edit": {"max_duration": 0},
                         "output": {"format": "wav"}})
        assert job["state"] == "failed" and job["output"]["state"] == "failed"
        errors[name] = job["error"]
    assert errors["missing"].startswith("document.url: cannot download") and "HTTP 404" in errors["missing"]
    assert "over the 65536-byte limit" in errors["big"] and f"is {len(body)} bytes" in errors["big"]
    assert "over the 65536-byte limit" in errors["chunked"]
    assert "timed out" in errors["slow"]
    assert not list((tmp_path / "store" / "tmp").iterdir())


def test_fetch_keeps_nothing_on_failure(tmp_path, server):
    server.routes["/x.wav"] = ok(b"x" * 1000)
    path = fetch(server.url("/x.wav"), tmp_path, "job_1", max_bytes=1000)
    assert path.read_bytes() == b"x" * 1000 and path.name.startswith("job_1-") and path.suffix == ".wav"
    with pytest.raises(Exception, match="limit"):
        fetch(server.url("/x.wav"), tmp_path, "job_2", max_bytes=999)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_urls_are_classified_and_s3_refused(tmp_path):
    assert locate("http://h/x.wav", "p").kind == "http"
    local = locate(f"file://{tmp_path}/a b.wav", "p")
    assert local.kind == "local" and local.path == tmp_path / "a b.wav"
    assert locate("file://localhost/tmp/x.wav", "p").path == Path("/tmp/x.wav")
    assert locate("relative.wav", "p").path == Path.cwd() / "relative.wav"
    for url, words in (("s3://bucket/x.wav", "s3://"), ("ftp://h/x.wav", "scheme"), ("file://other/x", "another host"),
                       ("http:///x", "no host")):
        with pytest.raises(TwistedWaveError, match=words) as info:
            locate(url, "document.url")
        assert info.value.param == "document.url"


# --- output POSTs ---------------------------------------------------------------------------------------


def test_output_is_posted_as_multipart_with_filename_and_note(tmp_path, server):
    audio = source_audio()
    source = write_source(tmp_path / "take.wav", audio)
    server.routes["/upload"] = ok()
    tw = TwistedWave(tmp_path / "store")
    job = tw.submit({"document": {"url": str(source)}, "note": "take 3, café",
                     "output": {"format": "flac", "bit_depth": 24, "url": server.url("/upload"),
                                "exported_filename": "take3.flac", "post_note": True}})
    assert job["state"] == "completed" and job["output"]["state"] == "completed"
    (post,) = server.hits("/upload")
    assert post.method == "POST" and post.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = post.parts()
    assert parts["note"] == (None, "take 3, café".encode())
    filename, content = parts["file"]
    assert filename == "take3.flac" and len(content) == job["output"]["file_size"]
    (tmp_path / "posted.flac").write_bytes(content)
    np.testing.assert_allclose(read(tmp_path / "posted.flac")[0], audio, atol=2**-23)
    # an output with a url defaults delete_document to true: the document is gone, nothing kept
    assert job["delete_document"] is True and "deleted_at" in job["document"]
    assert not (tmp_path / "store" / "outputs" / job["id"]).exists()


def test_post_without_post_note_sends_only_the_file_named_export_ext(tmp_path, server):
    source = write_source(tmp_path / "take.wav", source_audio())
    server.routes["/upload"] = ok()
    tw = TwistedWave(tmp_path / "store")
    job = tw.submit({"document": {"url": str(source)}, "note": "private", "delete_document": False,
                     "output": {"format": "mp3", "url": server.url("/upload")}})
    assert job["state"] == "completed"
    parts = server.hits("/upload")[0].parts()
    assert set(parts) == {"file"} and parts["file"][0] == "export.mp3"
    assert "deleted_at" not in tw.get_document(job["document"]["id"])


def test_refused_post_fails_the_job_and_keeps_the_document(tmp_path, server):
    source = write_source(tmp_path / "take.wav", source_audio())
    server.routes["/upload"] = status(500)
    events = []
    tw = TwistedWave(tmp_path / "store", on_notification=events.append)
    job = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav", "url": server.url("/upload")}})
    assert job["state"] == "failed" and job["output"]["state"] == "failed"
    assert job["error"].startswith("output.url: POST to") and "HTTP 500" in job["error"]
    assert job["delete_document"] is True and "deleted_at" not in job["document"]
    assert [e["type"] for e in events] == ["job.failed"] and events[0]["job"]["error"] == job["error"]


def test_post_file_streams_the_whole_file(tmp_path, server):
    payload = bytes(range(256)) * 1000
    (tmp_path / "f.bin").write_bytes(payload)
    server.routes["/u"] = ok()
    assert post_file(server.url("/u"), tmp_path / "f.bin", 'we"ird.bin') == 200
    (request,) = server.hits("/u")
    assert int(request.headers["Content-Length"]) == len(request.body)
    assert request.parts()["file"] == ('we%22ird.bin', payload)


# --- webhook --------------------------------------------------------------------------------------------


def test_webhook_retries_with_exponential_backoff_until_a_2xx(tmp_path, server):
    server.routes["/hook"] = [status(500), status(503), ok()]
    source = write_source(tmp_path / "take.wav", source_audio())
    tw = TwistedWave(tmp_path / "store", webhook=Webhook(server.url("/hook"), attempts=5, backoff=0.1, factor=3.0))
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0},
                     "output": {"format": "wav"}})
    assert tw.wait_for_notifications(10)  # delivered in the background: submit never waits for a webhook
    hits = server.hits("/hook")
    bodies = [hit.json() for hit in hits]
    # both notifications were posted at once; the first try of each fails (500, 503), the retries succeed
    assert sorted(body["type"] for body in bodies) == ["edit.completed", "edit.completed", "job.completed",
                                                        "job.completed"]
    assert [b["type"] for b in bodies[:2]] == ["edit.completed", "job.completed"]
    assert all(hit.headers["Content-Type"] == "application/json" for hit in hits)
    assert bodies[-1]["job"] == job
    gap = hits[2].time - hits[1].time
    assert 0.08 <= gap < 1.0, gap  # the first retry waits backoff (0.1 s)
    outbox = tw.notifier.pending()
    assert [(n["attempts"], n["delivered"]) for n in outbox] == [(2, True), (2, True)]


def test_webhook_gives_up_after_the_bounded_number_of_tries(tmp_path, server):
    server.routes["/hook"] = status(500)
    tw = TwistedWave(tmp_path / "store", webhook=Webhook(server.url("/hook"), attempts=4, backoff=0.05, factor=2.0))
    started = time.monotonic()
    job = tw.submit({"edit": {"max_duration": 0, "commands": [{"command": "insert-silence", "length": 100}]}})
    assert job["state"] == "completed"
    assert tw.wait_for_notifications(10)
    hits = server.hits("/hook")
    assert len(hits) == 2 * 4  # edit.completed and job.completed, 4 tries each
    per_notification = [h.time for h in hits if h.json()["type"] == "job.completed"]
    gaps = np.diff(per_notification)
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.19, gaps  # 0.05, 0.1, 0.2
    assert time.monotonic() - started < 3.0
    assert all(n["given_up"] and n["attempts"] == 4 and n["last_error"] == "HTTP 500" for n in tw.notifier.pending())


def test_webhook_to_a_closed_port_is_retried_then_given_up(tmp_path, server):
    url = server.url("/hook")
    server.close()
    tw = TwistedWave(tmp_path / "store", webhook=Webhook(url, attempts=2, backoff=0.01, timeout=1.0))
    tw.submit({"edit": {"max_duration": 0}})
    assert tw.wait_for_notifications(10)
    outbox = tw.notifier.pending()
    assert len(outbox) == 2 and all(n["given_up"] and n["attempts"] == 2 for n in outbox)
    assert "refused" in outbox[0]["last_error"].lower()


def test_undelivered_notifications_survive_for_the_next_process(tmp_path, server):
    server.routes["/hook"] = [status(500), ok()]
    hook = Webhook(server.url("/hook"), attempts=3, backoff=0.05)
    first = TwistedWave(tmp_path / "store", webhook=hook)
    job = first.create_job({"edit": {"max_duration": 0}})
    # the outbox is written with the change; this process stops before delivering, as a killed one would
    first.notifier.background = False
    first.runner.run(job["id"])
    assert server.hits("/hook") == []
    later = TwistedWave(tmp_path / "store", webhook=hook)
    assert later.deliver_notifications() == 2
    assert {hit.json()["type"] for hit in server.hits("/hook")} == {"edit.completed", "job.completed"}
