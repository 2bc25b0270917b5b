"""What the server's workers run: plain functions of plain data, pickled to a local process or a Dask worker.

Each returns a dict and never raises for bad input (an adapter's exception may not survive pickling):
``{"ok": True, ...}`` or ``{"ok": False, "error": <the platform's error body>, "status": <HTTP status>}``.
The worker's decoded-source and stretched-clip caches (:func:`mixdown.batch.kinds.worker_caches`) live as
long as the worker, as in a batch.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

from mixdown.batch.kinds import worker_caches
from mixdown.errors import MixdownError

#: Seconds between two writes of a render's progress file.
PROGRESS_EVERY_S = 0.2


class ProgressFile:
    """A render's progress, 0 to 100, in a small file the server reads when asked (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last = -1
        self.written_at = 0.0

    def __call__(self, done: int, total: int) -> None:
        percent = min(99, int(100 * done / max(total, 1)))
        now = time.monotonic()
        if percent == self.last or now - self.written_at < PROGRESS_EVERY_S:
            return
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temp.write_text(str(percent), encoding="ascii")
        os.replace(temp, self.path)
        self.last, self.written_at = percent, now


def read_progress(path: Path) -> int:
    try:
        return max(0, min(99, int(path.read_text(encoding="ascii"))))
    except (OSError, ValueError):
        return 0


def _internal(error: BaseException) -> dict[str, Any]:
    return {"ok": False, "status": 500, "message": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(limit=8)}


def render_project(document: dict, library: str, output: str, progress: str,
                   max_duration: float | None = None) -> dict[str, Any]:
    """Render a TwoShot document (``{"project", "render"}``) to ``output`` with the shared library
    (``max_duration`` as :func:`~mixdown.api_compat.twoshot.service.render_document` takes it)."""
    from mixdown.api_compat.twoshot.errors import TwoShotError
    from mixdown.api_compat.twoshot.service import render_document
    from mixdown.formats import FileSummary

    sources, materials = worker_caches()
    try:
        reply = render_document(document, library, output, sources=sources, materials=materials,
                                progress=ProgressFile(Path(progress)), max_duration=max_duration)
        # What the reply already knows; probing the file again would cost as much as a short render.
        summary = FileSummary(output, reply["format"], "", reply["sampleRate"], reply["channels"], reply["frames"])
    except TwoShotError as error:
        return {"ok": False, "status": error.status, "error": error.body()}
    except Exception as error:
        return _internal(error)
    finally:
        Path(progress).unlink(missing_ok=True)
    return {"ok": True, "reply": reply, "summary": summary}


def measure_project(project: dict, library: str) -> dict[str, Any]:
    """The seconds a project's default render lasts (``seconds`` None when it cannot be rendered, e.g. a
    source is not in the library yet)."""
    from mixdown.api_compat.twoshot.errors import TwoShotError
    from mixdown.api_compat.twoshot.service import project_duration

    try:
        return {"ok": True, "seconds": project_duration(project, library, sources=worker_caches()[0])}
    except TwoShotError as error:
        return {"ok": True, "seconds": None, "reason": error.body()}
    except Exception as error:
        return _internal(error)


def analyse_audio(path: str) -> dict[str, Any]:
    """The tempo of a library file (``bpm`` None when it has no measurable beat)."""
    from mixdown.engine.tempo import detect_bpm
    from mixdown.formats import read

    try:
        audio, rate = read(path)
        estimate = detect_bpm(audio, rate)
    except MixdownError as error:
        return {"ok": True, "bpm": None, "confidence": None, "reason": error.message}
    except Exception as error:
        return _internal(error)
    bpm = None if estimate.bpm is None else round(estimate.bpm, 3)
    return {"ok": True, "bpm": bpm, "confidence": round(estimate.confidence, 3)}


def cut_songclip(spec: dict, song: str, output: str) -> dict[str, Any]:
    """Cut one Songclip create event from ``song`` into ``output``; the reply is JSEND."""
    from mixdown.api_compat.songclip.clips import SongclipFailError, fail, render_clips

    try:
        reply = render_clips(spec, song, output)
    except SongclipFailError as error:
        return {"ok": False, "status": 400, "error": fail(error.data)}
    except MixdownError as error:
        status = 400 if error.exit_code == 2 else 500
        return {"ok": False, "status": status, "error": fail({error.field or "spec": error.message})}
    except OverflowError:  # a time in milliseconds too large to count in samples: the spec's mistake
        return {"ok": False, "status": 400, "error": fail({"spec": "a time is too large to cut at this rate"})}
    except Exception as error:
        return _internal(error)
    return {"ok": True, "reply": reply}


def run_twistedwave(store: str, job_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Run a TwistedWave job of ``store`` to its end (``options``: the service's keyword arguments)."""
    from mixdown.api_compat.twistedwave.service import TwistedWave

    try:
        service = TwistedWave(store, **options)
        try:
            return {"ok": True, "job": service.run_job(job_id)}
        finally:
            service.close()
    except MixdownError as error:
        return {"ok": False, "status": 400, "message": str(error)}
    except Exception as error:
        return _internal(error)
