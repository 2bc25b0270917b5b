"""A bad-input campaign against every endpoint of ``mixdown serve``: hostile path parameters, query strings,
bodies (each field of the seeds' own bodies replaced by hostile values, removed, or the body broken whole),
oversized and malformed uploads. Every answer is the platform's error shape or a success, never a 500 or a
traceback, nothing is written outside the home, and the server still answers afterwards."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from mixdown.api_compat.twoshot.demo import write_library
from tests.server_process import Server
from tests.test_server_songclip import SEED_CLIP
from tests.test_server_twistedwave import seed_job
from tests.test_server_twoshot import SEED_PROJECT
from tests.test_twistedwave_transfer import source_audio, write_source

HOSTILE_VALUES = [None, True, -1, 0, 1e308, -1e308, 5e-324, 10**400, "", "x" * 5000, "../../../../etc/passwd",
                  "\u0000", [], {}, [[[[[]]]]]]
HOSTILE_IDS = ["x", "..", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "a" * 3000, "%00", "%C3%BC", "' OR 1=1 --", "-1",
               "9" * 40, "job_..%2F..%2Fx", "render-" + "0" * 32, "doc_%2Fetc"]
HOSTILE_QUERIES = ["limit=-1", "limit=1000000000000", "limit=ten", "offset=-5", "offset=1e3", "minTempo=nan",
                   "maxTempo=inf", "bpm_min=x", "duration_max=--1", "include_deleted=maybe", "starting_after=../x",
                   "document=%00", "public=perhaps", "q=%FF%FE", "name=" + "n" * 3000]
BROKEN_BODIES = [b"", b"{", b"[1,", b"null", b"42", b'"text"', b"[]", b"\xff\xfe{}", b'{"a": NaN}',
                 b'{"a": Infinity}', b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
                 json.dumps({"tracks": [{"id": "t", "clips": "no"}]}).encode()]


def leaves(value: object, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from leaves(child, (*path, index))


def mutations(body: dict) -> Iterator[object]:
    """Each field replaced by each hostile value, and removed."""
    for path in leaves(body):
        for hostile in [*HOSTILE_VALUES, KeyError]:
            mutated = copy.deepcopy(body)
            holder = mutated
            for part in path[:-1]:
                holder = holder[part]
            if hostile is KeyError:
                del holder[path[-1]]
            else:
                holder[path[-1]] = hostile
            yield mutated


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("campaign")
    home = base / "home"
    write_library(home / "library")
    (home / "inbox").mkdir()
    write_source(home / "inbox" / "take.wav", source_audio(0.5))
    with Server(home, "--max-upload", "1") as running:
        yield running


class Checker:
    def __init__(self, server: Server) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=120)
        self.count = 0
        self.statuses: dict[int, int] = {}

    def __call__(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        reply = self.client.request(method, path, **kwargs)
        self.count += 1
        self.statuses[reply.status_code] = self.statuses.get(reply.status_code, 0) + 1
        where = f"{method} {path[:120]} {str(kwargs)[:300]}"
        assert reply.status_code < 500, f"{where}: {reply.status_code} {reply.text[:500]}"
        assert "Traceback" not in reply.text and 'File "' not in reply.text, where
        if reply.status_code >= 400:
            body = reply.json()
            platform = path.split("/")[1]
            if platform == "twistedwave":
                assert set(body) == {"error"} and set(body["error"]) == {"message", "param"}, (where, body)
            elif platform == "songclip":
                assert body["status"] in ("fail", "error"), (where, body)
            else:
                assert body["code"] and body["details"]["message"], (where, body)
        return reply


def test_campaign(server, tmp_path):
    check = Checker(server)
    project_id = check("POST", "/twoshot/project", json=SEED_PROJECT).json()["id"]
    small_render = {"project": SEED_PROJECT, "render": {"format": "wav", "quality": "low", "endTime": 1.0}}
    inbox = server.home / "inbox"
    tw_job = seed_job(str(inbox / "take.wav"), str(server.home / "out.wav"))
    song = check("POST", "/twoshot/sample/audio", files={"file": ("song.wav", (inbox / "take.wav").read_bytes())})
    clip = {**SEED_CLIP, "songId": song.json()["audioId"], "start": 0, "end": 400, "fadeIn": 10, "fadeOut": 10}

    bodies = {("POST", "/twoshot/project"): SEED_PROJECT,
              ("PUT", f"/twoshot/project/{project_id}"): SEED_PROJECT,
              ("POST", f"/twoshot/project/{project_id}/render"): {"format": "wav", "quality": "low", "endTime": 1.0},
              ("POST", "/twoshot/project/render"): small_render,
              ("POST", "/twistedwave/online/api/jobs"): tw_job,
              ("POST", "/songclip/songclips"): clip}
    for (method, path), body in bodies.items():
        for raw in BROKEN_BODIES:
            check(method, path, content=raw, headers={"Content-Type": "application/json"})
        check(method, path, content=b" " * (17 * 1024 * 1024))
        for mutated in mutations(body):
            check(method, path, json=mutated)

    templates = [("GET", "/twoshot/project/{}"), ("PUT", "/twoshot/project/{}"), ("DELETE", "/twoshot/project/{}"),
                 ("POST", "/twoshot/project/{}/clone"), ("POST", "/twoshot/project/{}/render"),
                 ("GET", "/twoshot/project/render/{}"), ("GET", "/twoshot/audio/{}"), ("GET", "/twoshot/audio/{}/bpm"),
                 ("GET", "/twoshot/audio/{}/download"), ("GET", "/twistedwave/online/api/jobs/{}"),
                 ("PUT", "/twistedwave/online/api/jobs/{}/cancel"), ("GET", "/twistedwave/online/api/jobs/{}/download"),
                 ("GET", "/twistedwave/online/api/documents/{}"), ("DELETE", "/twistedwave/online/api/documents/{}"),
                 ("GET", "/songclip/songclips/{}"), ("GET", "/songclip/songclips/{}/download")]
    for method, template in templates:
        for hostile in HOSTILE_IDS:
            check(method, template.format(hostile), json=SEED_PROJECT if method == "PUT" else None)
    for path in ("/twoshot/project", "/twoshot/sample", "/twistedwave/online/api/jobs",
                 "/twistedwave/online/api/documents"):
        for query in HOSTILE_QUERIES:
            check("GET", f"{path}?{query}")

    too_big = check("POST", "/twoshot/sample/audio", files={"file": ("big.wav", b"\0" * (2 * 1024 * 1024))})
    assert too_big.status_code == 413
    for name, content in (("../../../escaped.wav", (inbox / "take.wav").read_bytes()), ("x.wav", b""),
                          ("x.wav", b"RIFF\x00\x00\x00\x00WAVEfmt "), ("/etc/passwd", b"root:x:0:0")):
        check("POST", "/twoshot/sample/audio", files={"file": (name, content)}, data={"public": "true"})
    check("POST", "/twoshot/sample/audio", files={"file": ("x.wav", b"abc")}, data={"public": "sometimes"})
    check("POST", "/twoshot/sample/audio", content=b"--nope\r\n", headers={"Content-Type": "multipart/form-data"})
    check("POST", "/twoshot/sample/audio", content=b"plain", headers={"Content-Type": "text/plain"})
    check("GET", "/no/such/platform")
    check("PATCH", "/twoshot/project")

    print(f"campaign: {check.count} requests, statuses {sorted(check.statuses.items())}")
    assert check.count > 1500 and check.statuses.get(200, 0) + check.statuses.get(201, 0) > 0
    assert not (server.home.parent / "escaped.wav").exists() and not (server.home / "escaped.wav").exists()
    assert server.alive()
    schema = check("GET", "/openapi.json").json()
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs <= set(schema["components"]["schemas"]), refs - set(schema["components"]["schemas"])
    assert schema["paths"]["/twoshot/project"]["post"]["requestBody"]["content"]["application/json"]
    assert check("GET", "/docs").status_code == 200
