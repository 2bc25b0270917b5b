"""``mixdown job ...`` and ``mixdown document ...``, through argparse as the ``mixdown`` entry point runs them."""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

import numpy as np
import pytest

from mixdown import cli as mixdown_cli
from mixdown.api_compat.twistedwave import TwistedWave
from mixdown.api_compat.twistedwave.commands import add_commands
from mixdown.errors import MixdownError
from mixdown.formats import read
from tests.test_twistedwave_transfer import Server, ok, source_audio, write_source


def _wired() -> bool:
    """Whether ``mixdown.cli`` registers these commands itself."""
    for action in mixdown_cli._parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return "job" in action.choices
    return False


def _main(argv: list[str]) -> int:
    """What ``mixdown.cli.main`` does with a command's ``run`` and ``on_error``."""
    parser = argparse.ArgumentParser(prog="mixdown")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except MixdownError as error:
        args.on_error(args, error)
        print(f"mixdown {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code


@pytest.fixture
def mixdown(capsys, tmp_path):
    store = str(tmp_path / "store")
    main = mixdown_cli.main if _wired() else _main

    def run(*argv: str, store_option: bool = True) -> tuple[int, object, str]:
        capsys.readouterr()
        code = main([*argv, "--store", store, "--json"] if store_option else [*argv, "--json"])
        captured = capsys.readouterr()
        try:
            reply = json.loads(captured.out)
        except json.JSONDecodeError:
            reply = captured.out
        return code, reply, captured.err

    run.store = store
    return run


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "take.wav", source_audio())


def _job_file(tmp_path, body, name="job.json"):
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return str(path)


def test_job_create_runs_the_job_and_prints_it(tmp_path, mixdown, source):
    body = {"document": {"url": str(source), "title": "zozo"}, "note": "n",
            "edit": {"max_duration": 60, "commands": [{"command": "reverse"}]},
            "output": {"format": "wav", "bit_depth": 32, "url": str(tmp_path / "out.wav")}}
    code, job, err = mixdown("job", "create", _job_file(tmp_path, body))
    assert code == 0 and err == ""
    assert job["state"] == "completed" and job["output"]["state"] == "completed" and job["note"] == "n"
    np.testing.assert_allclose(read(tmp_path / "out.wav")[0], source_audio()[:, ::-1], atol=2**-30)
    code, again, _ = mixdown("job", "get", job["id"])
    assert code == 0 and again == job


def test_refused_job_exits_2_with_the_error_body(tmp_path, mixdown, source):
    code, reply, err = mixdown("job", "create", _job_file(tmp_path, {"document": {"url": str(source)},
                                                                      "output": {"format": "wav", "bit_depth": 12}}))
    assert code == 2 and set(reply) == {"error"} and reply["error"]["param"] == "output.bit_depth"
    assert err.startswith("mixdown job: error: output.bit_depth:")
    code, reply, _ = mixdown("job", "create", _job_file(tmp_path, {"output": {"format": "wav"}}))
    assert code == 2 and reply["error"]["param"] == "edit"
    (tmp_path / "bad.json").write_text("{nope")
    code, reply, _ = mixdown("job", "create", str(tmp_path / "bad.json"))
    assert code == 2 and reply["error"]["param"] is None and "not valid JSON" in reply["error"]["message"]
    code, reply, _ = mixdown("job", "create", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in reply["error"]["message"]
    code, listing, _ = mixdown("job", "list")
    assert code == 0 and listing == {"has_more": False, "data": []}


def test_job_that_fails_exits_1_and_prints_the_failed_job(tmp_path, mixdown, source):
    body = {"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "crop", "selection": [0, 10**8]}]}}
    code, job, _ = mixdown("job", "create", _job_file(tmp_path, body))
    assert code == 1 and job["state"] == "failed" and job["error"].startswith("edit.commands[0].selection")


def test_job_create_reads_stdin(tmp_path, mixdown, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"edit": {"max_duration": 0}})))
    code, job, _ = mixdown("job", "create", "-")
    assert code == 0 and job["state"] == "completed"


def test_list_cancel_download_and_documents(tmp_path, mixdown, source):
    tw = TwistedWave(mixdown.store)
    first = tw.submit({"document": {"url": str(source)}, "output": {"format": "flac"}})
    doc = first["document"]["id"]
    second = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})

    code, page, _ = mixdown("job", "list", "--limit", "1")
    assert code == 0 and [j["id"] for j in page["data"]] == [second["id"]] and page["has_more"] is True
    code, page, _ = mixdown("job", "list", "--starting-after", second["id"], "--document", doc)
    assert [j["id"] for j in page["data"]] == [first["id"]] and page["has_more"] is False
    for limit in ("101", "0", "ten"):
        code, reply, _ = mixdown("job", "list", "--limit", limit)
        assert code == 2 and reply["error"]["param"] == "limit"
    code, reply, _ = mixdown("job", "list", "--starting-after", "job_00000000")
    assert code == 2 and reply["error"]["param"] == "starting_after"

    code, cancelled, _ = mixdown("job", "cancel", second["id"])
    assert code == 0 and cancelled["state"] == "cancelled" and cancelled["output"]["state"] == "cancelled"
    code, reply, _ = mixdown("job", "cancel", first["id"])
    assert code == 2 and reply["error"]["param"] == "id" and "completed" in reply["error"]["message"]

    code, reply, _ = mixdown("job", "download", first["id"], "-o", str(tmp_path / "got.flac"))
    assert code == 0 and reply == {"id": first["id"], "file": str(tmp_path / "got.flac"),
                                   "file_size": first["output"]["file_size"]}
    np.testing.assert_allclose(read(tmp_path / "got.flac")[0], source_audio(), atol=2**-13)  # 16 bits, dithered

    code, document, _ = mixdown("document", "get", doc)
    assert code == 0 and document == tw.get_document(doc)
    code, page, _ = mixdown("document", "list", "--limit", "100")
    assert code == 0 and page == {"has_more": False, "data": [document]}
    code, deleted, _ = mixdown("document", "delete", doc)
    assert code == 0 and "deleted_at" in deleted
    code, page, _ = mixdown("document", "list")
    assert page["data"] == []
    code, page, _ = mixdown("document", "list", "--include-deleted")
    assert page["data"] == [deleted]
    code, reply, _ = mixdown("job", "download", first["id"], "-o", str(tmp_path / "late.flac"))
    assert code == 2 and "deleted" in reply["error"]["message"] and not (tmp_path / "late.flac").exists()
    code, reply, _ = mixdown("document", "get", "doc_000000000")
    assert code == 2 and reply == {"error": {"message": "no such document: doc_000000000", "param": "id"}}


def test_job_run_runs_a_job_created_elsewhere(mixdown):
    job = TwistedWave(mixdown.store).create_job({"edit": {"max_duration": 0}})
    code, done, _ = mixdown("job", "run", job["id"])
    assert code == 0 and done["state"] == "completed"


def test_webhook_option_and_default_store(tmp_path, mixdown, monkeypatch):
    server = Server()
    try:
        server.routes["/hook"] = ok()
        job_file = _job_file(tmp_path, {"edit": {"max_duration": 0}})
        code, job, _ = mixdown("job", "create", job_file, "--webhook", server.url("/hook"))
        assert code == 0
        deadline = time.monotonic() + 30  # a process of its own delivers: the command did not wait for it
        while len(server.hits("/hook")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [hit.json()["type"] for hit in server.hits("/hook")] == ["edit.completed", "job.completed"]
        assert server.hits("/hook")[1].json()["job"] == job
    finally:
        server.close()
    monkeypatch.setenv("MIXDOWN_HOME", str(tmp_path / "home"))
    code, job, _ = mixdown("job", "create", job_file, store_option=False)
    assert code == 0 and (tmp_path / "home" / "twistedwave" / "twistedwave.db").is_file()
