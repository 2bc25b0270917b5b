"""TwistedWave jobs and documents: the document's examples as written, every rule of "Create a new job",
every state and transition, outputs, undo history, ttl, if_modified, downloads and pagination."""

from __future__ import annotations

import copy
import itertools
import json
import re

import numpy as np
import pytest

from mixdown.api_compat.twistedwave import JOB_TRANSITIONS, OUTPUT_TRANSITIONS, TwistedWave, TwistedWaveError
from mixdown.api_compat.twistedwave import runner as runner_module
from mixdown.api_compat.twistedwave.store import Store
from mixdown.formats import read
from tests.test_twistedwave_transfer import RATE, Server, ok, source_audio, write_source

# The document's examples, as printed (urls replaced per test).
EXAMPLE_REQUEST = {
    "document": {"url": "https://twistedwave.com/twr.wav", "title": "zozo", "ttl": 3600},
    "edit": {"max_duration": 60},
    "output": {"url": "http://172.16.53.1:3000/main/upload", "format": "wav", "bit_depth": 24},
    "note": "your metadata",
    "delete_document": False,
    "cancel_other": True,
}
EXAMPLE_RESPONSE = {
    "id": "job_3b4d892b", "state": "importing",
    "document": {"id": "doc_6e2980285", "title": "zozo", "ttl": 3600, "channels": 2, "duration": 0,
                 "sample_rate": 44100.0, "created_at": "2015-03-06T01:31:08.227Z"},
    "edit": {"token": "doc_6e2980285:hnpqhOBz4aj96YViQ4RS", "max_duration": 60},
    "output": {"state": "pending", "format": "wav", "url": "http://172.16.53.1:3000/main/upload", "bit_depth": 24},
    "note": "your metadata", "delete_document": False,
}
EXAMPLE_JOB = {
    "id": "job_3c6837c1", "state": "completed", "note": "your metadata",
    "document": {"id": "doc_6e4799cdb", "title": "zozo", "channels": 1, "duration": 2.56748, "sample_rate": 44100.0,
                 "created_at": "2015-03-06T01:25:09.067Z"},
    "edit": {"token": "doc_6e4799cdb:msMDGwc4SRL8PQ8qOAuc", "max_duration": 60,
             "connected_at": "2015-03-06T01:25:10.107Z", "completed_at": "2015-03-06T01:25:21.379Z"},
    "output": {"state": "completed", "format": "wav", "url": "http://172.16.53.1:3000/main/upload",
               "file_size": 339722, "bit_depth": 24},
    "delete_document": False,
}
EXAMPLE_OUTPUT = {"state": "completed", "format": "wav", "sample_rate": 44100,
                  "url": "http://172.16.53.1:3000/main/upload", "file_size": 339722, "bit_depth": 24}
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def shape(value):
    """The reply's shape: keys (recursively) and JSON types, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


class Clock:
    def __init__(self) -> None:
        self.now = 1_425_605_468.227  # 2015-03-06T01:31:08.227Z

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "take.wav", source_audio())


@pytest.fixture
def events():
    return []


@pytest.fixture
def tw(tmp_path, events):
    return TwistedWave(tmp_path / "store", on_notification=events.append)


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


def refused(tw, body, param, words=None):
    with pytest.raises(TwistedWaveError, match=words) as info:
        tw.create_job(body)
    assert info.value.param == param, info.value.body()
    assert info.value.body() == {"error": {"message": info.value.message, "param": param}}
    return info.value


def edit_job(doc=None, *commands, **extra):
    body = {"edit": {"max_duration": 0, "commands": list(commands)}, **extra}
    if doc is not None:
        body["document"] = {"id": doc}
    return body


# --- the document's examples ----------------------------------------------------------------------------


def test_example_request_runs_as_written_and_answers_in_the_documents_shapes(tmp_path, tw, source, server, events):
    server.routes["/main/upload"] = ok()
    body = copy.deepcopy(EXAMPLE_REQUEST)
    body["document"]["url"] = str(source)
    body["output"]["url"] = server.url("/main/upload")
    created = tw.create_job(body)
    expected = copy.deepcopy(EXAMPLE_RESPONSE)
    expected["output"]["url"] = body["output"]["url"]
    assert shape(created) == shape(expected)
    assert created["state"] == "importing" and created["output"]["state"] == "pending"
    assert {k: created["document"][k] for k in ("title", "ttl", "channels", "duration", "sample_rate")} == {
        "title": "zozo", "ttl": 3600, "channels": 2, "duration": 0, "sample_rate": 44100.0}
    assert re.fullmatch(r"job_[0-9a-f]{8}", created["id"]) and re.fullmatch(r"doc_[0-9a-f]{9}",
                                                                           created["document"]["id"])
    assert re.fullmatch(re.escape(created["document"]["id"]) + r":[A-Za-z0-9]{20}", created["edit"]["token"])
    assert STAMP.match(created["document"]["created_at"])
    assert json.loads(json.dumps(created)) == created

    job = tw.run_job(created["id"])
    expected_job = copy.deepcopy(EXAMPLE_JOB)
    expected_job["document"]["ttl"] = 3600
    assert shape(job) == shape(expected_job)
    assert job["state"] == "completed" and job["output"]["state"] == "completed"
    assert job["document"]["channels"] == 2 and job["document"]["duration"] == source_audio().shape[1] / RATE
    assert STAMP.match(job["edit"]["connected_at"]) and STAMP.match(job["edit"]["completed_at"])
    (post,) = server.hits("/main/upload")
    filename, content = post.parts()["file"]
    assert filename == "export.wav" and len(content) == job["output"]["file_size"]
    (tmp_path / "posted.wav").write_bytes(content)
    np.testing.assert_allclose(read(tmp_path / "posted.wav")[0], source_audio(), atol=2**-23)
    assert [e["type"] for e in events] == ["edit.completed", "job.completed"]
    assert events[-1] == {"type": "job.completed", "job": job}
    assert tw.get_job(job["id"]) == job


def test_example_output_object_is_accepted_with_its_read_only_attributes(tmp_path, tw, source):
    output = dict(EXAMPLE_OUTPUT, url=str(tmp_path / "out.wav"), sample_rate=22_050)
    job = tw.submit({"document": {"url": str(source)}, "output": output})
    assert job["state"] == "completed" and job["output"]["file_size"] == (tmp_path / "out.wav").stat().st_size
    assert job["output"]["file_size"] != 339722 and job["output"]["sample_rate"] == 22_050
    audio, rate = read(tmp_path / "out.wav")
    assert rate == 22_050 and audio.shape == (2, source_audio().shape[1] // 2)


def test_example_lists_and_notification_shapes(tmp_path, tw, events):
    source = write_source(tmp_path / "long.wav", source_audio(1.0))
    first = tw.submit({"document": {"url": str(source), "title": "zozo"},
                       "edit": {"max_duration": 60, "commands": [{"command": "add-marker", "position": 28458,
                                                                  "name": "Marker 1"}]},
                       "output": {"format": "wav", "bit_depth": 24}})
    doc = first["document"]["id"]
    assert first["state"] == "completed"
    second = tw.submit({"document": {"id": doc}, "edit": {"max_duration": 60}, "output": {"format": "wav"}})
    listing = tw.list_jobs(document=doc)
    assert set(listing) == {"has_more", "data"} and listing["has_more"] is False
    assert [job["id"] for job in listing["data"]] == [second["id"], first["id"]]
    assert listing["data"][1] == tw.get_job(first["id"])
    empties = [tw.create_job({"edit": {"max_duration": 0}})["document"]["id"] for _ in range(2)]
    documents = tw.list_documents(limit=2)
    assert documents["has_more"] is True and [d["id"] for d in documents["data"]] == empties[::-1]
    rest = tw.list_documents(limit=2, starting_after=empties[0])
    assert rest["has_more"] is False and len(rest["data"]) == 1
    assert rest["data"][0] == {"id": doc, "title": "zozo", "channels": 2,
                                    "duration": 1.0, "sample_rate": 44100.0, "markers": [[28458, "Marker 1"]],
                                    "created_at": first["document"]["created_at"]}
    completed = next(e for e in events if e["type"] == "job.completed")
    assert set(completed) == {"type", "job"} and completed["job"]["document"]["markers"] == [[28458, "Marker 1"]]


# --- rules of "Create a new job" ----------------------------------------------------------------------


def test_a_job_needs_something_to_do(tw, source):
    refused(tw, {}, "edit", "nothing to do")
    refused(tw, {"note": "x", "delete_document": False}, "edit", "nothing to do")
    refused(tw, {"output": {"format": "wav"}}, "edit", "new empty document needs an edit")
    refused(tw, {"document": {"title": "t"}, "output": {"format": "wav"}}, "edit", "empty document")
    refused(tw, {"document": {"url": str(source)}}, "edit", "nothing to do")


def test_empty_document_with_an_edit(tw, events):
    job = tw.submit(edit_job(None, {"command": "insert-silence", "length": 441}))
    assert job["state"] == "completed" and "output" not in job and job["delete_document"] is False
    assert job["document"]["channels"] == 2 and job["document"]["duration"] == 0.01
    assert "title" not in job["document"] and "ttl" not in job["document"]
    assert [e["type"] for e in events] == ["edit.completed", "job.completed"]


def test_document_id_and_url_input_and_document(tw, source):
    doc = tw.submit(edit_job())["document"]["id"]
    refused(tw, {"document": {"id": doc, "url": str(source)}, "edit": {"max_duration": 0}}, "document.url",
            "not both")
    refused(tw, {"input": {"url": str(source)}, "document": {"id": doc}, "edit": {"max_duration": 0}}, "input",
            "not both")
    error = refused(tw, edit_job("doc_000000000"), "document.id", "no such document")
    assert error.status == 404
    refused(tw, {"document": {"url": str(source) + ".missing"}, "edit": {"max_duration": 0}}, "document.url",
            "no such file")
    refused(tw, {"document": {"url": "s3://bucket/a.wav"}, "edit": {"max_duration": 0}}, "document.url", "s3")
    refused(tw, {"document": {"url": "ftp://host/a.wav"}, "edit": {"max_duration": 0}}, "document.url", "scheme")
    job = tw.submit({"input": {"url": f"file://{source}", "title": "older form"}, "output": {"format": "flac"},
                     "delete_document": False})
    assert job["state"] == "completed" and job["document"]["title"] == "older form"


def test_bad_values_are_refused_naming_the_attribute(tmp_path, tw, source):
    doc = {"url": str(source)}
    cases = [
        ({"document": {**doc, "ttl": 0}, "edit": {"max_duration": 0}}, "document.ttl"),
        ({"document": {**doc, "ttl": "1h"}, "edit": {"max_duration": 0}}, "document.ttl"),
        ({"document": {**doc, "color": "red"}, "edit": {"max_duration": 0}}, "document.color"),
        ({"document": doc, "edit": {}}, "edit.max_duration"),
        ({"document": doc, "edit": {"max_duration": -1}}, "edit.max_duration"),
        ({"document": doc, "edit": {"max_duration": 0, "show_menu": "no"}}, "edit.show_menu"),
        ({"document": doc, "edit": {"max_duration": 0, "recording_format": "flac"}}, "edit.recording_format"),
        ({"document": doc, "edit": {"max_duration": 0, "colors": {"sky": "#fff"}}}, "edit.colors"),
        ({"document": doc, "output": {"format": "wav", "bit_depth": 12}}, "output.bit_depth"),
        ({"document": doc, "output": {"format": "wave"}}, "output.format"),
        ({"document": doc, "output": {"bit_depth": 16}}, "output.format"),
        ({"document": doc, "output": {"format": "mp3", "url": "s3://b/x.mp3", "public": True}}, "output.public"),
        ({"document": doc, "output": {"format": "mp3", "url": "s3://b/x.mp3"}}, "output.url"),
        ({"document": doc, "output": {"format": "wav", "url": str(tmp_path / "no" / "x.wav")}}, "output.url"),
        ({"document": doc, "output": {"format": "wav", "post_note": True}}, "output.post_note"),
        ({"document": doc, "output": {"format": "wav", "url": str(tmp_path / "x.wav"), "post_note": True}},
         "output.post_note"),
        ({"document": doc, "output": {"format": "wav"}, "note": 7}, "note"),
        ({"document": doc, "output": {"format": "wav"}, "cancel_other": 1}, "cancel_other"),
        ({"document": doc, "output": {"format": "wav"}, "priority": 1}, "priority"),
        ({"document": doc, "edit": {"max_duration": 0, "commands": [{"command": "fade-in"}, {"command": "fly"}]}},
         "edit.commands[1].command"),
        ({"document": doc, "edit": {"max_duration": 0, "commands": [{"command": "amplify", "gain": "loud"}]}},
         "edit.commands[0].gain"),
    ]
    for body, param in cases:
        refused(tw, body, param)
    with pytest.raises(TwistedWaveError) as info:
        tw.create_job([1, 2])
    assert info.value.body() == {"error": {"message": "expected a job object, got list", "param": None}}
    assert tw.list_jobs()["data"] == [] and tw.list_documents()["data"] == []  # nothing was recorded


def test_delete_document_defaults_and_rules(tmp_path, tw, source):
    with_url = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav", "url": str(tmp_path)}})
    assert with_url["delete_document"] is True and "deleted_at" in with_url["document"]
    assert (tmp_path / "export.wav").is_file()
    kept = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav"}})
    assert kept["delete_document"] is False and "deleted_at" not in kept["document"]
    refused(tw, {"document": {"id": kept["document"]["id"]}, "output": {"format": "wav"}, "delete_document": True},
            "delete_document", "lost")
    refused(tw, edit_job(kept["document"]["id"], delete_document=True), "delete_document")
    explicit = tw.submit({"document": {"id": kept["document"]["id"]}, "delete_document": False,
                          "output": {"format": "wav", "url": str(tmp_path / "again.wav")}})
    assert explicit["delete_document"] is False and "deleted_at" not in explicit["document"]
    # the document is never deleted when the job fails
    failing = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "crop", "selection": [0, 10**9]}]}, "output": {"format": "wav", "url": str(tmp_path / "f.wav")}})
    assert failing["state"] == "failed" and failing["delete_document"] is True
    assert "deleted_at" not in failing["document"] and not (tmp_path / "f.wav").exists()


def test_an_edit_must_be_the_only_active_job_unless_cancel_other(tw, source, events):
    doc = tw.submit(edit_job(None, {"command": "insert-silence", "length": 100}))["document"]["id"]
    first = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    assert first["state"] == "exporting"
    error = refused(tw, edit_job(doc), "cancel_other", first["id"])
    assert error.status == 409
    second = tw.create_job({"document": {"id": doc}, "output": {"format": "flac"}})
    assert second["state"] == "pending" and second["output"]["state"] == "pending"
    third = tw.create_job(edit_job(doc, {"command": "amplify", "gain": -6}, cancel_other=True))
    assert third["state"] == "editing"
    for cancelled in (first, second):
        job = tw.get_job(cancelled["id"])
        assert job["state"] == "cancelled" and job["output"]["state"] == "cancelled"
    assert tw.run_job(third["id"])["state"] == "completed"
    assert [e["type"] for e in events].count("job.completed") == 2  # cancellations notify nothing


def test_output_jobs_wait_for_earlier_jobs_on_the_document_and_run_in_order(tw, source):
    edit = tw.create_job({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "amplify", "gain": -6}]}})
    exports = [tw.create_job({"document": {"id": edit["document"]["id"]}, "output": {"format": "wav"}})
               for _ in range(3)]
    assert [job["state"] for job in exports] == ["pending"] * 3
    other = tw.create_job(edit_job(None))  # another document: not held up
    assert other["state"] == "editing"
    last = tw.run_job(exports[-1]["id"])  # runs the earlier ones first
    assert last["state"] == "completed"
    rows = Store(tw.store.folder).connection().execute(
        "SELECT id, started_at, finished_at FROM jobs WHERE doc_id = ? ORDER BY seq",
        (edit["document"]["id"],)).fetchall()
    assert [row["id"] for row in rows] == [edit["id"]] + [job["id"] for job in exports]
    for before, after in itertools.pairwise(rows):
        assert before["finished_at"] <= after["started_at"]
    assert all(tw.get_job(job["id"])["state"] == "completed" for job in exports)
    assert tw.get_job(other["id"])["state"] == "editing"  # nobody ran it


def test_pending_job_runs_once_the_earlier_one_failed_or_was_cancelled(tw, source):
    doc = tw.submit(edit_job(None, {"command": "insert-silence", "length": 100}))["document"]["id"]
    broken = tw.create_job({"document": {"id": doc}, "output": {"format": "wav", "end_sample": 10**6}})
    waiting = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    assert tw.run_job(waiting["id"])["state"] == "completed"
    failed = tw.get_job(broken["id"])
    assert failed["state"] == "failed" and failed["error"].startswith("output.end_sample:")
    cancelled = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    after = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    tw.cancel_job(cancelled["id"])
    assert tw.run_job(after["id"])["state"] == "completed"
    # cancel_other also serves an output-only job: it starts at once instead of waiting
    held = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    jumping = tw.create_job({"document": {"id": doc}, "output": {"format": "flac"}, "cancel_other": True})
    assert jumping["state"] == "exporting" and tw.get_job(held["id"])["state"] == "cancelled"


# --- states and transitions -----------------------------------------------------------------------------


@pytest.fixture
def moves(monkeypatch):
    """Every (job state, output state) a job moves to, as the runner records it."""
    recorded = []
    original = runner_module.move

    def recording(conn, job, state, owner, **kwargs):
        row = original(conn, job, state, owner, **kwargs)
        output = json.loads(row["output"])["state"] if row["output"] else None
        recorded.append((row["state"], output))
        return row

    monkeypatch.setattr(runner_module, "move", recording)
    return recorded


def test_states_of_an_import_edit_send_job(tmp_path, tw, source, moves):
    job = tw.create_job({"document": {"url": str(source)}, "edit": {"max_duration": 0},
                         "output": {"format": "wav", "url": str(tmp_path / "o.wav")}})
    assert (job["state"], job["output"]["state"]) == ("importing", "pending")
    tw.run_job(job["id"])
    assert moves == [("editing", "pending"), ("editing", "pending"), ("exporting", "pending"),
                     ("exporting", "encoding"), ("exporting", "sending"), ("completed", "completed")]


def test_states_of_a_kept_output_and_a_skipped_one(tw, source, moves):
    job = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav", "if_modified": True}})
    assert moves == [("exporting", "pending"), ("exporting", "encoding"), ("completed", "completed")]
    moves.clear()
    again = tw.submit({"document": {"id": job["document"]["id"]}, "output": {"format": "wav", "if_modified": True}})
    assert moves == [("completed", "skipped")]
    assert again["output"] == {"state": "skipped", "format": "wav", "if_modified": True}
    with pytest.raises(TwistedWaveError, match="skipped") as info:
        tw.download(again["id"], "unused.wav")
    assert info.value.status == 404


def test_states_of_failed_and_cancelled_jobs(tw, source):
    failed = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "silence", "selection": [0, 10**7]}]}, "output": {"format": "wav"}})
    assert (failed["state"], failed["output"]["state"]) == ("failed", "failed")
    assert failed["error"].startswith("edit.commands[0].selection: silence:")
    assert "completed_at" not in failed["edit"] and "connected_at" in failed["edit"]
    pending = tw.create_job({"document": {"url": str(source)}, "output": {"format": "wav"}})
    cancelled = tw.cancel_job(pending["id"])
    assert (cancelled["state"], cancelled["output"]["state"]) == ("cancelled", "cancelled")
    assert tw.cancel_job(pending["id"]) == cancelled
    assert tw.run_job(pending["id"])["state"] == "cancelled"
    for done in (failed["id"], tw.submit(edit_job())["id"]):
        with pytest.raises(TwistedWaveError, match="only an active job") as info:
            tw.cancel_job(done)
        assert info.value.status == 409 and info.value.param == "id"


def test_cancel_never_deletes_the_document(tmp_path, tw, source):
    job = tw.create_job({"document": {"url": str(source)}, "delete_document": True,
                         "output": {"format": "wav", "url": str(tmp_path / "x.wav")}})
    tw.cancel_job(job["id"])
    assert "deleted_at" not in tw.get_document(job["document"]["id"])


def test_transition_tables_are_enforced(tmp_path, tw):
    assert set(JOB_TRANSITIONS) == {"pending", "importing", "editing", "exporting", "completed", "failed",
                                    "cancelled"}
    assert set(OUTPUT_TRANSITIONS) == {"pending", "encoding", "sending", "completed", "skipped", "failed",
                                       "cancelled"}
    job = tw.submit(edit_job())
    with tw.store.transaction() as conn:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        with pytest.raises(AssertionError, match="completed -> editing"):
            runner_module.move(conn, row, "editing", None)
    fresh = tw.create_job(edit_job())
    with tw.store.transaction() as conn:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (fresh["id"],)).fetchone()
        conn.execute("UPDATE jobs SET state = 'cancelled' WHERE id = ?", (fresh["id"],))
        with pytest.raises(runner_module.StaleJobError):  # cancelled meanwhile: the step's result is dropped
            runner_module.move(conn, row, "completed", None)


def test_a_job_cancelled_while_it_edits_keeps_the_document_as_it_was(tw, source, monkeypatch):
    job = tw.create_job({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "amplify", "gain": -6}, {"command": "reverse"}]}, "output": {"format": "wav"}})
    original = runner_module.offline_edits.apply

    def cancel_midway(command, take, index):
        if index == 1:
            tw.cancel_job(job["id"])
        return original(command, take, index)

    monkeypatch.setattr(runner_module.offline_edits, "apply", cancel_midway)
    done = tw.run_job(job["id"])
    assert done["state"] == "cancelled" and done["output"]["state"] == "cancelled"
    rows = tw.store.connection().execute("SELECT name FROM history WHERE doc_id = ?",
                                         (job["document"]["id"],)).fetchall()
    assert [row["name"] for row in rows] == ["import"]
    # the amplified state's audio, written before the cancel, was removed with the abandoned edit
    assert len(list((tw.store.folder / "audio" / job["document"]["id"]).iterdir())) == 1


def test_recover_sweeps_files_nothing_refers_to(tmp_path, tw, source):
    kept = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav"}})
    doc, job_id = kept["document"]["id"], kept["id"]
    store = tw.store.folder
    (store / "audio" / doc / "0123456789abcdef.npy").write_bytes(b"orphan")
    (store / "audio" / "doc_gone00000").mkdir()
    (store / "outputs" / job_id / ".export.wav.x.part.wav").write_bytes(b"partial")
    (store / "outputs" / "job_unknown").mkdir()
    (store / "tmp" / "job_dead0000-1.wav").write_bytes(b"download")
    tw.recover()
    assert len(list((store / "audio" / doc).iterdir())) == 1
    assert [p.name for p in (store / "outputs" / job_id).iterdir()] == ["export.wav"]
    assert sorted(p.name for p in (store / "audio").iterdir()) == [doc]
    assert [p.name for p in (store / "outputs").iterdir()] == [job_id] and not list((store / "tmp").iterdir())
    assert tw.download(job_id, tmp_path / "still.wav").is_file()


def test_a_store_of_another_schema_version_is_refused(tmp_path):
    from mixdown.api_compat.twistedwave import StoreError

    store = Store(tmp_path / "store")
    store.connection().execute("PRAGMA user_version = 99")
    store.close()
    with pytest.raises(StoreError, match="schema version 99"):
        TwistedWave(tmp_path / "store")


# --- edits on documents: undo history, max_duration -------------------------------------------------------


def _document_audio(tw, tmp_path, doc, name):
    job = tw.submit({"document": {"id": doc}, "output": {"format": "wav", "bit_depth": 32}})
    return read(tw.download(job["id"], tmp_path / name))[0]


def test_undo_history_is_kept_across_jobs(tmp_path, tw, source):
    audio = source_audio()
    doc = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "amplify", "gain": -6.0206}, {"command": "add-marker", "position": 10}]}})["document"]["id"]
    half = _document_audio(tw, tmp_path, doc, "a.wav")
    np.testing.assert_allclose(half, audio * 0.5, atol=1e-6)
    undone = tw.submit(edit_job(doc, {"command": "undo"}, {"command": "undo"}))
    assert "markers" not in undone["document"]
    np.testing.assert_allclose(_document_audio(tw, tmp_path, doc, "b.wav"), audio, atol=2**-30)
    redone = tw.submit(edit_job(doc, {"command": "redo"}, {"command": "redo"}))
    assert redone["document"]["markers"] == [[10, "Marker 1"]]
    np.testing.assert_allclose(_document_audio(tw, tmp_path, doc, "c.wav"), audio * 0.5, atol=1e-6)
    # undoing past the import is an error naming the command; the failed job changes nothing
    too_far = tw.submit(edit_job(doc, {"command": "undo"}, {"command": "undo"}, {"command": "undo"}))
    assert too_far["state"] == "failed" and too_far["error"] == "edit.commands[2].command: nothing to undo"
    assert tw.get_document(doc)["markers"] == [[10, "Marker 1"]]
    # a new edit after an undo discards what could have been redone
    tw.submit(edit_job(doc, {"command": "undo"}, {"command": "reverse"}))
    history = [row["name"] for row in tw.store.connection().execute(
        "SELECT name FROM history WHERE doc_id = ? ORDER BY position", (doc,))]
    assert history == ["import", "amplify", "reverse"]
    assert tw.submit(edit_job(doc, {"command": "redo"}))["error"] == "edit.commands[0].command: nothing to redo"
    np.testing.assert_allclose(_document_audio(tw, tmp_path, doc, "d.wav"), audio[:, ::-1] * 0.5, atol=1e-6)
    assert len(list((tw.store.folder / "audio" / doc).glob("*.npy"))) == 3  # the discarded state's audio is gone


def test_max_duration_stops_edits_that_make_the_document_longer(tw, source):
    seconds = source_audio().shape[1] / RATE
    longer = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0.6, "commands": [
        {"command": "insert-silence", "length": 0.05, "unit": "seconds"},
        {"command": "insert-silence", "length": 0.1, "unit": "seconds"}]}})
    assert longer["state"] == "failed" and longer["error"].startswith("edit.commands[1]: insert-silence would make")
    shorter = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0.1, "commands": [
        {"command": "crop", "selection": [0, 0.4], "unit": "seconds"}]}})
    assert shorter["state"] == "completed" and shorter["document"]["duration"] == 0.4 < seconds
    unlimited = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "insert-silence", "length": 10, "unit": "seconds"}]}})
    assert unlimited["document"]["duration"] == seconds + 10


def test_edit_results_reach_the_export(tmp_path, tw, source):
    audio = source_audio()
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "crop", "selection": [1000, 5000]}, {"command": "fade-in", "selection": [0, 400]},
        {"command": "convert-to-mono"}]}, "output": {"format": "wav", "bit_depth": 32,
                                                      "url": str(tmp_path / "o.wav")}})
    assert job["document"]["channels"] == 1 and job["document"]["duration"] == 4000 / RATE
    out = read(tmp_path / "o.wav")[0]
    mono = (audio[0, 1000:5000] + audio[1, 1000:5000]) / 2
    mono[:400] = (audio[0, 1000:1400] * (np.arange(400) / 400) + audio[1, 1000:1400] * (np.arange(400) / 400)) / 2
    np.testing.assert_allclose(out[0], mono, atol=1e-6)


def test_output_range_and_sample_rate_apply_to_the_export_only(tw, tmp_path, source):
    doc = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav", "bit_depth": 32,
                                                                   "begin_sample": 100, "end_sample": 1100}})
    assert doc["state"] == "completed"
    part = read(tw.download(doc["id"], tmp_path / "part.wav"))[0]
    np.testing.assert_allclose(part, source_audio()[:, 100:1100], atol=2**-30)
    assert tw.get_document(doc["document"]["id"])["sample_rate"] == 44100.0


# --- documents, ttl, downloads ------------------------------------------------------------------------------


def test_documents_get_delete_and_downloads_after_delete(tmp_path, tw, source):
    job = tw.submit({"document": {"url": str(source), "title": "zozo"}, "output": {"format": "wav"}})
    doc = job["document"]["id"]
    assert tw.get_document(doc) == job["document"]
    assert tw.download(job["id"], tmp_path).name == "export.wav"
    waiting = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    deleted = tw.delete_document(doc)
    assert STAMP.match(deleted["deleted_at"]) and tw.delete_document(doc) == deleted
    assert tw.get_job(waiting["id"])["state"] == "cancelled"
    assert not (tw.store.folder / "audio" / doc).exists()
    with pytest.raises(TwistedWaveError, match="deleted") as info:
        tw.download(job["id"], tmp_path / "again.wav")
    assert info.value.status == 404
    refused(tw, {"document": {"id": doc}, "output": {"format": "wav"}}, "document.id", "deleted")
    assert tw.list_documents()["data"] == []
    assert tw.list_documents(include_deleted=True)["data"] == [deleted]
    for call in (lambda: tw.get_document("doc_nothere0"), lambda: tw.delete_document("doc_nothere0"),
                 lambda: tw.get_job("job_nothere"), lambda: tw.cancel_job("job_nothere")):
        with pytest.raises(TwistedWaveError) as info:
            call()
        assert info.value.status == 404 and info.value.param == "id"


def test_download_refusals(tmp_path, tw, source):
    sent = tw.submit({"document": {"url": str(source)}, "output": {"format": "wav", "url": str(tmp_path)},
                      "delete_document": False})
    with pytest.raises(TwistedWaveError, match="only an output without a url"):
        tw.download(sent["id"], tmp_path / "x.wav")
    with pytest.raises(TwistedWaveError, match="has no output"):
        tw.download(tw.submit(edit_job())["id"], tmp_path / "x.wav")
    pending = tw.create_job({"document": {"url": str(source)}, "output": {"format": "wav"}})
    with pytest.raises(TwistedWaveError, match="pending") as info:
        tw.download(pending["id"], tmp_path / "x.wav")
    assert info.value.status == 409 and not (tmp_path / "x.wav").exists()


def test_ttl_expires_documents_last_edited_ttl_seconds_ago(tmp_path, source):
    clock = Clock()
    events = []
    tw = TwistedWave(tmp_path / "store", clock=clock, on_notification=events.append)
    job = tw.submit({"document": {"url": str(source), "ttl": 60}, "output": {"format": "wav"}})
    doc = job["document"]["id"]
    assert job["document"]["created_at"] == "2015-03-06T01:31:08.227Z"
    clock.now += 50
    tw.submit(edit_job(doc, {"command": "reverse"}))  # an edit restarts the ttl
    clock.now += 59.9
    assert "deleted_at" not in tw.get_document(doc)
    busy = tw.create_job({"document": {"id": doc}, "output": {"format": "wav"}})
    clock.now += 1
    assert "deleted_at" not in tw.get_document(doc)  # an active job holds it
    tw.cancel_job(busy["id"])
    expired = tw.get_document(doc)
    assert expired["deleted_at"] == "2015-03-06T01:32:59.127Z"  # 110.9 s after creation
    assert events[-1] == {"type": "document.expired", "document": expired}
    assert [e["type"] for e in events].count("document.expired") == 1
    assert not (tw.store.folder / "audio" / doc).exists()
    with pytest.raises(TwistedWaveError, match="deleted"):
        tw.download(job["id"], tmp_path / "x.wav")
    never = tw.submit(edit_job())
    clock.now += 10**9
    assert "deleted_at" not in tw.get_document(never["document"]["id"])


def test_title_and_ttl_of_an_existing_document_can_be_set(tw):
    doc = tw.submit(edit_job())["document"]["id"]
    job = tw.submit({"document": {"id": doc, "title": "renamed", "ttl": 30}, "edit": {"max_duration": 0}})
    assert job["document"]["title"] == "renamed" and job["document"]["ttl"] == 30


# --- lists ---------------------------------------------------------------------------------------------------


def test_pagination_edges(tw):
    jobs = [tw.create_job(edit_job())["id"] for _ in range(105)]
    newest_first = jobs[::-1]
    page = tw.list_jobs()
    assert [j["id"] for j in page["data"]] == newest_first[:10] and page["has_more"] is True
    one = tw.list_jobs(limit=1)
    assert [j["id"] for j in one["data"]] == newest_first[:1] and one["has_more"] is True
    hundred = tw.list_jobs(limit=100)
    assert [j["id"] for j in hundred["data"]] == newest_first[:100] and hundred["has_more"] is True
    rest = tw.list_jobs(limit=100, starting_after=newest_first[99])
    assert [j["id"] for j in rest["data"]] == newest_first[100:] and rest["has_more"] is False
    exact = tw.list_jobs(limit=5, starting_after=newest_first[99])
    assert len(exact["data"]) == 5 and exact["has_more"] is False
    assert tw.list_jobs(starting_after=newest_first[-1]) == {"has_more": False, "data": []}
    for bad in (101, 0, -1, True, 2.5, "10"):
        with pytest.raises(TwistedWaveError) as info:
            tw.list_jobs(limit=bad)
        assert info.value.param == "limit"
    with pytest.raises(TwistedWaveError) as info:
        tw.list_jobs(starting_after="job_00000000")
    assert info.value.param == "starting_after" and info.value.status == 404
    with pytest.raises(TwistedWaveError) as info:
        tw.list_jobs(document="doc_000000000")
    assert info.value.param == "document"
    documents = tw.list_documents(limit=100)
    assert len(documents["data"]) == 100 and documents["has_more"] is True
    last = tw.list_documents(limit=100, starting_after=documents["data"][-1]["id"])
    assert len(last["data"]) == 5 and last["has_more"] is False
    with pytest.raises(TwistedWaveError) as info:
        tw.list_documents(starting_after="job_" + jobs[0][4:])
    assert info.value.param == "starting_after"


def test_job_list_filtered_by_document(tw):
    doc = tw.submit(edit_job())["document"]["id"]
    mine = [tw.submit(edit_job(doc))["id"] for _ in range(3)]
    tw.submit(edit_job())
    listing = tw.list_jobs(document=doc, limit=2)
    assert [j["id"] for j in listing["data"]] == mine[::-1][:2] and listing["has_more"] is True
    tail = tw.list_jobs(document=doc, limit=2, starting_after=mine[1])
    assert [j["id"] for j in tail["data"]] == [mine[0], tw.list_jobs(document=doc, limit=4)["data"][-1]["id"]]
    assert tail["has_more"] is False


def test_run_job_counts_its_steps_for_a_progress_line(tw, source):
    body = edit_job(None, {"command": "amplify", "gain": -3}, {"command": "undo"}, {"command": "reverse"},
                    document={"url": str(source)}, output={"format": "wav"})
    steps = []
    job = tw.run_job(tw.create_job(body)["id"], on_step=lambda done, total: steps.append((done, total)))
    assert job["state"] == "completed"
    # The import, each of the three commands and the export: five steps, reported as each ends.
    assert steps == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    edited = tw.run_job(tw.create_job(edit_job(job["document"]["id"], {"command": "normalize"}))["id"],
                        on_step=lambda done, total: steps.append((done, total)))
    assert edited["state"] == "completed" and steps[-1] == (1, 1)
