"""How a worker runs one job of each kind, with caches that live as long as the worker process.

``run_job`` is what an executor calls: it takes and returns plain data (it is pickled to local processes
and to Dask workers alike), writes its output atomically, and reports errors as data, never by raising.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mixdown.api_compat.json_input import load_json
from mixdown.api_compat.sources import SourceCache
from mixdown.engine import MaterialCache
from mixdown.errors import InvalidInputError, MixdownError

if TYPE_CHECKING:
    from mixdown.api_compat.twistedwave.confine import Confinement

#: Per-process caches: decoded sources and stretched clips, bounded, shared by every job the worker runs.
_SOURCES: SourceCache | None = None
_MATERIALS: MaterialCache | None = None


def worker_caches() -> tuple[SourceCache, MaterialCache]:
    global _SOURCES, _MATERIALS
    if _SOURCES is None or _MATERIALS is None:
        _SOURCES, _MATERIALS = SourceCache(512 * 1024 * 1024), MaterialCache(512 * 1024 * 1024)
    return _SOURCES, _MATERIALS


def warm_up() -> None:
    """Load the compiled kernels (numba's on-disk cache) before the first job is timed."""
    import numpy as np

    from mixdown.engine import Clip, Source, Timeline, Track, render, stretch

    source = Source(np.zeros((1, 4096), dtype=np.float32), 44_100)
    render(Timeline(44_100, [Track([Clip(source, 0, speed_ratio=1.5)])]))
    stretch(source.audio, 44_100, 1.25, 1.0)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def output_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _twoshot(body: dict, base: Path, target: Path, confinement: Confinement | None) -> tuple[dict, float, Path]:
    from mixdown.api_compat.twoshot.service import load_document, render_document

    document = body["project"] if "project" in body else load_document(_resolve(base, body["project_file"]))
    if "render" in body:
        document = {"project": document, "render": body["render"]}
    sources, materials = worker_caches()
    reply = render_document(
        document, _resolve(base, body["library"]), target, format=body.get("format"), quality=body.get("quality"),
        start=body.get("start"), end=body.get("end"), sample_rate=body.get("sample_rate"),
        varispeed=bool(body.get("varispeed", False)), sources=sources, materials=materials,
    )
    return reply, reply["duration"], target


def _songclip(body: dict, base: Path, target: Path, confinement: Confinement | None) -> tuple[dict, float, Path]:
    from mixdown.api_compat.songclip.clips import render_clips

    reply = render_clips(
        body["spec"], _resolve(base, body["song"]), target, fmt=body.get("format"), preset_name=body.get("preset"),
        curve=body.get("curve", "equal-power"), min_length=body.get("min_length"),
        max_length=body.get("max_length"), artist=body.get("artist"), title=body.get("title"),
        options=body.get("options"),
    )
    data = reply["data"]
    clips = data["songclips"] if "songclips" in data else [data["songclip"]]
    return reply, sum(c["duration"] for c in clips), target


def _twistedwave(body: dict, base: Path, target: Path, confinement: Confinement | None) -> tuple[dict, float, Path]:
    from mixdown.api_compat.twistedwave.batch import run_batch_job

    return run_batch_job(body, base, target, confinement)


#: Each runner returns the reply, the seconds of audio it wrote, and where it wrote them.
#: Each kind's runner: (body, base folder, output, confinement) -> (reply, audio seconds, path written). The
#: files a TwoShot or Songclip job names are confined before it runs (:func:`_confine_paths`); a TwistedWave
#: job's urls and store are confined by its own adapter, which takes the confinement.
RUNNERS: dict[str, Callable[[dict, Path, Path, Confinement | None], tuple[dict, float, Path]]] = {
    "twoshot": _twoshot, "songclip": _songclip, "twistedwave": _twistedwave,
}


def _twoshot_format(body: dict, base: Path, confinement: Confinement | None) -> str | None:
    """The format a TwoShot job asks for: its ``format`` option, its render body, or the render body of
    the document (inline or in ``project_file``, read only if ``confinement`` allows it)."""
    document = body.get("project")
    if document is None and isinstance(body.get("project_file"), str):
        try:
            path = _resolve(base, body["project_file"])
            document = load_json(path if confinement is None else confinement.check_path(path, "project_file"))
        except MixdownError:
            document = None
    for holder in (body, body.get("render"), document.get("render") if isinstance(document, dict) else None):
        if isinstance(holder, dict) and isinstance(holder.get("format"), str):
            return holder["format"]
    return None


def _extension(fmt: str) -> str:
    from mixdown.formats.table import EXTENSIONS, FORMATS

    name = EXTENSIONS.get(fmt.lower(), fmt.lower())
    if name in FORMATS:
        return FORMATS[name].extension
    return fmt if fmt.isalnum() else "wav"


def default_output(index: int, body: dict, base: Path = Path(), confinement: Confinement | None = None) -> str:
    """``00042-twoshot.mp3``: the job's index and kind, with the extension its format implies (a TwoShot
    ``project_file`` outside ``confinement`` is not read for it)."""
    kind = body["kind"]
    if kind == "twistedwave" or (kind == "songclip" and isinstance(body.get("spec"), list)):
        return f"{index:05d}-{kind}"
    if kind == "songclip":
        fmt = body.get("format") if isinstance(body.get("format"), str) else "mp3"
    else:
        fmt = _twoshot_format(body, base, confinement)
    return f"{index:05d}-{kind}.{_extension(fmt or 'wav')}"


def output_name(index: int, body: dict, base: Path = Path(), confinement: Confinement | None = None) -> str:
    """Where in the output folder a job writes: its ``output``, else :func:`default_output`."""
    if isinstance(body.get("output"), str):
        return body["output"]
    return default_output(index, body, base, confinement)


#: The files a TwoShot or Songclip job names (a TwistedWave job's are its urls, confined by its own adapter).
CONFINED_PATHS = ("project_file", "library", "song")


def _confine_paths(body: dict, base: Path, confinement: Confinement) -> None:
    """Each file or folder the job names must lie inside the allowed folders once links are followed (a
    library's own files are kept inside the library by :class:`SampleLibrary`)."""
    from mixdown.api_compat.twistedwave.errors import TwistedWaveError

    for name in CONFINED_PATHS:
        if isinstance(body.get(name), str):
            try:
                confinement.check_path(_resolve(base, body[name]), name)
            except TwistedWaveError as refused:
                raise InvalidInputError(refused.message, field=name) from None


def run_job(index: int, body: dict, base: str, out_dir: str, confinement: Confinement | None = None) -> dict:
    """Run one job; the result record says what was written, its hash and timings, or the error.

    ``confinement`` (``--allow-root``) bounds the files every job names and the hosts a TwistedWave job's
    urls may reach."""
    started = time.perf_counter()
    target = Path(out_dir) / output_name(index, body, Path(base), confinement)
    record = {"index": index, "id": body.get("id"), "kind": body["kind"], "output": str(target)}
    try:
        if confinement is not None:
            _confine_paths(body, Path(base), confinement)
        reply, audio_seconds, written = RUNNERS[body["kind"]](body, Path(base), target, confinement)
    except MixdownError as error:
        return {**record, "status": "failed", "error": {"type": type(error).__name__, "field": error.field,
                                                        "message": error.message},
                "reply": _error_reply(error), "seconds": time.perf_counter() - started}
    except Exception as error:  # a job's bug must not stop the batch: it is reported, the rest go on
        return {**record, "status": "failed", "error": {"type": type(error).__name__, "message": str(error),
                                                        "traceback": traceback.format_exc(limit=5)},
                "seconds": time.perf_counter() - started}
    return {**record, "output": str(written), "status": "ok", "reply": reply, "sha256": output_digest(written),
            "audio_seconds": audio_seconds, "seconds": time.perf_counter() - started}


def _error_reply(error: MixdownError) -> dict | None:
    body = getattr(error, "body", None)
    if callable(body):
        return body()
    data = getattr(error, "data", None)
    return {"status": "fail", "data": data} if data is not None else None
