"""``mixdown render`` and ``mixdown demo``: TwoShot projects from the command line.

The renderer is imported when a command runs, not when the command line builds its parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mixdown.api_compat.json_input import parse_json
from mixdown.console import emit, print_json
from mixdown.errors import InvalidInputError, MixdownError, OutputPathError
from mixdown.frames import DEFAULT_MAX_DURATION_S
from mixdown.progress import progress_for


def _options(text: str | None) -> dict | None:
    """``--options``: a JSON object of output options (``{"codec": "float"}``, ``{"bit_rate": 256}``)."""
    if text is None:
        return None
    options = parse_json(text, "--options", name="--options")
    if not isinstance(options, dict):
        raise InvalidInputError("expected a JSON object of output options", field="--options")
    return options


def cmd_render(args: argparse.Namespace) -> int:
    from mixdown.api_compat.twoshot.errors import TwoShotError
    from mixdown.api_compat.twoshot.jobs import JobRegistry
    from mixdown.api_compat.twoshot.service import load_document, render_document

    registry = JobRegistry(args.jobs)
    if args.status:
        if args.project:
            raise TwoShotError("VALIDATION_ERROR", "give a project or --status, not both", field="--status")
        record = registry.get(args.status)
        emit(args, record, [f"{key}: {value}" for key, value in record.items()])
        return 0
    for given, field in ((args.project, "project"), (args.library, "--library"), (args.output, "--output")):
        if not given:
            raise TwoShotError("VALIDATION_ERROR", "render needs PROJECT.json, --library DIR and -o OUT",
                               field=field)
    with progress_for(args, "rendering", unit="frames") as progress:
        result = render_document(
            load_document(args.project), args.library, args.output, format=args.format, quality=args.quality,
            start=args.start, end=args.end, sample_rate=args.sample_rate, varispeed=args.varispeed,
            jobs=registry, progress=progress, max_duration=args.max_duration, options=_options(args.options),
        )
    emit(args, result, f"{result['output']}: {result['duration']:.3f} s ({result['frames']} frames at "
                       f"{result['sampleRate']} Hz), {result['clips']} clips, job {result['jobId']} {result['status']}",
         result.get("warnings", ()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mixdown.api_compat.twoshot.demo import demo_project, write_library
    from mixdown.api_compat.twoshot.jobs import JobRegistry
    from mixdown.api_compat.twoshot.service import load_document, render_document
    from mixdown.engine import measure_loudness
    from mixdown.formats import read

    output = Path(args.output)
    folder = output.parent / f"{output.stem}-files"
    library = folder / "library"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputPathError(f"cannot create {str(folder)!r}: {error.strerror}", field="output") from None
    write_library(library)
    project_path = folder / "project.json"
    project_path.write_text(json.dumps(demo_project(), indent=2) + "\n", encoding="utf-8")
    with progress_for(args, "demo", unit="frames") as progress:
        result = render_document(load_document(project_path), library, output, quality=args.quality,
                                 jobs=JobRegistry(args.jobs), progress=progress)
        progress.stage("measuring loudness")
        audio, rate = read(output)
        loudness = measure_loudness(audio, rate).to_dict()
    payload = {
        "output": str(output), "project": str(project_path), "library": str(library),
        "duration": result["duration"], "frames": result["frames"], "sample_rate": result["sampleRate"],
        "clips": result["clips"], "loudness": loudness, "render": result,
    }
    emit(args, payload, [
        f"project:  {project_path}",
        f"library:  {library}",
        f"rendered: {output} ({result['duration']:.3f} s, {result['clips']} clips, {result['sampleRate']} Hz)",
        f"loudness: {loudness['integrated_lufs']:.1f} LUFS integrated, true peak "
        f"{loudness['true_peak_dbtp']:.1f} dBTP",
    ])
    return 0


def _error_reply(args: argparse.Namespace, error: MixdownError) -> None:
    """TwoShot's error body (``mixdown.cli.main`` calls this with ``--json`` only)."""
    from mixdown.api_compat.twoshot.errors import from_mixdown

    print_json(from_mixdown(error).body())


def add_commands(commands: argparse._SubParsersAction) -> None:
    render = commands.add_parser("render", help="render a TwoShot project JSON with a local sample library")
    render.add_argument("project", nargs="?", metavar="PROJECT.json",
                        help="project JSON: a bare project or {project, render}")
    render.add_argument("--library", metavar="DIR",
                        help="sample library folder (<audioId>.<ext>, optional library.json)")
    render.add_argument("-o", "--output", metavar="OUT", help="file to write (atomically)")
    render.add_argument("--format", metavar="FORMAT",
                        help="any export format: wav, flac, mp3, ogg, aac, ... (default: from -o)")
    render.add_argument("--quality", choices=["low", "medium", "high"],
                        help="stretch preset, PCM depth and lossy bitrate (default: the render body's, else high)")
    render.add_argument("--options", metavar="JSON",
                        help='output options over the quality\'s, e.g. \'{"codec": "float"}\' (32-bit float WAV)')
    render.add_argument("--start", type=float, metavar="SEC", help="render from this many seconds")
    render.add_argument("--end", type=float, metavar="SEC", help="render to this many seconds")
    render.add_argument("--sample-rate", type=int, metavar="HZ", help="output rate (default: the body's, else 44100)")
    render.add_argument("--varispeed", action="store_true", help="speed changes by resampling (pitch follows)")
    render.add_argument("--max-duration", type=float, metavar="SEC",
                        help=f"refuse renders longer than this (default {DEFAULT_MAX_DURATION_S:g} s; 0: no limit)")
    render.add_argument("--jobs", metavar="DIR", help="job registry folder (default $MIXDOWN_HOME/jobs)")
    render.add_argument("--status", metavar="JOB_ID", help="print a render job's record instead of rendering")
    render.add_argument("--json", action="store_true", help="print the reply (or TwoShot's error body) as JSON")
    render.set_defaults(run=cmd_render, on_error=_error_reply)

    demo = commands.add_parser("demo", help="synthesize a sample library and a project, and render it")
    demo.add_argument("-o", "--output", metavar="OUT", default="mixdown-demo.wav",
                      help="file to write (default: %(default)s)")
    demo.add_argument("--quality", choices=["low", "medium", "high"], default="high",
                      help="stretch preset, PCM depth and lossy bitrate (default: %(default)s)")
    demo.add_argument("--jobs", metavar="DIR", help="job registry folder (default $MIXDOWN_HOME/jobs)")
    demo.set_defaults(run=cmd_demo)
