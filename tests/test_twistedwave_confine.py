"""Confinement of TwistedWave job urls (``--allow-root``, ``--allow-private-http``): local paths stay inside
the allowed folders once links are followed, http targets stay public, redirects are checked too, and a
refusal reads the same whatever exists outside."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from mixdown.api_compat.twistedwave import TwistedWave, confine
from mixdown.api_compat.twistedwave.confine import OUTSIDE, Confinement
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.transfer import TransferError, fetch, locate, post_file
from mixdown.cli import main
from tests.test_twistedwave_transfer import Server, ok, source_audio, write_source


@pytest.fixture
def places(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    write_source(inside / "take.wav", source_audio())
    write_source(outside / "secret.wav", source_audio())
    (inside / "link-out.wav").symlink_to(outside / "secret.wav")
    (inside / "dir-out").symlink_to(outside)
    (outside / "loop").symlink_to(outside / "loop")
    return inside, outside


def job(url: str, output: dict | None = None) -> dict:
    return {"document": {"url": url}, "output": output or {"format": "wav"}}


def refusal(service: TwistedWave, body: dict) -> TwistedWaveError:
    with pytest.raises(TwistedWaveError) as caught:
        service.create_job(body)
    return caught.value


def test_document_urls_outside_the_roots_are_refused_alike(tmp_path, places):
    inside, outside = places
    service = TwistedWave(tmp_path / "store", confinement=Confinement.of([inside]))
    urls = [str(outside / "secret.wav"), str(outside / "missing.wav"), str(outside / "loop"),
            (outside / "secret.wav").as_uri(), str(inside / "link-out.wav"), str(inside / "dir-out" / "secret.wav"),
            str(inside / ".." / "outside" / "secret.wav"), "/etc/passwd", "/etc/shadow-that-is-not-there"]
    answers = {(refusal(service, job(url)).message, refusal(service, job(url)).param) for url in urls}
    assert answers == {(OUTSIDE, "document.url")}
    missing = refusal(service, job(str(inside / "missing.wav")))
    assert "no such file" in missing.message
    done = service.submit(job(str(inside / "take.wav")))
    assert done["state"] == "completed"


def test_output_urls_outside_the_roots_are_refused(tmp_path, places):
    inside, outside = places
    service = TwistedWave(tmp_path / "store", confinement=Confinement.of([inside]))
    source = str(inside / "take.wav")
    for target in (outside / "out.wav", inside / "link-out.wav", inside / "dir-out" / "new.wav", outside):
        error = refusal(service, job(source, {"format": "wav", "url": str(target)}))
        assert (error.message, error.param) == (OUTSIDE, "output.url")
    before = (outside / "secret.wav").read_bytes()
    done = service.submit(job(source, {"format": "flac", "url": str(inside / "out.flac")}))
    assert done["state"] == "completed" and (inside / "out.flac").is_file()
    assert (outside / "secret.wav").read_bytes() == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "172.16.53.1", "192.168.0.9",
                                  "169.254.169.254", "0.0.0.0", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]",
                                  "100.64.0.1"])
def test_private_and_loopback_http_targets_are_refused(tmp_path, host):
    confinement = Confinement.of([tmp_path])
    for param in ("document.url", "output.url"):
        with pytest.raises(TwistedWaveError) as caught:
            locate(f"http://{host}:3000/main/upload", param, confinement)
        assert caught.value.param == param and "--allow-private-http" in caught.value.message


def test_private_http_is_allowed_when_asked(tmp_path):
    server = Server()
    try:
        server.routes["/take.wav"] = ok(write_source(tmp_path / "take.wav", source_audio()).read_bytes())
        server.routes["/upload"] = ok()
        confined = TwistedWave(tmp_path / "store", confinement=Confinement.of([tmp_path]))
        body = job(server.url("/take.wav"), {"format": "wav", "url": server.url("/upload")})
        assert refusal(confined, body).param == "document.url"
        allowed = TwistedWave(tmp_path / "store", confinement=Confinement.of([tmp_path], allow_private_http=True))
        assert allowed.submit(body)["state"] == "completed"
        assert len(server.hits("/upload")) == 1
    finally:
        server.close()


def _loopback_counts_as_public(monkeypatch) -> None:
    """The test server listens on 127.0.0.1: let the confinement take that one address for a public one."""
    real = confine._public
    monkeypatch.setattr(confine, "_public", lambda address: address == "127.0.0.1" or real(address))


def test_a_redirect_to_a_refused_target_is_not_followed(tmp_path, monkeypatch):
    _loopback_counts_as_public(monkeypatch)
    server = Server()
    try:
        server.routes["/moved"] = lambda _r: (302, {"Location": "http://10.20.30.40/secret"}, b"")
        with pytest.raises(TransferError, match="redirected to a refused target"):
            fetch(server.url("/moved"), tmp_path, "job", confinement=Confinement.of([tmp_path]))
        assert os.listdir(tmp_path) == []
    finally:
        server.close()


def _rebinding(monkeypatch, port: int) -> list[str]:
    """``rebind.example`` resolves to a public address once, then to the loopback test server (DNS rebinding).
    Returns the list of names looked up."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_rebound_to_a_private_address_after_the_check_is_not_reached(tmp_path, monkeypatch, scheme):
    server = Server()
    try:
        server.routes["/take.wav"] = ok(write_source(tmp_path / "take.wav", source_audio()).read_bytes())
        server.routes["/upload"] = ok()
        port = server.httpd.server_address[1]
        lookups = _rebinding(monkeypatch, port)
        confinement = Confinement.of([tmp_path])
        url = f"{scheme}://rebind.example:{port}/take.wav"
        assert locate(url, "document.url", confinement).kind == "http"
        with pytest.raises(TransferError, match="loopback or private-network"):
            fetch(url, tmp_path, "job", confinement=confinement)
        started = time.monotonic()
        with pytest.raises(TransferError, match="loopback or private-network"):
            post_file(f"{scheme}://rebind.example:{port}/upload", tmp_path / "take.wav", "take.wav",
                      confinement=confinement, attempts=3)
        assert time.monotonic() - started < 0.5, "a refused address is final, not tried again"
        assert len(lookups) == 3 and server.hits("/take.wav") == [] and server.hits("/upload") == []
    finally:
        server.close()


def test_unconfined_service_reads_anywhere(tmp_path, places):
    _, outside = places
    service = TwistedWave(tmp_path / "store")
    assert service.submit(job(str(outside / "secret.wav")))["state"] == "completed"


def test_job_create_command_takes_allow_root(tmp_path, places, capsys):
    inside, outside = places
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps(job(str(outside / "secret.wav"))))
    store = str(tmp_path / "store")
    assert main(["job", "create", str(spec), "--store", store, "--allow-root", str(inside), "--json"]) == 2
    assert OUTSIDE in capsys.readouterr().out
    spec.write_text(json.dumps(job(str(inside / "take.wav"))))
    assert main(["job", "create", str(spec), "--store", store, "--allow-root", str(inside), "--json"]) == 0
    capsys.readouterr()
    assert main(["job", "create", str(spec), "--store", store, "--allow-private-http"]) == 2
