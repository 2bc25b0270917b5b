"""``mixdown render`` and ``mixdown demo``: TwoShot projects from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.jobs import JobRegistry
from mixdown.api_compat.twoshot.service import Progress, load_document, render_document
from mixdown.errors import MixdownError


class ProgressBar:
    """A one-line bar on a terminal's stderr, shown once a render has run for a second."""

    def __init__(self, stream=sys.stderr, delay: float = 1.0) -> None:
        self.stream = stream
        self.started = time.perf_counter()
        self.delay = delay
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if time.perf_counter() - self.started < self.delay:
            return
        self.shown = True
        width = 30
        filled = round(width * done / max(total, 1))
        self.stream.write(f"\rrendering [{'#' * filled}{'.' * (width - filled)}] {100 * done / max(total, 1):5.1f}%")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _print(payload: dict) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False))


def cmd_render(args: argparse.Namespace) -> int:
    registry = JobRegistry(args.jobs)
    if args.status:
        if args.project:
            raise TwoShotError("VALIDATION_ERROR", "give a project or --status, not both", field="--status")
        _print(registry.get(args.status))
        return 0
    if not args.project or not args.output or not args.library:
        raise TwoShotError("VALIDATION_ERROR", "render needs PROJECT.json, --library DIR and -o OUT", field="project")
    bar: Progress | None = ProgressBar() if sys.stderr.isatty() and not args.json else None
    try:
        result = render_document(
            load_document(args.project), args.library, args.output, format=args.format, quality=args.quality,
            start=args.start, end=args.end, sample_rate=args.sample_rate, varispeed=args.varispeed,
            jobs=registry, progress=bar,
        )
    finally:
        if bar:
            bar.close()
    if args.json:
        _print(result)
    else:
        print(f"{result['output']}: {result['duration']:.3f} s ({result['frames']} frames at "
              f"{result['sampleRate']} Hz), {result['clips']} clips, job {result['jobId']} {result['status']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mixdown.api_compat.twoshot.demo import demo_project, write_library
    from mixdown.engine import measure_loudness
    from mixdown.formats import read

    output = Path(args.output)
    folder = output.parent / f"{output.stem}-files"
    library = folder / "library"
    write_library(library)
    project_path = folder / "project.json"
    project_path.write_text(json.dumps(demo_project(), indent=2) + "\n", encoding="utf-8")
    result = render_document(load_document(project_path), library, output, quality=args.quality,
                             jobs=JobRegistry(args.jobs))
    audio, rate = read(output)
    loudness = measure_loudness(audio, rate).to_dict()
    payload = {**result, "project": str(project_path), "library": str(library), "loudness": loudness}
    if args.json:
        _print(payload)
    else:
        print(f"project:  {project_path}")
        print(f"library:  {library}")
        print(f"rendered: {output} ({result['duration']:.3f} s, {result['clips']} clips, {result['sampleRate']} Hz)")
        print(f"loudness: {loudness['integrated_lufs']:.1f} LUFS integrated, true peak "
              f"{loudness['true_peak_dbtp']:.1f} dBTP")
    return 0


def _error_reply(args: argparse.Namespace, error: MixdownError) -> None:
    if getattr(args, "json", False):
        body = error.body() if isinstance(error, TwoShotError) else TwoShotError(
            "VALIDATION_ERROR" if error.exit_code == 2 else "INTERNAL_ERROR", error.message, field=error.field).body()
        _print(body)


def add_commands(commands: argparse._SubParsersAction) -> None:
    render = commands.add_parser("render", help="render a TwoShot project JSON with a local sample library")
    render.add_argument("project", nargs="?", help="project JSON: a bare project or {project, render}")
    render.add_argument("--library", help="sample library folder (<audioId>.<ext>, optional library.json)")
    render.add_argument("-o", "--output", help="file to write (atomically)")
    render.add_argument("--format", help="any export format: wav, flac, mp3, ogg, aac, ... (default: from -o)")
    render.add_argument("--quality", choices=["low", "medium", "high"], help="stretch preset and PCM depth")
    render.add_argument("--start", type=float, help="render from this many seconds")
    render.add_argument("--end", type=float, help="render to this many seconds")
    render.add_argument("--sample-rate", type=int, help="output rate in Hz (default 44100)")
    render.add_argument("--varispeed", action="store_true", help="speed changes by resampling (pitch follows)")
    render.add_argument("--jobs", help="job registry folder (default $MIXDOWN_HOME/jobs)")
    render.add_argument("--status", metavar="JOB_ID", help="print a render job's record instead of rendering")
    render.add_argument("--json", action="store_true", help="print the reply (or the error body) as JSON")
    render.set_defaults(run=cmd_render, on_error=_error_reply)

    demo = commands.add_parser("demo", help="synthesize a sample library and a project, and render it")
    demo.add_argument("-o", "--output", default="mixdown-demo.wav", help="file to write (default: %(default)s)")
    demo.add_argument("--quality", choices=["low", "medium", "high"], default="high")
    demo.add_argument("--jobs", help="job registry folder (default $MIXDOWN_HOME/jobs)")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.set_defaults(run=cmd_demo, on_error=_error_reply)
