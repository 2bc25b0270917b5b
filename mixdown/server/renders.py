"""TwoShot render jobs: validated on the request, rendered by a worker, recorded in the state store.

A job is ``processing`` from the moment it is accepted until its worker answers (``completed`` with the
output's ``audioId``, or ``failed`` with TwoShot's error body). Its body is stored with it, so a job that
was running when the server stopped is rendered again when it starts (the output is written atomically:
it is absent or whole, never partial).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.service import parse_document
from mixdown.formats.table import EXTENSIONS, FORMATS
from mixdown.server.state import State, now_stamp
from mixdown.server.work import read_progress, render_project

log = logging.getLogger("mixdown.server")

#: Seconds a render is assumed to take before any has finished (for ``estimatedCompletion``).
FIRST_ESTIMATE_S = 2.0


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_sources(state: State, document: Any) -> None:
    """Every clip's source must be a sample of the library: 404 naming the clip's field otherwise.

    The distinct sources are looked up in one query and each file is checked once: a project uses a few
    samples in many clips, and the check runs on the request path of every render."""
    clips = []
    for t, track in enumerate(document.project.tracks):
        for c, clip in enumerate(track.clips):
            source = clip.source
            key = ("audio", source.audioId) if source.audioId is not None else ("sample", str(source.sampleId))
            clips.append((key, t, c))
    paths = _library_paths(state, {key for key, _, _ in clips})
    present: dict[str, bool] = {}
    for key, t, c in clips:
        path = paths.get(key)
        if path is not None and path not in present:
            present[path] = state.inside(path) is not None
            if not present[path]:
                state.write_manifest()  # its file was removed: the library must stop naming it for every render
        if path is None or not present[path]:
            kind, value = key
            field = f"tracks[{t}].clips[{c}].source.{'audioId' if kind == 'audio' else 'sampleId'}"
            name = f"audio {value!r}" if kind == "audio" else \
                f"sample {document.project.tracks[t].clips[c].source.sampleId!r}"
            raise TwoShotError("NOT_FOUND", f"{name} is not in the sample library", field=field)


def _library_paths(state: State, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The stored path of each ``("audio", audioId)`` or ``("sample", sampleId)`` that is a sample."""
    audio_ids = [value for kind, value in keys if kind == "audio"]
    # A sample id matches as its decimal text does (``"007"`` names no sample): only canonical numbers can.
    sample_ids = [int(value) for kind, value in keys if kind == "sample" and value.isdigit() and
                  str(int(value)) == value and int(value) < 2**63]
    if not audio_ids and not sample_ids:
        return {}
    rows = state.all("SELECT samples.audio_id, samples.id, audio.path FROM samples JOIN audio ON audio.id = "
                     f"samples.audio_id WHERE samples.audio_id IN ({', '.join('?' * len(audio_ids))}) "
                     f"OR samples.id IN ({', '.join('?' * len(sample_ids))})", [*audio_ids, *sample_ids])
    paths: dict[tuple[str, str], str] = {}
    for row in rows:
        paths[("audio", row["audio_id"])] = row["path"]
        paths[("sample", str(row["id"]))] = row["path"]
    return paths


class Renders:
    """Accepts, runs, resumes and reports render jobs."""

    def __init__(self, state: State, queue: Any, max_duration: float | None = None) -> None:
        self.state = state
        self.queue = queue
        self.max_duration = max_duration
        self._average_s = FIRST_ESTIMATE_S
        self._lock = threading.Lock()

    def _estimate(self) -> str:
        waves = 1 + self.queue.pending // max(self.queue.workers, 1)
        return _stamp(datetime.now(timezone.utc) + timedelta(seconds=waves * self._average_s))

    def accept(self, document: dict, project_id: str | None) -> dict[str, Any]:
        """Validate ``{"project", "render"}`` and queue it; returns the document's render reply."""
        parsed = parse_document(document)
        name = parsed.request.format.lower()
        fmt = EXTENSIONS.get(name, name)
        if fmt not in FORMATS:
            raise TwoShotError("VALIDATION_ERROR", f"format {name!r} is not one of {', '.join(sorted(FORMATS))}",
                               field="format")
        check_sources(self.state, parsed)
        job_id = f"render-{uuid.uuid4().hex}"
        record = {"id": job_id, "project_id": project_id, "status": "processing", "document": json.dumps(document),
                  "format": fmt, "estimated": self._estimate(), "created": now_stamp(), "attempts": 1}
        with self.state.transaction() as conn:
            conn.execute(f"INSERT INTO renders ({', '.join(record)}) VALUES ({', '.join('?' * len(record))})",
                         list(record.values()))
        try:
            self._queue(job_id, document, fmt)
        except BaseException:
            with self.state.transaction() as conn:
                conn.execute("DELETE FROM renders WHERE id = ?", (job_id,))
            raise
        return {"jobId": job_id, "status": "processing", "estimatedCompletion": record["estimated"]}

    def _paths(self, job_id: str, fmt: str) -> tuple[str, Any, Any]:
        audio_id = str(uuid.uuid5(uuid.NAMESPACE_URL, job_id))
        folder = self.state.folder("renders")
        return audio_id, folder / f"{audio_id}.{fmt}", folder / f"{job_id}.progress"

    def _queue(self, job_id: str, document: dict, fmt: str) -> None:
        audio_id, output, progress = self._paths(job_id, fmt)
        began = time.monotonic()
        self.queue.submit(render_project, document, str(self.state.folder("library")), str(output), str(progress),
                          self.max_duration, done=lambda result: self._finish(job_id, audio_id, output, result, began))

    def _finish(self, job_id: str, audio_id: str, output: Any, result: dict, began: float) -> None:
        try:
            self._record(job_id, audio_id, output, result, began)
        except Exception as error:
            log.exception("recording render %s failed", job_id)
            self._record(job_id, audio_id, output, {"ok": False, "message": f"{type(error).__name__}: {error}"},
                         began)

    def _record(self, job_id: str, audio_id: str, output: Any, result: dict, began: float) -> None:
        if result.get("ok"):
            with self._lock:
                self._average_s = 0.8 * self._average_s + 0.2 * (time.monotonic() - began)
            summary = result["summary"]
            reply = result["reply"]
            details = {key: reply[key] for key in ("format", "quality", "sampleRate", "frames", "duration", "clips")}
            with self.state.transaction() as conn:
                self.state.add_audio(conn, audio_id, output, "render", summary, name=job_id)
                conn.execute("UPDATE renders SET status = 'completed', audio_id = ?, reply = ?, completed = ? "
                             "WHERE id = ?", (audio_id, json.dumps(details), now_stamp(), job_id))
            return
        error = result.get("error") or TwoShotError("INTERNAL_ERROR", result.get("message", "render failed")).body()
        if result.get("traceback"):
            log.error("render %s failed: %s\n%s", job_id, result.get("message"), result["traceback"])
        with self.state.transaction() as conn:
            conn.execute("UPDATE renders SET status = 'failed', error = ?, completed = ? WHERE id = ?",
                         (json.dumps(error), now_stamp(), job_id))

    def resume(self) -> list[str]:
        """Queue again every job a stopped server left ``processing``; returns their ids."""
        for leftover in self.state.folder("renders").glob(".*.part*"):
            leftover.unlink(missing_ok=True)
        rows = self.state.all("SELECT id, document, format FROM renders WHERE status = 'processing' ORDER BY created")
        for row in rows:
            with self.state.transaction() as conn:
                conn.execute("UPDATE renders SET attempts = attempts + 1 WHERE id = ?", (row["id"],))
            self._queue(row["id"], json.loads(row["document"]), row["format"])
        return [row["id"] for row in rows]

    def status(self, job_id: str) -> dict[str, Any]:
        row = self.state.one("SELECT * FROM renders WHERE id = ?", (job_id,))
        if row is None:
            raise TwoShotError("NOT_FOUND", f"no render job {job_id!r}", field="jobId")
        reply: dict[str, Any] = {"jobId": row["id"], "status": row["status"], "projectId": row["project_id"],
                                 "estimatedCompletion": row["estimated"], "created": row["created"],
                                 "completed": row["completed"], "format": row["format"]}
        if row["status"] == "processing":
            reply["progress"] = read_progress(self._paths(row["id"], row["format"])[2])
        else:
            reply["progress"] = 100 if row["status"] == "completed" else 0
        reply["error"] = json.loads(row["error"]) if row["error"] else None
        reply["audioId"] = row["audio_id"]
        if row["reply"]:
            reply.update(json.loads(row["reply"]))
        return reply
