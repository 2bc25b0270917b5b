"""The local job registry behind ``POST /project/render`` replies and ``mixdown render --status``.

One JSON file per job in a folder (``$MIXDOWN_HOME/jobs``, default ``~/.local/share/mixdown/jobs``),
rewritten atomically at each state change: ``processing`` when the render starts, then ``completed`` or
``failed``. Several processes may render at once; each owns its own job file.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.formats import atomic_path

#: Render speed assumed for ``estimatedCompletion`` before a job has run (x realtime).
ESTIMATED_SPEED = 60.0
_JOB_ID = re.compile(r"^render-[0-9a-f]{32}$")


def default_folder() -> Path:
    home = os.environ.get("MIXDOWN_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "mixdown"
    return base / "jobs"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class JobRegistry:
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

    def start(self, audio_seconds: float, details: dict) -> dict:
        """Record a new job as ``processing``; its estimate assumes :data:`ESTIMATED_SPEED`."""
        created = _now()
        record = {
            "jobId": f"render-{uuid.uuid4().hex}",
            "status": "processing",
            "estimatedCompletion": _stamp(created + timedelta(seconds=audio_seconds / ESTIMATED_SPEED)),
            "createdAt": _stamp(created),
            **details,
        }
        return self._write(record)

    def finish(self, record: dict, **result: object) -> dict:
        return self._write({**record, "status": "completed", "completedAt": _stamp(_now()), **result})

    def fail(self, record: dict, error: dict) -> dict:
        return self._write({**record, "status": "failed", "completedAt": _stamp(_now()), "error": error})

    def get(self, job_id: str) -> dict:
        path = self._path(job_id)
        if not path.is_file():
            raise TwoShotError("NOT_FOUND", f"no render job {job_id!r} in {str(self.folder)!r}", field="jobId")
        return json.loads(path.read_text(encoding="utf-8"))


def reply(record: dict) -> dict:
    """The document's render reply: ``jobId``, ``status``, ``estimatedCompletion``."""
    return {key: record[key] for key in ("jobId", "status", "estimatedCompletion")}
