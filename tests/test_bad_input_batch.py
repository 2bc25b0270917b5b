"""Batch manifests and runs a user gets wrong (issue 18) and what a run must keep (issue 13): refusals
naming the line and field, outputs confined to --out, one job per output, history and torn lines in
results.jsonl, Ctrl-C records."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from mixdown.batch.kinds import default_output
from mixdown.batch.manifest import read_manifest
from mixdown.batch.runner import RESULTS, Summary, _interrupted, previous_results, run_batch
from mixdown.errors import InvalidInputError
from tests.bad_input import cli, refused

TWOSHOT = {"kind": "twoshot", "project": {"tempo": 120, "tracks": []}, "library": "lib"}


def _manifest(tmp_path, *jobs, raw: bytes | None = None):
    path = tmp_path / "m.jsonl"
    path.write_bytes(raw if raw is not None else b"\n".join(json.dumps(j).encode() for j in jobs) + b"\n")
    return path


@pytest.mark.parametrize(("job", "field"), [
    ({"kind": "twoshot", "project": {}}, "line 1.library"),
    ({"kind": "twoshot", "library": "lib"}, "line 1.project"),
    ({"kind": "songclip", "spec": {}}, "line 1.song"),
    ({"kind": "songclip", "song": "s.wav"}, "line 1.spec"),
    ({"kind": "twistedwave"}, "line 1.job"),
    ({"kind": "twistedwave", "job": [1]}, "line 1.job"),
    ({**TWOSHOT, "output": 5}, "line 1.output"),
    ({**TWOSHOT, "library": 7}, "line 1.library"),
    ({**TWOSHOT, "output": "../x.wav"}, "line 1.output"),
    ({**TWOSHOT, "output": "/tmp/x.wav"}, "line 1.output"),
    ({**TWOSHOT, "output": "a/../../x.wav"}, "line 1.output"),
])
def test_manifest_jobs_that_cannot_run_are_refused_before_any_runs(tmp_path, job, field):
    with pytest.raises(InvalidInputError) as caught:
        read_manifest(_manifest(tmp_path, job))
    assert caught.value.field == field
    assert refused(cli("batch", _manifest(tmp_path, job), "--out", tmp_path / "o"), field) is None
    assert not (tmp_path / "o").exists()


def test_two_jobs_with_one_output_are_refused(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        read_manifest(_manifest(tmp_path, {**TWOSHOT, "output": "a.wav"}, {**TWOSHOT, "output": "./a.wav"}))
    assert caught.value.field == "line 2.output"
    with pytest.raises(InvalidInputError):  # an explicit name equal to another job's default name
        read_manifest(_manifest(tmp_path, TWOSHOT, {**TWOSHOT, "output": "00000-twoshot.wav"}))


@pytest.mark.parametrize(("raw", "words"), [
    (b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper"),
    (b'{"kind": "twoshot", "library": "\xff"}\n', "not UTF-8"),
    (b'{"kind": "twoshot", "x": NaN}\n', "NaN"),
])
def test_manifest_lines_the_loader_refuses(tmp_path, raw, words):
    code, _, err = cli("batch", _manifest(tmp_path, raw=raw), "--out", tmp_path / "o")
    refused((code, "", err), "line 1")
    assert words in err


def test_workers_and_out_that_cannot_be(tmp_path):
    manifest = _manifest(tmp_path, TWOSHOT)
    refused(cli("batch", manifest, "--out", tmp_path / "o", "--workers", "-3"), "--workers")
    (tmp_path / "file").write_text("x")
    refused(cli("batch", manifest, "--out", tmp_path / "file"), "--out")
    assert (tmp_path / "file").read_text() == "x"


def test_a_twoshot_default_name_takes_the_render_body_format(tmp_path):
    assert default_output(3, {"kind": "twoshot", "project": {"project": {}, "render": {"format": "mp3"}}}) \
        == "00003-twoshot.mp3"
    assert default_output(3, {**TWOSHOT, "render": {"format": "flac"}}) == "00003-twoshot.flac"
    (tmp_path / "p.json").write_text(json.dumps({"project": {}, "render": {"format": "m4a"}}))
    assert default_output(0, {"kind": "twoshot", "project_file": "p.json"}, tmp_path).endswith(".m4a")
    assert default_output(0, {**TWOSHOT, "format": "../../x"}) == "00000-twoshot.wav"


def _failing_jobs(tmp_path, count=2):
    """Jobs that fail at once (no library): a run without rendering anything."""
    return read_manifest(_manifest(tmp_path, *[{**TWOSHOT, "id": f"j{i}"} for i in range(count)]))


def test_results_keep_history_and_a_torn_line_is_not_glued(tmp_path):
    out = tmp_path / "out"
    with ThreadPoolExecutor(2) as pool:
        run_batch(_failing_jobs(tmp_path), out, executor=pool)
        with (out / RESULTS).open("a") as handle:
            handle.write('{"index": 0, "status": "ok", "out')  # a kill in the middle of a record
        run_batch(_failing_jobs(tmp_path), out, executor=pool, resume=True)
        run_batch(_failing_jobs(tmp_path), out, executor=pool)
    lines = (out / RESULTS).read_text().splitlines()
    headers = [json.loads(line)["run"] for line in lines if line.startswith('{"run"')]
    assert [h["resume"] for h in headers] == [False, True, False]
    parsed = [line for line in lines if not line.startswith('{"index": 0, "status": "ok", "out')]
    assert all(json.loads(line) for line in parsed)
    assert len(parsed) == 3 + 3 * 2  # every record of every run is kept, none glued to the torn line
    assert set(previous_results(out)) == {0, 1}


def test_a_pure_resume_reports_no_speed(tmp_path):
    summary = Summary(total=3, skipped=3, wall_seconds=0.5)
    assert summary.as_dict()["x_realtime"] is None


def test_ctrl_c_records_what_finished_and_cancels_what_ran(tmp_path):
    jobs = _failing_jobs(tmp_path, 3)
    finished, running, waiting = Future(), Future(), Future()
    finished.set_result({"index": 0, "id": "j0", "kind": "twoshot", "status": "ok", "output": "x",
                         "audio_seconds": 1.0, "seconds": 0.1})
    running.set_running_or_notify_cancel()
    records = []
    with ThreadPoolExecutor(1) as pool:
        _interrupted(pool, {finished: jobs[0], running: jobs[1], waiting: jobs[2]}, set(), records.append, tmp_path)
    assert [(r["index"], r["status"]) for r in records] == [(0, "ok"), (1, "cancelled")]
    assert records[1]["error"]["type"] == "Cancelled" and waiting.cancelled()
