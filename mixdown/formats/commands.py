"""The ``export`` and ``info`` subcommands of ``mixdown``.

``mixdown export IN -o OUT [--spec JSON]`` writes IN as the TwistedWave output object in ``--spec``
(its format defaults from OUT's extension); ``mixdown info FILE [--json]`` prints format, codec,
sample_rate, channels, frames and duration. Bad input raises mixdown's typed errors; the ``mixdown``
entry point turns them into one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mixdown.console import emit
from mixdown.errors import InvalidInputError
from mixdown.formats.atomic import check_output
from mixdown.formats.export import export_file
from mixdown.formats.probe import probe
from mixdown.formats.spec import format_for_extension, parse_output
from mixdown.formats.table import EXTENSIONS
from mixdown.progress import progress_for


def _spec_object(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"not valid JSON: {error.msg} at character {error.pos}", field="--spec") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"expected a JSON object, got {type(value).__name__}", field="--spec")
    return value


def _output_object(spec_text: str | None, output: str | None) -> dict[str, Any]:
    """The output object, its format taken from OUT's extension when the spec names none."""
    spec = _spec_object(spec_text)
    if "format" not in spec:
        if output is None or Path(output).is_dir():
            raise InvalidInputError("give -o OUT with an extension, or a format in --spec", field="format")
        spec["format"] = format_for_extension(output)
    elif output is not None:
        named = EXTENSIONS.get(Path(output).suffix.lstrip(".").lower())
        if named is not None and named != spec["format"]:
            raise InvalidInputError(
                f"{output!r} has the extension of {named}, but the spec's format is {spec['format']!r}",
                field="--output",
            )
    return spec


def run_export(args: argparse.Namespace) -> int:
    spec = parse_output(_output_object(args.spec, args.output))
    if args.output is not None and not Path(args.output).is_dir():
        check_output(args.output)
    with progress_for(args, "export", unit="frames") as progress:
        result = export_file(args.input, spec, args.output, progress=progress)
    reply = {
        "path": str(args.input), "output": str(result.path), "format": result.format, "options": result.options,
        "sample_rate": result.sample_rate, "channels": result.channels, "frames": result.frames,
        "duration": result.frames / result.sample_rate,
    }
    emit(args, reply, f"{result.path}: {result.format}, {result.channels} ch, {result.sample_rate} Hz, "
                      f"{result.frames} frames")
    return 0


def run_info(args: argparse.Namespace) -> int:
    summary = probe(args.file).to_dict()
    emit(args, summary, [f"{name:<12}{value}" for name, value in summary.items()])
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export`` and ``info`` on the ``mixdown`` command's subparsers (each sets ``run``)."""
    exporter = subparsers.add_parser("export", help="write audio in a TwistedWave output format")
    exporter.add_argument("input", metavar="IN", help="audio file to read")
    exporter.add_argument("-o", "--output", metavar="OUT",
                          help="file or folder to write (default: the spec's exported_filename)")
    exporter.add_argument("--spec", metavar="JSON",
                          help='TwistedWave output object as JSON, e.g. \'{"bit_rate": 192}\'')
    exporter.add_argument("--json", action="store_true", help="print the result as JSON")
    exporter.set_defaults(run=run_export)

    info = subparsers.add_parser("info", help="format, codec, rate, channels and frames of an audio file")
    info.add_argument("file", metavar="FILE", help="audio file")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=run_info)
