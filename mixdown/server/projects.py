"""Each stored TwoShot project's duration, measured in the background for ``GET /project``'s duration filters.

The duration is the length of the project's render with no range asked (see
:func:`mixdown.api_compat.twoshot.service.project_duration`), measured by a worker with the library as it
is when the project is saved (created, updated, or found unmeasured at start). Until it is known (or while a
source it names is not in the library) it is NULL, and a duration filter leaves the project out.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mixdown.server.state import State
from mixdown.server.work import measure_project

log = logging.getLogger("mixdown.server")


def measure(app_state: Any, project_id: str) -> None:
    """Queue the measurement of a project's duration; it is stored when known, unless the project changed
    meanwhile (the measurement of its newer data then stores it)."""
    state: State = app_state.state
    row = state.one("SELECT data, updated FROM projects WHERE id = ?", (project_id,))
    if row is None:
        return

    def done(result: dict) -> None:
        if not result.get("ok"):
            log.warning("measuring project %s failed: %s", project_id, result.get("message"))
            return
        with state.transaction() as conn:
            conn.execute("UPDATE projects SET duration = ? WHERE id = ? AND data = ?",
                         (result["seconds"], project_id, row["data"]))

    app_state.queue.submit(measure_project, json.loads(row["data"]), str(state.folder("library")), done=done,
                           bounded=False)


def measure_unknown(app_state: Any) -> None:
    """At start: measure every project whose duration is not known (a source may have arrived since)."""
    for row in app_state.state.all("SELECT id FROM projects WHERE duration IS NULL"):
        measure(app_state, row["id"])


def measure_naming(app_state: Any, audio_id: str) -> None:
    """A sample arrived (or its tempo is known): measure the projects of unknown duration that name it, by
    its ``audioId`` or its ``sampleId`` (a cheap text match on the stored JSON; measuring decides)."""
    state: State = app_state.state
    row = state.one("SELECT id FROM samples WHERE audio_id = ?", (audio_id,))
    needles = [json.dumps(audio_id)]
    if row is not None:
        needles += [f'"sampleId": {row["id"]}', f'"sampleId": "{row["id"]}"']
    where = " OR ".join("instr(data, ?) > 0" for _ in needles)
    for project in state.all(f"SELECT id FROM projects WHERE duration IS NULL AND ({where})", needles):
        measure(app_state, project["id"])
