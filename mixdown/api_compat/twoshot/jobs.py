"""The local job registry behind ``POST /project/render`` replies and ``mixdown render --status``.

One JSON file per job in a folder (``$MIXDOWN_HOME/jobs``, default ``~/.local/share/mixdown/jobs``),
rewritten atomically at each state change: ``processing`` when the render starts, then ``completed`` or
``failed``. Several processes may render at once; each owns its own job file.

A render stopped by SIGTERM or Ctrl-C is recorded ``failed`` with the error code ``CANCELLED``. A record
holds the process id (and its start time, against pid reuse) of the render; one left ``processing`` by a
process that no longer exists (``kill -9``, a power cut) is rewritten as ``failed`` the next time it is
read. ``estimatedCompletion`` comes from :mod:`mixdown.api_compat.twoshot.estimate`, and each completed job
teaches it this machine's speed (``speed.json`` in the folder).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.estimate import RenderWork, SpeedModel
from mixdown.formats import atomic_path

_JOB_ID = re.compile(r"^render-[0-9a-f]{32}$")


def default_folder() -> Path:
    home = os.environ.get("MIXDOWN_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "mixdown"
    return base / "jobs"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), or ``None`` where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, started: str | None) -> bool:
    """Whether the process that wrote a record still runs (not merely another process with its pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = process_start(pid)
    return started is None or now is None or now == started


def cancelled_body(reason: str) -> dict:
    """The error body of a render stopped by a signal."""
    return {"error": "Render cancelled", "code": "CANCELLED", "details": {"field": None, "message": reason},
            "timestamp": _stamp(_now()), "path": "/project/render"}


class JobRegistry:
    """Render jobs recorded as JSON files in ``folder`` (default ``$MIXDOWN_HOME/jobs``), for ``--status``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown import twoshot
    >>> jobs = JobRegistry("jobs")
    >>> project = {"tempo": 120, "tracks": [{"id": 1, "clips": [{"id": 1, "source": {"audioId": "a"}}]}]}
    >>> reply = twoshot.render_to("a.wav", project, {"a": np.zeros(4_410, np.float32)}, 44_100, jobs=jobs)
    >>> jobs.get(reply["jobId"])["status"]
    'completed'
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else default_folder()

    def _path(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise TwoShotError("VALIDATION_ERROR", f"{job_id!r} is not a render job id", field="jobId")
        return self.folder / f"{job_id}.json"

    def _write(self, record: dict) -> dict:
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self._path(record["jobId"])) as temp:
            temp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return record

    @property
    def speed(self) -> SpeedModel:
        return SpeedModel(self.folder / "speed.json")

    def start(self, work: RenderWork | float, details: dict) -> dict:
        """Record a new job as ``processing``, with its estimated completion from ``work`` (or the seconds
        it is expected to take)."""
        created = _now()
        seconds = work if isinstance(work, (int, float)) else self.speed.predict(work)
        record = {
            "jobId": f"render-{uuid.uuid4().hex}",
            "status": "processing",
            "estimatedCompletion": _stamp(created + timedelta(seconds=seconds)),
            "createdAt": _stamp(created),
            "pid": os.getpid(),
            "processStart": process_start(os.getpid()),
            **details,
        }
        return self._write(record)

    def finish(self, record: dict, work: RenderWork | None = None, **result: object) -> dict:
        if work is not None and isinstance(result.get("renderSeconds"), (int, float)):
            self.speed.learn(work, float(result["renderSeconds"]))
        return self._write({**record, "status": "completed", "completedAt": _stamp(_now()), **result})

    def fail(self, record: dict, error: dict) -> dict:
        return self._write({**record, "status": "failed", "completedAt": _stamp(_now()), "error": error})

    def get(self, job_id: str) -> dict:
        path = self._path(job_id)
        if not path.is_file():
            raise TwoShotError("NOT_FOUND", f"no render job {job_id!r} in {str(self.folder)!r}", field="jobId")
        record = json.loads(path.read_text(encoding="utf-8"))
        pid = record.get("pid")
        if record.get("status") == "processing" and isinstance(pid, int) and not process_alive(
                pid, record.get("processStart")):
            message = f"the rendering process (pid {pid}) ended without finishing the job"
            record = self.fail(record, TwoShotError("INTERNAL_ERROR", message).body())
        return record


def reply(record: dict) -> dict:
    """The document's render reply: ``jobId``, ``status``, ``estimatedCompletion``."""
    return {key: record[key] for key in ("jobId", "status", "estimatedCompletion")}
