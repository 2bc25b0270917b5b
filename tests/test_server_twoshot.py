"""``mixdown serve``: TwoShot's API over real HTTP (uvicorn on 127.0.0.1, httpx), with the seed's own bodies."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import numpy as np
import pytest
import soundfile

from mixdown.api_compat.twoshot.demo import write_library
from mixdown.formats import write
from tests.conftest import tone
from tests.server_process import Server, wait_for

# The document's "Create Project" request body, verbatim.
SEED_PROJECT = json.loads("""
{
"name": "My New Track",
"version": "1.0.0",
"tempo": 120.0,
"grid": 0.25,
"snapToGrid": true,
"playHead": {
"start": 0.0,
"end": 16.0
},
"soloTarget": null,
"tracks": [
{
"id": "550e8400-e29b-41d4-a716-446655440001",
"name": "Drums",
"clips": [
{
"id": "550e8400-e29b-41d4-a716-446655440002",
"name": "Kick Pattern",
"color": { "hue": 0.8, "saturation": 0.7, "lightness": 0.5 },
"position": 0.0,
"muted": false,
"volume": 0.8,
"source": {
"audioId": "550e8400-e29b-41d4-a716-446655440003",
"sampleId": 12345
},
"pitchOffset": 0.0,
"reversed": false,
"speed": "tempo-sync",
"cutStart": 0.0,
"cutEnd": 2.5,
"pan": 0.0
}
],
"pan": 0.0,
"loopEvery": "auto",
"volume": 0.9,
"muted": false
}
]
}
""")
# The document's "Render Project" request body, verbatim.
SEED_RENDER = json.loads('{"format": "wav", "quality": "high", "startTime": 0.0, "endTime": 60.0}')
SEED_AUDIO = "550e8400-e29b-41d4-a716-446655440003"


def kick_loop(bpm: float, beats: int, rate: int = 44_100) -> np.ndarray:
    """A kick on every beat: a decaying 60 Hz burst."""
    beat = round(60 * rate / bpm)
    hit = tone(60, 0.15, rate, amplitude=0.8)[0] * np.exp(-np.arange(round(0.15 * rate)) / (0.03 * rate))
    out = np.zeros(beat * beats, dtype=np.float32)
    for b in range(beats):
        out[b * beat:b * beat + hit.size] += hit
    return np.ascontiguousarray(np.stack([out, out]), dtype=np.float32)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("twoshot-server")
    library = base / "home" / "library"
    library.mkdir(parents=True)
    # The seed project's sample, placed in the library before the server starts (with the seed's sampleId).
    write(library / "kick-loop.wav", kick_loop(100.0, 8), 44_100)
    (library / "library.json").write_text(json.dumps(
        {SEED_AUDIO: {"path": "kick-loop.wav", "sampleId": 12345, "bpm": 100.0, "name": "Kick Pattern"}}))
    write_library(base / "demo")
    with Server(base / "home") as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=f"{server.url}/twoshot", timeout=60) as http:
        yield http


def decoded_seconds(path) -> float:
    """The duration an independent decoder (ffprobe) reads, else libsndfile."""
    if shutil.which("ffprobe"):
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                              str(path)], capture_output=True, text=True, check=True)
        return float(out.stdout)
    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def finished(reply: dict) -> bool:
    return reply.get("status") != "processing"


def test_seed_project_renders_to_playable_audio(client, tmp_path):
    created = client.post("/project", json=SEED_PROJECT)
    assert created.status_code == 201
    project_id = created.json()["id"]
    assert list(created.json()) == ["id"]
    fetched = client.get(f"/project/{project_id}").json()
    assert fetched["data"] == SEED_PROJECT and fetched["name"] == "My New Track" and fetched["version"] == "1.0.0"

    accepted = client.post(f"/project/{project_id}/render", json=SEED_RENDER)
    assert accepted.status_code == 202
    reply = accepted.json()
    assert list(reply) == ["jobId", "status", "estimatedCompletion"] and reply["status"] == "processing"
    status = wait_for(client, f"/project/render/{reply['jobId']}", finished)
    assert status["status"] == "completed", status
    assert status["progress"] == 100 and status["error"] is None and status["projectId"] == project_id
    assert status["frames"] == 60 * 44_100

    audio = client.get(f"/audio/{status['audioId']}")
    assert audio.json()["duration"] == 60.0 and audio.json()["format"] == "wav"
    download = client.get(f"/audio/{status['audioId']}/download")
    assert download.status_code == 200 and download.headers["content-type"] in ("audio/wav", "audio/x-wav")
    (tmp_path / "out.wav").write_bytes(download.content)
    assert decoded_seconds(tmp_path / "out.wav") == pytest.approx(60.0, abs=1e-3)
    samples, _ = soundfile.read(tmp_path / "out.wav")
    assert np.abs(samples).max() > 0.1


def test_render_project_data_in_the_body(client, server, tmp_path):
    uploads = {}
    for name in ("kick", "snare"):
        with (server.home.parent / "demo" / f"{name}.wav").open("rb") as handle:
            reply = client.post("/sample/audio", files={"file": (f"{name}.wav", handle, "audio/wav")},
                                data={"name": name, "public": "true", "scale": "C Major"})
        assert reply.status_code == 201 and reply.json()["processing"] is True
        uploads[name] = reply.json()
    project = {"name": "body render", "tempo": 120, "tracks": [{"id": "t", "clips": [
        {"id": "a", "position": 0, "source": {"audioId": uploads["kick"]["audioId"]}},
        {"id": "b", "position": 1, "source": {"sampleId": uploads["snare"]["sampleId"]}}]}]}
    accepted = client.post("/project/render", json={"project": project, "render": {"format": "flac", "endTime": 4}})
    assert accepted.status_code == 202
    status = wait_for(client, f"/project/render/{accepted.json()['jobId']}", finished)
    assert status["status"] == "completed" and status["format"] == "flac" and status["frames"] == 4 * 44_100
    (tmp_path / "out.flac").write_bytes(client.get(f"/audio/{status['audioId']}/download").content)
    assert decoded_seconds(tmp_path / "out.flac") == pytest.approx(4.0, abs=1e-3)

    bare = client.post("/project/render", json=project)
    assert wait_for(client, f"/project/render/{bare.json()['jobId']}", finished)["status"] == "completed"


def test_a_render_that_fails_reports_its_error(client, server):
    with (server.home.parent / "demo" / "hat.wav").open("rb") as handle:
        hat = client.post("/sample/audio", files={"file": ("hat.wav", handle)}).json()
    wait_for(client, "/sample?limit=100", lambda rows: not any(r["processing"] for r in rows), timeout=60)
    file = next(server.home.joinpath("library").glob(f"{hat['audioId']}.*"))
    file.write_bytes(b"RIFF" + bytes(60))  # spoilt after it was accepted: the render fails in its worker
    project = {"tracks": [{"id": "t", "clips": [{"id": "c", "source": {"audioId": hat["audioId"]}}]}]}
    accepted = client.post("/project/render", json=project)
    assert accepted.status_code == 202
    status = wait_for(client, f"/project/render/{accepted.json()['jobId']}", finished)
    assert status["status"] == "failed" and status["audioId"] is None and status["progress"] == 0
    assert status["error"]["code"] == "VALIDATION_ERROR"
    assert status["error"]["details"]["field"].startswith("tracks[0].clips[0]"), status["error"]
    file.unlink()  # gone altogether: refused when asked, naming the clip
    refused = client.post("/project/render", json=project)
    assert refused.status_code == 404 and refused.json()["details"]["field"] == "tracks[0].clips[0].source.audioId"


def test_samples_browse_and_tempo(client, server):
    with (server.home.parent / "demo" / "drum-loop-100.wav").open("rb") as handle:
        loop = client.post("/sample/audio", files={"file": ("Loop 100.wav", handle)}, data={"name": "Drum Loop"}).json()
    bpm = client.get(f"/audio/{loop['audioId']}/bpm").json()
    assert bpm["audioId"] == loop["audioId"] and bpm["bpm"] == pytest.approx(100.0, abs=0.5)
    found = wait_for(client, "/sample?q=drum", lambda r: r and not r[0]["processing"], timeout=60)
    assert [row["sample"]["name"] for row in found] == ["Drum Loop"]
    row = found[0]
    assert set(row) >= {"sample", "owner", "tags", "audioInfo", "liked", "likes"}
    assert row["sample"]["id"] == loop["sampleId"] and row["audioInfo"]["id"] == loop["audioId"]
    assert row["audioInfo"]["duration"] == pytest.approx(4.8) and row["audioInfo"]["bpm"] == pytest.approx(100, abs=0.5)
    assert client.get("/sample", params={"q": "drum", "bpm_min": 101}).json() == []
    assert client.get("/sample", params={"q": "drum", "duration_max": 4}).json() == []
    seeded = client.get("/sample", params={"q": "kick pattern"}).json()
    assert seeded[0]["sample"]["id"] == 12345 and seeded[0]["audioInfo"]["bpm"] == 100.0
    page = client.get("/sample", params={"limit": 1, "offset": 1}).json()
    first = client.get("/sample", params={"limit": 1}).json()
    assert len(page) == 1 and page[0]["sample"]["id"] != first[0]["sample"]["id"]


def test_a_one_shot_is_analysed_once(client, server, tmp_path):
    """A sample with no beat keeps bpm null, and that outcome is stored: the tempo is not measured again on
    every GET (the file is swapped for a loop behind the server's back: a new measurement would find 120)."""
    hit = tone(60, 0.15, 44_100, amplitude=0.8)
    write(tmp_path / "one-shot.wav", np.ascontiguousarray(np.concatenate([hit, np.zeros_like(hit)], axis=1)), 44_100)
    with (tmp_path / "one-shot.wav").open("rb") as handle:
        shot = client.post("/sample/audio", files={"file": ("one-shot.wav", handle)}, data={"name": "One Shot"}).json()
    wait_for(client, "/sample?q=one%20shot", lambda rows: rows and not rows[0]["processing"], timeout=60)
    first = client.get(f"/audio/{shot['audioId']}/bpm").json()
    assert first["bpm"] is None
    file = next(server.home.joinpath("library").glob(f"{shot['audioId']}.*"))
    write(file, kick_loop(120.0, 8), 44_100)
    assert client.get(f"/audio/{shot['audioId']}/bpm").json() == first


def test_project_list_filters_and_pagination(client):
    ids = [client.post("/project", json={"name": f"paging {i}", "tempo": 100 + i, "tracks": []}).json()["id"]
           for i in range(12)]
    first = client.get("/project", params={"name": "PAGING"}).json()
    assert len(first) == 10 and [p["id"] for p in first] == ids[::-1][:10]
    second = client.get("/project", params={"name": "paging", "offset": 10}).json()
    assert [p["id"] for p in second] == ids[1::-1]
    tempo = client.get("/project", params={"name": "paging", "minTempo": 105, "maxTempo": 107.5}).json()
    assert sorted(p["data"]["tempo"] for p in tempo) == [105, 106, 107]
    too_many = client.get("/project", params={"limit": 11})
    assert too_many.status_code == 400 and too_many.json()["details"]["field"] == "limit"


def test_project_list_duration_filters(client, server):
    """``minDuration``/``maxDuration``: seconds of the project's render with no range asked (playHead, else to
    the last clip's end), measured in the background; a project naming a sample not in the library has no
    duration yet and is left out of a filtered list."""
    def project(name: str, end_beats: float | None, clips: list) -> dict:
        head = {"start": 0.0, **({"end": end_beats} if end_beats is not None else {})}
        return {"name": name, "tempo": 120.0, "playHead": head, "tracks": [{"id": "t", "clips": clips}]}

    loop = {"id": "c", "position": 0.0, "speed": 1.0, "source": {"audioId": SEED_AUDIO}}  # 8 beats at 100 BPM
    made = {name: client.post("/project", json=body).json()["id"] for name, body in {
        "span four": project("span four", 8.0, []),          # 8 beats at 120 BPM: 4 s
        "span sixteen": project("span sixteen", 32.0, []),   # 16 s
        "span loop": project("span loop", None, [loop]),     # to the clip's end: 4.8 s
        "span missing": project("span missing", None, [{**loop, "source": {"audioId": "not-in-library"}}]),
    }.items()}

    def names(**bounds) -> list[str]:
        return sorted(p["name"] for p in client.get("/project", params={"name": "span", **bounds}).json())

    measured = wait_for(client, "/project?name=span&minDuration=0", lambda rows: len(rows) == 3, timeout=60)
    assert sorted(p["name"] for p in measured) == ["span four", "span loop", "span sixteen"]
    assert len(client.get("/project", params={"name": "span"}).json()) == 4  # unfiltered: all of them
    assert names(minDuration=4.5) == ["span loop", "span sixteen"]
    assert names(maxDuration=5) == ["span four", "span loop"]
    assert names(minDuration=4.5, maxDuration=5) == ["span loop"]
    assert names(minDuration=4.8, maxDuration=4.8) == ["span loop"]

    client.put(f"/project/{made['span sixteen']}", json=project("span sixteen", 4.0, []))  # now 2 s
    wait_for(client, "/project?name=span&maxDuration=3", lambda rows: len(rows) == 1, timeout=60)
    assert names(maxDuration=3) == ["span sixteen"]
    clone = client.post(f"/project/{made['span loop']}/clone").json()["id"]
    assert clone in [p["id"] for p in client.get("/project", params={"minDuration": 4.8, "maxDuration": 4.8}).json()]

    # A project naming a sample before it is uploaded gets its duration when the sample arrives.
    next_id = max(row["sample"]["id"] for row in client.get("/sample", params={"limit": 100}).json()) + 1
    early = {**loop, "source": {"sampleId": next_id}}
    client.post("/project", json=project("span early", None, [early]))
    with (server.home / "library" / "kick-loop.wav").open("rb") as handle:
        uploaded = client.post("/sample/audio", files={"file": ("early.wav", handle)}).json()
    assert uploaded["sampleId"] == next_id
    arrived = wait_for(client, "/project?name=span%20early&minDuration=0", lambda rows: len(rows) == 1, timeout=60)
    assert [p["name"] for p in arrived] == ["span early"]
    assert names(minDuration=4.8, maxDuration=4.8) == ["span early", "span loop", "span loop"]  # with the clone

    for field, value in (("minDuration", "long"), ("maxDuration", "inf"), ("minDuration", "nan")):
        refused = client.get("/project", params={field: value})
        assert refused.status_code == 400, (field, value)
        assert refused.json()["code"] == "VALIDATION_ERROR" and refused.json()["details"]["field"] == field


def test_update_clone_delete(client):
    project_id = client.post("/project", json={"name": "v1", "tempo": 90, "tracks": []}).json()["id"]
    updated = client.put(f"/project/{project_id}", json={"name": "v2", "tempo": 95, "tracks": [], "public": True})
    assert updated.status_code == 200 and updated.json()["name"] == "v2" and updated.json()["public"] is True
    clone = client.post(f"/project/{project_id}/clone")
    assert clone.status_code == 201
    assert client.get(f"/project/{clone.json()['id']}").json()["data"]["tempo"] == 95
    assert client.delete(f"/project/{project_id}").status_code == 200
    assert client.get(f"/project/{project_id}").status_code == 404
    assert client.get(f"/project/{clone.json()['id']}").status_code == 200


def error_of(reply: httpx.Response, status: int, code: str, field: str | None) -> dict:
    body = reply.json()
    assert reply.status_code == status, body
    assert list(body) == ["error", "code", "details", "timestamp", "path"]
    assert body["code"] == code and body["details"]["field"] == field, body
    assert "Traceback" not in reply.text
    return body


def test_error_shapes(client):
    body = error_of(client.post("/project", content=b'{"name": "x",'), 400, "VALIDATION_ERROR", "body")
    assert body["path"] == "/project"
    error_of(client.post("/project", json={"tempo": -5, "tracks": []}), 400, "VALIDATION_ERROR", "tempo")
    error_of(client.post("/project", json={"tracks": [{"id": 1, "clips": [{"id": 2, "source": {}, "speed": "x"}]}]}),
             400, "VALIDATION_ERROR", "tracks[0].clips[0].source")
    error_of(client.get("/project/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND", "id")
    error_of(client.get("/project/render/render-0"), 404, "NOT_FOUND", "jobId")
    error_of(client.get("/audio/../../etc/passwd/download"), 404, "NOT_FOUND", None)
    error_of(client.get("/audio/nope/download"), 404, "NOT_FOUND", "audioId")
    missing = {"tracks": [{"id": "t", "clips": [{"id": "c", "source": {"audioId": "not-in-library"}}]}]}
    error_of(client.post("/project/render", json=missing), 404, "NOT_FOUND", "tracks[0].clips[0].source.audioId")
    project_id = client.post("/project", json={"tracks": []}).json()["id"]
    error_of(client.post(f"/project/{project_id}/render", json={"format": "mid"}), 400, "VALIDATION_ERROR", "format")
    error_of(client.post(f"/project/{project_id}/render", json={"startTime": 5, "endTime": 1}), 400,
             "VALIDATION_ERROR", "endTime")
    error_of(client.post("/sample/audio", files={"file": ("x.wav", b"not audio at all")}), 400, "VALIDATION_ERROR",
             "file")
    error_of(client.post("/sample/audio", data={"name": "no file"}), 400, "VALIDATION_ERROR", "file")
    error_of(client.delete("/sample"), 405, "METHOD_NOT_ALLOWED", None)
