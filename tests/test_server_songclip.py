"""``mixdown serve``: Songclip's API over real HTTP with the document's create body, and API keys on every
platform (each answering 401 in its own shape)."""

from __future__ import annotations

import json

import httpx
import pytest

from mixdown.cli import main
from mixdown.formats import write
from tests.conftest import tone
from tests.server_process import Server
from tests.test_server_twoshot import decoded_seconds

KEY = "sc-test-key"
# The document's "Send a Songclip audio file create event" body, verbatim.
SEED_CLIP = json.loads('{ "context": {"uniqueId":"111-asf_123"}, "start": 1000, "end": 3000, "fadeIn": 500, '
                       '"fadeOut": 300, "tags": ["happy"], "songId": "5958929698" }')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("songclip-server")
    library = base / "home" / "library"
    library.mkdir(parents=True)
    write(library / "song.wav", tone(440, 8.0, 44_100, amplitude=0.3, channels=2), 44_100)
    (library / "library.json").write_text(json.dumps({"song-a": {"path": "song.wav", "sampleId": 5958929698,
                                                                 "name": "Song A", "bpm": 120}}))
    (base / "keys").write_text(f"{KEY}\nanother\n")
    with Server(base / "home", "--keys", str(base / "keys")) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=f"{server.url}/songclip", timeout=60,
                      headers={"Authorization": "Bearer token", "apikey": KEY}) as http:
        yield http


def test_seed_create_body_cuts_a_playable_clip(client, tmp_path):
    reply = client.post("/songclips", json=SEED_CLIP)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "success"
    clip = body["data"]["songclip"]
    assert clip["duration"] == 2.0 and clip["frames"] == 88_200 and clip["songId"] == "5958929698"
    assert clip["tags"] == ["happy"] and clip["context"] == {"uniqueId": "111-asf_123"} and clip["format"] == "mp3"
    assert client.get(f"/songclips/{clip['id']}").json() == body
    audio = httpx.get(clip["audioUrl"], headers={"apikey": KEY})
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    (tmp_path / "clip.mp3").write_bytes(audio.content)
    assert decoded_seconds(tmp_path / "clip.mp3") == pytest.approx(2.0, abs=0.06)
    by_audio_id = client.post("/songclips", json={**SEED_CLIP, "songId": "song-a", "end": 6000})
    assert by_audio_id.json()["data"]["songclip"]["duration"] == 5.0


def fail_of(reply: httpx.Response, status: int, field: str) -> dict:
    body = reply.json()
    assert reply.status_code == status, body
    assert body["status"] == "fail" and field in body["data"], body
    assert "Traceback" not in reply.text
    return body


def test_error_shapes(client):
    fail_of(client.post("/songclips", content=b"[1,"), 400, "body")
    fail_of(client.post("/songclips", json={**SEED_CLIP, "context": {}}), 400, "context.uniqueId")
    fail_of(client.post("/songclips", json={**SEED_CLIP, "end": 30_000}), 400, "end")
    fail_of(client.post("/songclips", json={**SEED_CLIP, "start": "soon"}), 400, "start")
    fail_of(client.post("/songclips", json={k: v for k, v in SEED_CLIP.items() if k != "songId"}), 400, "songId")
    fail_of(client.post("/songclips", json={**SEED_CLIP, "songId": "../../etc/passwd"}), 404, "songId")
    fail_of(client.get("/songclips/123456"), 404, "id")
    fail_of(client.get("/songclips/123456/download"), 404, "id")


def test_every_platform_answers_401_in_its_shape(server):
    songclip = httpx.post(f"{server.url}/songclip/songclips", json=SEED_CLIP)
    assert songclip.status_code == 401
    assert songclip.json() == {"status": "error", "message": "apikey parameter is missing"}
    wrong = httpx.post(f"{server.url}/songclip/songclips", json=SEED_CLIP, headers={"apikey": "nope"})
    assert wrong.status_code == 401 and wrong.json()["status"] == "error"
    twoshot = httpx.get(f"{server.url}/twoshot/project", headers={"Authorization": "Bearer nope"})
    assert twoshot.status_code == 401 and twoshot.json()["code"] == "UNAUTHORIZED"
    assert twoshot.json()["details"]["field"] == "authorization"
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": "another"}):
        assert httpx.get(f"{server.url}/twoshot/project", headers=headers).status_code == 200
    twistedwave = httpx.get(f"{server.url}/twistedwave/online/api/documents", auth=(KEY + "x", ""))
    assert twistedwave.status_code == 401 and twistedwave.json()["error"]["param"] == "authorization"
    assert "Basic" in twistedwave.headers["www-authenticate"]
    assert httpx.get(f"{server.url}/twistedwave/online/api/documents", auth=(KEY, "")).status_code == 200


def test_no_keys_means_loopback_only(tmp_path, capsys):
    assert main(["serve", "--home", str(tmp_path), "--host", "0.0.0.0", "--json"]) == 2
    assert "--keys" in capsys.readouterr().out
