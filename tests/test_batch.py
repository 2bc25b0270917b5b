"""Batch rendering: mixed manifests on local processes and a Dask LocalCluster, failures, resume, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mixdown.api_compat.twoshot.demo import demo_project, write_library
from mixdown.batch.manifest import read_manifest
from mixdown.batch.runner import RESULTS, previous_results, run_batch
from mixdown.cli import main
from mixdown.errors import InvalidInputError
from mixdown.formats import write
from tests.conftest import tone


def short_project(bars: int, pitch: float) -> dict:
    project = demo_project()
    project["playHead"]["end"] = 4.0 * bars
    project["tracks"][4]["clips"][0]["pitchOffset"] = pitch
    return project


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    write_library(base / "library")
    write(base / "song.wav", tone(440, 12.0, 44_100, amplitude=0.3, channels=2), 44_100)
    jobs = [{"kind": "twoshot", "project": short_project(1 + i % 3, float(i)), "library": "library",
             "quality": "low", "id": f"p{i}"} for i in range(6)]
    jobs.append({"kind": "songclip", "spec": {"context": {"uniqueId": "u"}, "start": 1000, "end": 3500,
                                              "fadeIn": 200, "fadeOut": 200}, "song": "song.wav"})
    jobs.append({"kind": "songclip", "spec": [{"context": {"uniqueId": "u"}, "start": 0, "end": 1000},
                                              {"context": {"uniqueId": "u"}, "start": 2000, "end": 2500}],
                 "song": "song.wav", "format": "wav"})
    jobs.append({"kind": "twoshot", "project": short_project(1, 0.0) | {"tempo": "fast"}, "library": "library"})
    jobs.append({"kind": "twistedwave", "job": {
        "document": {"url": "song.wav"},
        "edit": {"max_duration": 0, "commands": [{"command": "crop", "selection": [44_100, 132_300]},
                                                 {"command": "fade-in", "selection": [0, 4410]}]},
        "output": {"format": "flac", "bit_depth": 16}}})
    (base / "manifest.jsonl").write_text("\n".join(json.dumps(job) for job in jobs) + "\n")
    return base


def outputs(folder) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and p.name != RESULTS and ".twistedwave-store" not in p.parts)
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_mixed_manifest_on_local_processes(workspace, tmp_path):
    summary = run_batch(read_manifest(workspace / "manifest.jsonl"), tmp_path / "out", workers=2)
    assert (summary.total, summary.ok, summary.failed, summary.interrupted) == (10, 9, 1, False)
    assert summary.failures[0]["index"] == 8 and summary.failures[0]["error"]["field"] == "tempo"
    records = previous_results(tmp_path / "out")
    assert records[0]["reply"]["frames"] == 4 * 22_050
    assert records[7]["reply"]["data"]["songclips"][1]["frames"] == 22_050
    assert records[8]["reply"]["code"] == "VALIDATION_ERROR"
    assert all(len(r["sha256"]) == 64 for r in records.values() if r["status"] == "ok")
    made = outputs(tmp_path / "out")
    assert "00007-songclip/clip-002.wav" in made and len(made) == 10
    assert records[9]["reply"]["state"] == "completed" and records[9]["output"].endswith("00009-twistedwave.flac")
    assert records[9]["audio_seconds"] == 2.0


def test_dask_cluster_renders_the_same_bytes(workspace, tmp_path):
    distributed = pytest.importorskip("distributed")
    jobs = read_manifest(workspace / "manifest.jsonl")
    run_batch(jobs, tmp_path / "local", workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run_batch(jobs, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert summary.ok == 9 and summary.executor.startswith("dask")
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")


def test_resume_skips_finished_jobs_and_reruns_changed_or_damaged_ones(workspace, tmp_path):
    jobs = read_manifest(workspace / "manifest.jsonl")
    run_batch(jobs, tmp_path / "out", workers=2)
    (tmp_path / "out" / "00001-twoshot.wav").write_bytes(b"damaged")
    (tmp_path / "out" / ".00002-twoshot.wav.abc.part.wav").write_bytes(b"left by a kill")
    summary = run_batch(jobs, tmp_path / "out", workers=1, resume=True)
    assert summary.skipped == 8 and summary.ok == 1 and summary.failed == 1
    assert (tmp_path / "out" / "00001-twoshot.wav").read_bytes()[:4] == b"RIFF"
    assert not (tmp_path / "out" / ".00002-twoshot.wav.abc.part.wav").exists()


def test_resume_after_a_kill_finishes_the_rest(workspace, tmp_path):
    out = tmp_path / "out"
    lines = (workspace / "manifest.jsonl").read_text().splitlines()[:6] * 3
    manifest = workspace / "long.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "batch", str(manifest), "--out", str(out),
                                "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(previous_results(out)) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {i for i, r in previous_results(out).items() if r["status"] == "ok"}
    assert 3 <= len(finished) < 18
    summary = run_batch(read_manifest(manifest), out, workers=2, resume=True)
    assert summary.skipped >= len(finished) and summary.ok + summary.skipped == 18 and summary.failed == 0
    assert not list(out.rglob(".*.part*"))


def test_ctrl_c_stops_cleanly_and_resume_completes(workspace, tmp_path):
    out = tmp_path / "out"
    lines = (workspace / "manifest.jsonl").read_text().splitlines()[:6] * 4
    manifest = workspace / "ctrl-c.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "batch", str(manifest), "--out", str(out),
                                "--workers", "1", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(previous_results(out)) < 2:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 130
    assert json.loads(stdout)["interrupted"] is True
    recorded = previous_results(out)
    assert {r["status"] for r in recorded.values()} <= {"ok", "cancelled"}  # never INTERNAL_ERROR for a Ctrl-C
    written = {p for p in out.iterdir() if p.is_file() and p.name != RESULTS and not p.name.startswith(".")}
    assert written <= {Path(r["output"]) for r in recorded.values()}  # no finished output goes unrecorded
    summary = run_batch(read_manifest(manifest), out, workers=2, resume=True)
    assert summary.ok + summary.skipped == 24 and summary.failed == 0


def test_manifest_folder_and_errors(workspace, tmp_path, capsys):
    folder = tmp_path / "jobs"
    folder.mkdir()
    for i, line in enumerate((workspace / "manifest.jsonl").read_text().splitlines()[:2]):
        (folder / f"job{i}.json").write_text(line)
    assert [job.kind for job in read_manifest(folder)] == ["twoshot", "twoshot"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "twoshot", "project": {}, "library": "x"}\n{"kind": "opera"}\n')
    with pytest.raises(InvalidInputError) as info:
        read_manifest(bad)
    assert info.value.field == "line 2.kind"
    bad.write_text("{not json\n")
    assert main(["batch", str(bad), "--out", str(tmp_path / "o")]) == 2


def test_allow_root_confines_the_files_of_every_kind(tmp_path):
    """``--allow-root``: a TwoShot job's ``project_file`` and ``library`` and a Songclip job's ``song`` must lie
    inside the allowed folders (links followed), each refused job failing alone with the field named."""
    jobs_dir, elsewhere = tmp_path / "jobs", tmp_path / "elsewhere"
    for folder in (jobs_dir, elsewhere):
        folder.mkdir()
        write_library(folder / "library")
        write(folder / "song.wav", tone(440, 2.0, 44_100, amplitude=0.3, channels=2), 44_100)
        (folder / "project.json").write_text(json.dumps(short_project(1, 0.0)))
    (jobs_dir / "linked-song.wav").symlink_to(elsewhere / "song.wav")
    spec = {"context": {"uniqueId": "u"}, "start": 0, "end": 1000}
    bodies = [{"kind": "twoshot", "project_file": "project.json", "library": "library", "quality": "low"},
              {"kind": "songclip", "spec": spec, "song": "song.wav", "format": "wav"},
              {"kind": "twoshot", "project_file": str(elsewhere / "project.json"), "library": "library"},
              {"kind": "twoshot", "project": short_project(1, 0.0), "library": str(elsewhere / "library")},
              {"kind": "songclip", "spec": spec, "song": str(elsewhere / "song.wav")},
              {"kind": "songclip", "spec": spec, "song": "linked-song.wav"},
              {"kind": "songclip", "spec": spec, "song": str(elsewhere / "absent.wav")}]
    manifest = jobs_dir / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(body) for body in bodies) + "\n")
    summary = run_batch(read_manifest(manifest), tmp_path / "out", workers=1, allow_roots=[jobs_dir])
    assert (summary.ok, summary.failed) == (2, 5)
    errors = {f["index"]: f["error"] for f in summary.failures}
    assert {index: error["field"] for index, error in errors.items()} == {
        2: "project_file", 3: "library", 4: "song", 5: "song", 6: "song"}
    assert len({error["message"] for error in errors.values()}) == 1, "the refusal says nothing of what exists"
    unconfined = run_batch(read_manifest(manifest), tmp_path / "free", workers=1)
    assert unconfined.ok == 6 and unconfined.failed == 1


def test_allow_root_does_not_read_a_project_file_outside_for_the_output_name(tmp_path, capsys):
    """A TwoShot job's default output name takes the format its ``project_file`` asks for; with
    ``--allow-root`` a file outside is not read for it either (its format would show in the name)."""
    jobs_dir, elsewhere = tmp_path / "jobs", tmp_path / "elsewhere"
    jobs_dir.mkdir()
    elsewhere.mkdir()
    write_library(jobs_dir / "library")
    document = {"project": short_project(1, 0.0), "render": {"format": "flac"}}
    (elsewhere / "project.json").write_text(json.dumps(document))
    manifest = jobs_dir / "manifest.jsonl"
    job = {"kind": "twoshot", "project_file": str(elsewhere / "project.json"), "library": "library"}
    manifest.write_text(json.dumps(job) + "\n")
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1", "--allow-root",
                 str(jobs_dir), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["failures"][0]["error"]["field"] == "project_file"
    records = [json.loads(line) for line in (tmp_path / "out" / RESULTS).read_text().splitlines()]
    assert [r["output"] for r in records if "index" in r] == [str(tmp_path / "out" / "00000-twoshot.wav")]
    unconfined = run_batch(read_manifest(manifest), tmp_path / "free", workers=1)
    assert unconfined.ok == 1 and (tmp_path / "free" / "00000-twoshot.flac").is_file()


def test_allow_root_confines_twistedwave_jobs(tmp_path, capsys):
    """``--allow-root``: a TwistedWave job's urls and store must lie inside the allowed folders or ``--out``
    (the refusal does not tell whether a path exists); without it the manifest is the user's own."""
    jobs_dir, elsewhere = tmp_path / "jobs", tmp_path / "elsewhere"
    jobs_dir.mkdir()
    elsewhere.mkdir()
    song = tone(440, 1.0, 44_100, amplitude=0.3, channels=2)
    write(jobs_dir / "song.wav", song, 44_100)
    write(elsewhere / "private.wav", song, 44_100)

    def job(source: str, **output) -> dict:
        return {"kind": "twistedwave", "job": {"document": {"url": source}, "output": {"format": "wav", **output}}}

    bodies = [job("song.wav"),                                                  # inside the allowed folder
              job(str(elsewhere / "private.wav")),                              # reads outside
              job(str(elsewhere / "absent.wav")),                               # nothing there: the same refusal
              job("song.wav", url=str(elsewhere / "out.wav")),                  # writes outside
              {**job("song.wav"), "store": str(elsewhere / "store")}]           # its store outside
    manifest = jobs_dir / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(body) for body in bodies) + "\n")

    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1", "--allow-root", str(jobs_dir),
                 "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["failed"]) == (1, 4)
    errors = {f["index"]: f["error"] for f in summary["failures"]}
    assert {index: error["field"] for index, error in errors.items()} == {
        1: "document.url", 2: "document.url", 3: "output.url", 4: "store"}
    assert errors[1]["message"] == errors[2]["message"]
    assert not (elsewhere / "out.wav").exists() and not (elsewhere / "store").exists()
    assert (out / "00000-twistedwave.wav").is_file()

    unconfined = run_batch(read_manifest(manifest), tmp_path / "free", workers=1)
    assert unconfined.ok == 4 and [f["index"] for f in unconfined.failures] == [2]  # only the absent file fails
    assert main(["batch", str(manifest), "--out", str(out), "--allow-private-http"]) == 2
