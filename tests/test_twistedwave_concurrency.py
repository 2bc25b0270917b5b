"""Several processes on one store, and a process killed mid-export (SIGKILL, no cleanup of its own)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mixdown.api_compat.twistedwave import TwistedWave
from mixdown.api_compat.twistedwave.store import process_owner
from mixdown.formats import read
from tests.test_twistedwave_transfer import RATE, source_audio, write_source

ROOT = Path(__file__).resolve().parents[1]

CREATOR = """
import json, sys, time
from pathlib import Path
from mixdown.api_compat.twistedwave import TwistedWave

store, shared, count, tag, flag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
tw = TwistedWave(store)
while not flag.exists():
    time.sleep(0.002)
created = []
for i in range(count):
    edit = {"max_duration": 0, "commands": [{"command": "insert-silence", "length": 100 + i}]}
    created.append(tw.create_job({"edit": edit, "output": {"format": "wav"}, "note": f"{tag}-own-{i}"})["id"])
    created.append(tw.create_job({"document": {"id": shared}, "output": {"format": "wav"},
                                  "note": f"{tag}-shared-{i}"})["id"])
states = [tw.run_job(job_id)["state"] for job_id in created]
print(json.dumps({"created": created, "states": states}))
"""

EXPORTER = """
import sys
from mixdown.api_compat.twistedwave import TwistedWave

tw = TwistedWave(sys.argv[1])
job = tw.create_job({"document": {"url": sys.argv[2]}, "delete_document": False,
                     "output": {"format": "mp3", "bit_rate": 320, "url": sys.argv[3]}})
print(job["id"], flush=True)
tw.run_job(job["id"])
print("finished", flush=True)
"""


def _child(script: str, *args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT, **kwargs)


def test_two_processes_create_and_run_jobs_on_one_store_at_once(tmp_path):
    store = tmp_path / "store"
    tw = TwistedWave(store)
    shared = tw.submit({"edit": {"max_duration": 0, "commands": [{"command": "insert-silence", "length": 4410}]}})
    shared_doc = shared["document"]["id"]
    flag = tmp_path / "go"
    count = 12
    children = [_child(CREATOR, str(store), shared_doc, str(count), tag, str(flag)) for tag in ("a", "b")]
    time.sleep(0.8)  # both have imported mixdown and opened the store
    started = time.monotonic()
    flag.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    elapsed = time.monotonic() - started
    print(f"\n2 processes x {2 * count} jobs created and run in {elapsed:.2f} s")
    created = [job_id for result in results for job_id in result["created"]]
    assert len(created) == len(set(created)) == 4 * count
    assert all(state == "completed" for result in results for state in result["states"])

    # every job is listed exactly once, newest first, each process's jobs in the order it made them
    seen, cursor = [], None
    while True:
        page = tw.list_jobs(limit=7, starting_after=cursor)
        seen += page["data"]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    ids = [job["id"] for job in seen]
    assert len(ids) == len(set(ids)) == 4 * count + 1 and set(created) < set(ids)
    for result in results:
        mine = [job_id for job_id in ids[::-1] if job_id in result["created"]]
        assert mine == result["created"]
    notes = {job["note"] for job in seen if "note" in job}
    assert notes == {f"{tag}-{kind}-{i}" for tag in "ab" for kind in ("own", "shared") for i in range(count)}
    # the two processes interleaved their creations (they really ran at once)
    owners = [job["note"][0] for job in seen[::-1] if "note" in job]
    assert sum(a != b for a, b in itertools.pairwise(owners)) > 0

    # output jobs on the shared document ran one at a time, in the order they were created
    rows = tw.store.connection().execute(
        "SELECT started_at, finished_at FROM jobs WHERE doc_id = ? ORDER BY seq", (shared_doc,)).fetchall()
    assert len(rows) == 2 * count + 1
    for before, after in itertools.pairwise(rows):
        assert before["finished_at"] <= after["started_at"]


def _start_export(tmp_path: Path, seconds: float = 30.0) -> tuple[subprocess.Popen, str, Path, Path]:
    source = write_source(tmp_path / "long.wav", source_audio(seconds))
    store = tmp_path / "store"
    TwistedWave(store)
    target = tmp_path / "delivered" / "take.mp3"
    target.parent.mkdir()
    child = _child(EXPORTER, str(store), str(source), str(target))
    job_id = child.stdout.readline().strip()
    assert job_id.startswith("job_"), child.stderr.read()
    return child, job_id, store, target


def _kill_mid_encoding(child: subprocess.Popen, store: Path, job_id: str) -> None:
    """SIGKILL the child once the encoder is writing its temporary file."""
    staged = store / "outputs" / job_id
    deadline = time.monotonic() + 60
    while not (staged.is_dir() and list(staged.glob(".export.mp3.*.part.mp3"))):
        assert child.poll() is None, child.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _whole_or_absent(target: Path, frames: int) -> None:
    if target.exists():
        audio, rate = read(target)
        assert rate == RATE and audio.shape == (2, frames)


def test_a_process_killed_mid_export_leaves_no_partial_output_and_the_job_fails_on_recovery(tmp_path):
    child, job_id, store, target = _start_export(tmp_path)
    _kill_mid_encoding(child, store, job_id)
    events = []
    tw = TwistedWave(store, on_notification=events.append)
    killed = tw.get_job(job_id)
    assert (killed["state"], killed["output"]["state"]) == ("exporting", "encoding")
    _whole_or_absent(target, 30 * RATE)
    assert not target.exists()  # killed while encoding: nothing was delivered
    assert list((store / "outputs" / job_id).glob(".*.part.mp3"))  # the killed encoder's temporary file

    assert tw.recover(resume=False) == [job_id]
    failed = tw.get_job(job_id)
    assert (failed["state"], failed["output"]["state"]) == ("failed", "failed")
    assert failed["error"].startswith("interrupted: the process running it") and "exporting" in failed["error"]
    assert [e["type"] for e in events] == ["job.failed"] and events[0]["job"] == failed
    assert not (store / "outputs" / job_id).exists() and not list(target.parent.iterdir())
    assert tw.recover(resume=False) == []
    # the document is intact: a new job exports it
    again = tw.submit({"document": {"id": failed["document"]["id"]}, "output": {"format": "flac"}})
    assert again["state"] == "completed"


def test_a_process_killed_mid_export_is_resumed_to_a_whole_output(tmp_path):
    child, job_id, store, target = _start_export(tmp_path)
    _kill_mid_encoding(child, store, job_id)
    tw = TwistedWave(store)
    done = tw.run_job(job_id)  # its owner is dead: this process takes it over and redoes the export
    assert (done["state"], done["output"]["state"]) == ("completed", "completed")
    audio, rate = read(target)
    assert rate == RATE and audio.shape == (2, 30 * RATE)
    assert done["output"]["file_size"] == target.stat().st_size
    assert [path.name for path in target.parent.iterdir()] == ["take.mp3"]
    assert not (store / "outputs" / job_id).exists()
    reference = source_audio(30.0)
    error = np.sqrt(np.mean((audio[:, 44_100:88_200] - reference[:, 44_100:88_200]) ** 2))
    assert error < 0.01  # the mp3 of the whole take, aligned (not silence, not a truncated file)


@pytest.mark.parametrize("resume", [True, False])
def test_recover_leaves_live_jobs_alone(tmp_path, resume):
    tw = TwistedWave(tmp_path / "store")
    job = tw.create_job({"edit": {"max_duration": 0}})
    with tw.store.transaction() as conn:  # owned by this (live) process, as while it runs
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (process_owner(), job["id"]))
    assert tw.recover(resume=resume) == []
    assert tw.get_job(job["id"])["state"] == "editing"
