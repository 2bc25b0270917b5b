"""``mixdown serve``: TwistedWave's API over real HTTP, the document's create-job body with local urls."""

from __future__ import annotations

import base64

import httpx
import pytest
import soundfile

from tests.server_process import Server, wait_for
from tests.test_server_twoshot import decoded_seconds
from tests.test_twistedwave_transfer import Server as Receiver
from tests.test_twistedwave_transfer import ok, source_audio, write_source

KEY = "XHCbGg_uN6PcepxCfDjd"


def seed_job(url: str, output_url: str) -> dict:
    """The document's "Create a new job" example, with only the two urls changed."""
    return {
        "document": {"url": url, "title": "zozo", "ttl": 3600},
        "edit": {"max_duration": 60},
        "output": {"url": output_url, "format": "wav", "bit_depth": 24},
        "note": "your metadata",
        "delete_document": False,
        "cancel_other": True,
    }


@pytest.fixture(scope="module")
def webhook():
    receiver = Receiver()
    receiver.routes["/hook"] = ok()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, webhook):
    base = tmp_path_factory.mktemp("twistedwave-server")
    home = base / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "outbox").mkdir()
    write_source(home / "inbox" / "twr.wav", source_audio(2.0))
    (base / "keys").write_text(f"# the document's example key\n{KEY}\n")
    with Server(home, "--keys", str(base / "keys"), "--webhook", webhook.url("/hook")) as running:
        yield running


@pytest.fixture
def client(server):
    # curl -u KEY: sends the key as the basic-auth user name with an empty password.
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    with httpx.Client(base_url=f"{server.url}/twistedwave", timeout=60,
                      headers={"Authorization": f"Basic {basic}"}) as http:
        yield http


def done(job: dict) -> bool:
    return job.get("state") in ("completed", "failed", "cancelled")


def test_seed_job_with_local_urls_completes(client, server, webhook):
    inbox, outbox = server.home / "inbox", server.home / "outbox"
    reply = client.post("/online/api/jobs", json=seed_job(str(inbox / "twr.wav"), str(outbox / "zozo.wav")))
    assert reply.status_code == 200, reply.text
    job = reply.json()
    assert job["id"].startswith("job_") and job["state"] == "importing"
    assert list(job) == ["id", "state", "note", "document", "edit", "output", "delete_document"]
    assert job["document"]["title"] == "zozo" and job["document"]["ttl"] == 3600 and job["document"]["duration"] == 0
    assert job["edit"]["token"].startswith(job["document"]["id"] + ":") and job["edit"]["max_duration"] == 60
    assert job["output"] == {"state": "pending", "url": str(outbox / "zozo.wav"), "format": "wav", "bit_depth": 24}
    assert job["note"] == "your metadata" and job["delete_document"] is False
    finished = wait_for(client, f"/online/api/jobs/{job['id']}", done)
    assert finished["state"] == "completed", finished
    assert finished["output"]["state"] == "completed" and finished["document"]["duration"] == 2.0
    info = soundfile.info(str(outbox / "zozo.wav"))
    assert (info.subtype, info.frames) == ("PCM_24", 88_200)
    assert decoded_seconds(outbox / "zozo.wav") == pytest.approx(2.0, abs=1e-3)
    assert finished["output"]["file_size"] == (outbox / "zozo.wav").stat().st_size
    # The configured webhook got the document's notification object (the loopback target is the operator's).
    def told(_: dict) -> bool:
        return any(hit.json().get("job", {}).get("id") == job["id"] for hit in webhook.hits("/hook"))

    notified = wait_for(client, f"/online/api/jobs/{job['id']}", told)
    assert notified["state"] == "completed"
    kinds = [hit.json()["type"] for hit in webhook.hits("/hook") if hit.json()["job"]["id"] == job["id"]]
    assert kinds[-1] == "job.completed"


def test_output_kept_for_download_and_documents(client, server, tmp_path):
    job = client.post("/online/api/jobs", json={"document": {"url": (server.home / "inbox" / "twr.wav").as_uri()},
                                                "output": {"format": "flac", "bit_depth": 16}}).json()
    finished = wait_for(client, f"/online/api/jobs/{job['id']}", done)
    assert finished["state"] == "completed", finished
    download = client.get(f"/online/api/jobs/{job['id']}/download")
    assert download.status_code == 200
    (tmp_path / "out.flac").write_bytes(download.content)
    assert decoded_seconds(tmp_path / "out.flac") == pytest.approx(2.0, abs=1e-3)
    doc_id = finished["document"]["id"]
    assert client.get(f"/online/api/documents/{doc_id}").json()["id"] == doc_id
    deleted = client.delete(f"/online/api/documents/{doc_id}").json()
    assert "deleted_at" in deleted
    assert doc_id not in [d["id"] for d in client.get("/online/api/documents?limit=100").json()["data"]]
    listed = client.get("/online/api/documents", params={"limit": 100, "include_deleted": "true"}).json()
    assert doc_id in [d["id"] for d in listed["data"]]
    assert client.get(f"/online/api/jobs/{job['id']}/download").status_code == 404


def test_pagination(client, server):
    source = str(server.home / "inbox" / "twr.wav")
    first = client.post("/online/api/jobs", json={"document": {"url": source}, "output": {"format": "wav"}}).json()
    doc = wait_for(client, f"/online/api/jobs/{first['id']}", done)["document"]["id"]
    ids = [first["id"]] + [client.post("/online/api/jobs", json={"document": {"id": doc}, "output": {"format": "wav"}})
                           .json()["id"] for _ in range(2)]
    page = client.get("/online/api/jobs", params={"document": doc, "limit": 2}).json()
    assert page["has_more"] is True and [j["id"] for j in page["data"]] == ids[:0:-1]
    rest = client.get("/online/api/jobs", params={"document": doc, "limit": 2,
                                                  "starting_after": page["data"][-1]["id"]}).json()
    assert rest["has_more"] is False and [j["id"] for j in rest["data"]] == ids[:1]


def refused(reply: httpx.Response, status: int, param: str | None) -> dict:
    body = reply.json()
    assert reply.status_code == status, body
    assert list(body) == ["error"] and body["error"]["param"] == param and body["error"]["message"], body
    assert "Traceback" not in reply.text
    return body


def test_error_shapes(client, server, tmp_path):
    inbox = server.home / "inbox"
    refused(client.post("/online/api/jobs", content=b"{nope"), 400, "body")
    bad_depth = {"output": {"format": "wav", "bit_depth": 12}, "document": {"url": str(inbox / "twr.wav")}}
    refused(client.post("/online/api/jobs", json=bad_depth), 400, "output.bit_depth")
    # The document's own example urls: a private-network host, refused unless --allow-private-http.
    refused(client.post("/online/api/jobs", json=seed_job(str(inbox / "twr.wav"),
                                                          "http://172.16.53.1:3000/main/upload")), 400, "output.url")
    outside = write_source(tmp_path / "outside.wav", source_audio())
    for url in (str(outside), str(tmp_path / "missing.wav"), "/etc/passwd"):
        body = refused(client.post("/online/api/jobs", json={"document": {"url": url}, "output": {"format": "wav"}}),
                       400, "document.url")
        assert body["error"]["message"] == "is outside the folders jobs may use"
    refused(client.get("/online/api/jobs/job_00000000"), 404, "id")
    refused(client.put("/online/api/jobs/job_00000000/cancel"), 404, "id")
    refused(client.get("/online/api/documents/doc_000000000"), 404, "id")
    refused(client.get("/online/api/jobs", params={"limit": 0}), 400, "limit")
    refused(client.get("/online/api/jobs", params={"limit": "ten"}), 400, "limit")
    refused(client.get("/online/api/jobs", params={"starting_after": "job_nope"}), 404, "starting_after")
    refused(client.post("/online/api/documents"), 405, None)
    refused(httpx.get(f"{server.url}/twistedwave/online/api/jobs"), 401, "authorization")
    refused(httpx.get(f"{server.url}/twistedwave/online/api/jobs", auth=("wrong", "")), 401, "authorization")
    assert httpx.get(f"{server.url}/twistedwave/online/api/jobs",
                     headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
