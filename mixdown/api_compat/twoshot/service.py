"""Render a TwoShot project document end to end: validate, translate, render, encode, record the job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from mixdown.api_compat.fields import unknown_field_warnings, unknown_fields, warn_unknown
from mixdown.api_compat.json_input import load_json
from mixdown.api_compat.sources import SourceCache
from mixdown.api_compat.twoshot.bpm import detect_source_bpm
from mixdown.api_compat.twoshot.errors import TwoShotError, field_path, from_mixdown, from_validation
from mixdown.api_compat.twoshot.estimate import RenderWork
from mixdown.api_compat.twoshot.jobs import JobRegistry, cancelled_body, reply
from mixdown.api_compat.twoshot.library import SampleLibrary
from mixdown.api_compat.twoshot.models import Project, RenderRequest
from mixdown.api_compat.twoshot.translate import QUALITY, RenderPlan, translate
from mixdown.engine import MaterialCache, render, render_blocks
from mixdown.engine.peak_meter import PeakMeter
from mixdown.errors import MixdownError
from mixdown.formats.export import encode_blocks
from mixdown.formats.naming import resolve_output
from mixdown.formats.spec import OutputSpec, parse_output
from mixdown.formats.stream import reported
from mixdown.formats.table import FORMATS

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderDocument:
    project: Project
    request: RenderRequest
    #: Field paths of the unknown fields the document carried (kept, not used).
    unknown: tuple[str, ...] = ()


def parse_document(document: object) -> RenderDocument:
    """A bare project, or ``{"project": {...}, "render": {...}}``, validated.

    Field paths in errors and in ``unknown`` are relative to the project (``tracks[2].clips[5].speed``) or
    to the render body (``render.endTime`` for an unknown field, ``endTime`` in an error), as they would be
    in TwoShot's own API where each is a request body of its own.
    """
    if not isinstance(document, dict):
        raise TwoShotError("VALIDATION_ERROR", f"expected a JSON object, got {type(document).__name__}",
                           field="project")
    wrapped = isinstance(document.get("project"), dict) and "tracks" not in document
    project_json = document["project"] if wrapped else document
    render_json = document.get("render", {}) if wrapped else {}
    try:
        project = Project.model_validate(project_json)
    except ValidationError as error:
        raise from_validation(error, project_json) from None
    if not isinstance(render_json, dict):
        raise TwoShotError("VALIDATION_ERROR", f"expected an object, got {type(render_json).__name__}",
                           field="render")
    try:
        request = RenderRequest.model_validate(render_json)
    except ValidationError as error:
        raise from_validation(error, render_json) from None
    unknown = [field_path(location) for location in unknown_fields(project)]
    unknown += [field_path(("render", *location)) for location in unknown_fields(request)]
    if wrapped:
        unknown += [key for key in document if key not in ("project", "render")]
    return RenderDocument(project, request, tuple(unknown))


def load_document(path: str | Path) -> object:
    path = Path(path)
    if not path.exists():
        raise TwoShotError("NOT_FOUND", f"no such project file: {str(path)!r}", field="project")
    try:
        return load_json(path, "project")
    except MixdownError as error:
        raise from_mixdown(error) from None


def _output_and_format(output: str | Path, requested: str | None, body_format: str | None) -> tuple[str, str]:
    """``-o``'s name and the format (see :func:`mixdown.formats.naming.resolve_output`): ``--format``, else
    the name's extension, else the render body's format, else wav."""
    try:
        return resolve_output(output, requested, body_format or "wav")
    except MixdownError as error:
        raise from_mixdown(error) from None


def output_spec(fmt: str, quality: str, options: Mapping[str, Any] | None = None) -> dict:
    """The output object for ``fmt``: ``options`` (TwistedWave output options such as ``{"codec": "float"}``
    or ``{"vbr": true}``) laid over the bit depth or bitrate ``quality`` implies (see ``QUALITY``), which
    applies only where the format has that option and the given options leave it in force."""
    given = dict(options or {})
    if "format" in given:
        raise TwoShotError("VALIDATION_ERROR", "the format comes from --format or the output's extension, not "
                           "from the output options", field="options.format")
    wanted = QUALITY[quality]
    table = FORMATS[fmt].options

    def implied(name: str) -> bool:
        option = table.get(name)
        if option is None or name in given:
            return False
        if option.only_when is None:
            return True
        other, value = option.only_when
        return given.get(other, table[other].default) == value

    spec: dict = {"format": fmt}
    if implied("bit_depth"):
        spec["bit_depth"] = wanted["bit_depth"]
    if implied("bit_rate"):
        spec["bit_rate"] = max(rate for rate in table["bit_rate"].allowed if rate <= wanted["bit_rate"])
    return {**spec, **given}


def _with_overrides(document: object, overrides: dict) -> object:
    """The document wrapped as ``{"project", "render"}`` with the given (not None) render options laid over."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not isinstance(document, dict):
        return document
    if isinstance(document.get("project"), dict) and "tracks" not in document:
        render = document.get("render", {})
        return {**document, "render": {**render, **given} if isinstance(render, dict) else render}
    return {"project": document, "render": given}


def _library(library: str | Path | Mapping | SampleLibrary, sources: SourceCache | None) -> SampleLibrary:
    return library if isinstance(library, SampleLibrary) else SampleLibrary(library, sources)


def render_array(
    document: object,
    library: str | Path | Mapping | SampleLibrary,
    *,
    quality: str | None = None,
    start: float | None = None,
    end: float | None = None,
    sample_rate: int | None = None,
    varispeed: bool = False,
    materials: MaterialCache | None = None,
    max_duration: float | None = None,
) -> tuple[np.ndarray, int]:
    """Render ``document`` to float32 ``(channels, frames)`` and its rate: the samples ``render_document``
    encodes (``max_duration`` as there). Raises :class:`TwoShotError` for bad input."""
    overrides = {"quality": quality, "startTime": start, "endTime": end, "sampleRate": sample_rate}
    parsed = parse_document(_with_overrides(document, overrides))
    warn_unknown(parsed.unknown, "TwoShot project")
    plan = _plan(parsed, _library(library, None), varispeed, max_duration)
    try:
        audio = render(plan.timeline, plan.start, plan.end, materials=materials)
    except MixdownError as error:
        raise from_mixdown(error) from None
    return audio, plan.timeline.sample_rate


def render_document(
    document: object,
    library: str | Path | Mapping | SampleLibrary,
    output: str | Path,
    *,
    format: str | None = None,
    quality: str | None = None,
    start: float | None = None,
    end: float | None = None,
    sample_rate: int | None = None,
    varispeed: bool = False,
    jobs: JobRegistry | None = None,
    progress: Progress | None = None,
    sources: SourceCache | None = None,
    materials: MaterialCache | None = None,
    max_duration: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict:
    """Render ``document`` to ``output``; returns the reply plus what was written.

    Options given here override the document's render body. ``max_duration`` bounds the rendered range
    in seconds (default :data:`~mixdown.api_compat.fields.DEFAULT_MAX_DURATION_S`, 0 for no limit).
    ``options`` are TwistedWave output options laid over what ``quality`` picks (:func:`output_spec`):
    ``{"codec": "float"}`` writes 32-bit float WAV, the rendered samples exactly.
    Raises :class:`TwoShotError` (with its error body) for bad input; the job, when a registry is given,
    is recorded as failed.
    """
    overrides = {"format": format, "quality": quality, "startTime": start, "endTime": end, "sampleRate": sample_rate}
    parsed = parse_document(_with_overrides(document, overrides))
    name, fmt = _output_and_format(output, format, parsed.request.format
                                   if "format" in parsed.request.model_fields_set else None)
    spec = _checked_spec(fmt, parsed.request.quality, options)
    plan = _plan(parsed, _library(library, sources), varispeed, max_duration)
    work = RenderWork.of(plan.timeline, plan.seconds, fmt)
    record = jobs.start(work, {"output": name, "format": fmt, "quality": parsed.request.quality}) \
        if jobs else None
    began = time.perf_counter()
    meter = PeakMeter(plan.timeline.channels)
    try:
        frames = _encode(plan, name, spec, progress, materials, meter)
    except MixdownError as error:
        failure = from_mixdown(error)
        if record:
            jobs.fail(record, failure.body())
        raise failure from None
    except KeyboardInterrupt as stop:
        if record:
            jobs.fail(record, cancelled_body(f"stopped by {stop or 'SIGINT'} before the render finished"))
        raise
    except BaseException as error:
        if record:
            jobs.fail(record, TwoShotError("INTERNAL_ERROR", f"{type(error).__name__}: {error}").body())
        raise
    peaks = meter.report()
    warnings = unknown_field_warnings(list(parsed.unknown))
    if peaks.clipped_samples and spec.options.get("codec") != "float":
        warnings.append({"field": "output", "message": (
            f"{peaks.clipped_samples} samples clipped (true peak {peaks.true_peak_dbtp:+.2f} dBTP); "
            f"lower the track or clip volumes")})
    details = {
        "output": name,
        "format": fmt,
        "quality": parsed.request.quality,
        "sampleRate": plan.timeline.sample_rate,
        "channels": plan.timeline.channels,
        "frames": frames,
        "duration": frames / plan.timeline.sample_rate,
        "clips": plan.clip_count,
        "tempoSync": plan.tempo_sync,
        "tempoSyncSources": {audio: tempo.to_reply() for audio, tempo in plan.source_tempi.items()},
        "renderSeconds": round(time.perf_counter() - began, 3),
        "samplePeakDbfs": _rounded(peaks.sample_peak_dbfs),
        "truePeakDbtp": _rounded(peaks.true_peak_dbtp),
        "clippedSamples": peaks.clipped_samples,
        "warnings": warnings,
    }
    if record:
        record = jobs.finish(record, work, **details)
        return {**reply(record), **details}
    return {"jobId": None, "status": "completed", "estimatedCompletion": None, **details}


def project_duration(project: object, library: str | Path | Mapping | SampleLibrary, *,
                     sources: SourceCache | None = None) -> float:
    """Seconds a render of ``project`` with no range asked lasts: ``playHead.start`` to ``playHead.end``, else
    to the end of the last sounding clip (rule 9 of ``twoshot-project.md``); what TwoShot's ``GET /project``
    filters ``minDuration``/``maxDuration`` compare. Nothing is rendered; the sources are read for their
    lengths and tempi. Raises :class:`TwoShotError` for a project that cannot be rendered."""
    parsed = parse_document({"project": project, "render": {}} if isinstance(project, dict) else project)
    return _plan(parsed, _library(library, sources), False, 0).seconds


def _plan(parsed: RenderDocument, library: SampleLibrary, varispeed: bool, max_duration: float | None) -> RenderPlan:
    try:
        return translate(parsed.project, library, parsed.request, detect_bpm=detect_source_bpm,
                         varispeed=varispeed, max_duration=max_duration)
    except TwoShotError:
        raise
    except MixdownError as error:
        raise from_mixdown(error) from None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _metered(blocks: Iterator[np.ndarray], meter: PeakMeter) -> Iterator[np.ndarray]:
    for block in blocks:
        meter.add(block)
        yield block


def _checked_spec(fmt: str, quality: str, options: Mapping[str, Any] | None) -> OutputSpec:
    """The output object, checked before anything renders; a bad option names ``options.<name>``."""
    try:
        return parse_output(output_spec(fmt, quality, options))
    except MixdownError as error:
        named = options is not None and error.field in options
        raise from_mixdown(error, f"options.{error.field}" if named else None) from None


def _encode(plan: RenderPlan, output: str, spec: OutputSpec, progress: Progress | None,
            materials: MaterialCache | None, meter: PeakMeter) -> int:
    blocks = _metered(render_blocks(plan.timeline, plan.start, plan.end, materials=materials), meter)
    return encode_blocks(output, reported(blocks, progress, plan.frames), plan.timeline.sample_rate,
                         plan.timeline.channels, spec, frames=plan.frames)
