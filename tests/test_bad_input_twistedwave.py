"""TwistedWave jobs a user gets wrong (issue 18) and deliveries that must not fail or block (issue 13)."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from mixdown.api_compat.twistedwave import TwistedWave, TwistedWaveError, Webhook, transfer
from mixdown.formats import write
from tests.bad_input import cli, refused
from tests.test_twistedwave_transfer import Server, ok, status

SR = 44_100


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "take.wav"
    write(path, np.full((1, SR // 10), 0.1, dtype=np.float32), SR, subtype="FLOAT")
    return path


def _create(tmp_path, body, *options):
    path = tmp_path / "job.json"
    path.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
    return cli("job", "create", path, "--store", tmp_path / "store", "--json", *options)


def _edit(source, *commands, max_duration=0):
    return {"document": {"url": str(source)}, "edit": {"max_duration": max_duration, "commands": list(commands)}}


def _output(source, **output):
    return {"document": {"url": str(source)}, "output": {"format": "wav", **output}}


@pytest.mark.parametrize(("make", "param"), [
    (lambda s: _output(s, url=str(s.parent / "x\0y.wav")), "output.url"),
    (lambda s: _output(s, exported_filename="a" * 300), "output.exported_filename"),
    (lambda s: _output(s, url=str(s.parent / ("y" * 300))), "output.url"),  # found by the campaign
    (lambda s: {"document": {"url": str(s.parent / ("y" * 300))}, "output": {"format": "wav"}}, "document.url"),
    (lambda s: _output(s, end=1e308), "output.end"),
    (lambda s: _output(s, end_sample=2**60), "output.end_sample"),
    (lambda s: _output(s, begin=10**400), "output.begin"),  # found by the campaign: OverflowError
    (lambda s: _output(s, sample_rate=10**400), "output.sample_rate"),
    (lambda s: _output(s, format="x" * 100_000), "output.format"),  # found by the campaign: echoed whole
    (lambda s: _output(s, bit_depth="x" * 100_000), "output.bit_depth"),
    (lambda s: _edit(s, {"command": "fade-in", "unit": "seconds", "selection": [0, 1e308]}),
     "edit.commands[0].selection"),
    (lambda s: _edit(s, {"command": "amplify", "gain": 1e308}), "edit.commands[0].gain"),
    (lambda s: _edit(s, {"command": "insert-silence", "length": 1e9}, max_duration=60),
     "edit.commands[0].length"),
    (lambda s: {"edit": {"max_duration": 0, "colors": {"wave": [1]}}}, "edit.colors.wave"),
])
def test_jobs_refused_when_created(tmp_path, source, make, param):
    body = refused(_create(tmp_path, make(source)), param)
    assert set(body) == {"error"} and len(body["error"]["message"]) < 300


def test_a_huge_silence_without_a_limit_fails_before_allocating(tmp_path, source):
    tw = TwistedWave(tmp_path / "store")
    job = tw.submit(_edit(source, {"command": "insert-silence", "length": 2**52}))
    assert job["state"] == "failed" and "the longest document" in job["error"]


@pytest.mark.parametrize(("data", "words"), [
    (b"[" * 5000 + b"]" * 5000, "nested deeper"), (b'{"edit": {"max_duration": 0}, "note": "\xff"}', "not UTF-8"),
])
def test_job_files_the_loader_refuses(tmp_path, data, words):
    body = refused(_create(tmp_path, data))
    assert words in body["error"]["message"]


def test_a_store_in_a_link_loop_and_read_only_commands(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    refused(cli("job", "list", "--store", tmp_path / "loop", "--json"), "store")
    refused(cli("job", "get", "job_nope", "--store", tmp_path / "st", "--json"), "store")
    refused(cli("document", "list", "--store", tmp_path / "st", "--json"), "store")
    assert not (tmp_path / "st").exists()


def test_locate_refuses_a_nul():
    with pytest.raises(TwistedWaveError, match="NUL"):
        transfer.locate("a\0b", "document.url")


def test_an_upload_answering_500_is_tried_again(tmp_path, source, monkeypatch):
    monkeypatch.setattr(transfer, "POST_BACKOFF_S", 0.01)
    server = Server()
    try:
        server.routes["/up"] = [status(500), status(503), ok()]
        job = TwistedWave(tmp_path / "store").submit(_output(source, url=server.url("/up")))
        assert job["state"] == "completed" and len(server.hits("/up")) == 3
        server.routes["/bad"] = status(400)
        job = TwistedWave(tmp_path / "store").submit(_output(source, url=server.url("/bad")))
        assert job["state"] == "failed" and len(server.hits("/bad")) == 1  # a refusal is not retried
    finally:
        server.close()


def test_a_failing_webhook_does_not_hold_up_the_job(tmp_path):
    server = Server()
    try:
        server.routes["/hook"] = status(500)
        tw = TwistedWave(tmp_path / "store", webhook=Webhook(server.url("/hook"), attempts=3, backoff=0.5))
        started = time.monotonic()
        job = tw.submit({"edit": {"max_duration": 0}})
        assert job["state"] == "completed" and time.monotonic() - started < 1.0
        assert tw.wait_for_notifications(20)
        assert all(n["given_up"] and n["attempts"] == 3 for n in tw.notifier.pending())
        path = tmp_path / "job.json"
        path.write_text(json.dumps({"edit": {"max_duration": 0}}))
        started = time.monotonic()
        code, _, _ = cli("job", "create", path, "--store", tmp_path / "store2", "--webhook", server.url("/hook"))
        assert code == 0 and time.monotonic() - started < 5.0  # the retries happen in a process of their own
        deadline = time.monotonic() + 30
        while len(server.hits("/hook")) < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(server.hits("/hook")) == 12  # that process still tried both notifications 3 times
    finally:
        server.close()
