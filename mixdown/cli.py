"""The ``mixdown`` command.

Exit status: 0 on success, 2 for bad input (a missing or unreadable file, an out-of-range value), 1 for
an internal failure. Errors are one line on stderr, never a traceback, and never leave an output behind.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mixdown import __version__
from mixdown.errors import InvalidInputError, MixdownError


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False))


def _format_figure(value: float | None, unit: str) -> str:
    return "-inf" if value is None else f"{value:.2f} {unit}"


def _loudness_lines(figures: dict) -> list[str]:
    return [
        f"integrated      {_format_figure(figures['integrated_lufs'], 'LUFS')}",
        f"momentary max   {_format_figure(figures['momentary_max_lufs'], 'LUFS')}",
        f"short-term max  {_format_figure(figures['short_term_max_lufs'], 'LUFS')}",
        f"loudness range  {_format_figure(figures['loudness_range_lu'], 'LU')}",
        f"true peak       {_format_figure(figures['true_peak_dbtp'], 'dBTP')}",
        f"sample peak     {_format_figure(figures['sample_peak_dbfs'], 'dBFS')}",
        f"format          {figures['channels']} ch, {figures['sample_rate']} Hz, {figures['frames']} frames",
    ]


def cmd_loudness(args: argparse.Namespace) -> int:
    from mixdown.engine.loudness import measure_loudness
    from mixdown.formats import read

    audio, rate = read(args.file)
    figures = measure_loudness(audio, rate).to_dict()
    if args.json:
        _print_json(figures)
    else:
        print("\n".join(_loudness_lines(figures)))
    return 0


def _output_subtype(source: Path, output: Path, requested: str | None) -> str | None:
    """Keep the input's encoding when the output is the same kind of file, unless one is requested."""
    if requested:
        return requested
    from mixdown.formats import file_info

    info = file_info(source)
    if source.suffix.lower() == output.suffix.lower():
        return info.subtype
    return None


def cmd_normalize(args: argparse.Namespace) -> int:
    from mixdown.engine.normalize import normalize_loudness, normalize_peak
    from mixdown.formats import read, write

    audio, rate = read(args.input)
    subtype = _output_subtype(Path(args.input), Path(args.output), args.subtype)
    if args.peak is not None:
        if args.true_peak is not None:
            raise InvalidInputError("--true-peak goes with --lufs, not --peak", field="--true-peak")
        out, gain_db = normalize_peak(audio, args.peak)
        reply = {"mode": "peak", "target_dbfs": args.peak, "gain_db": gain_db, "limited": False}
    else:
        ceiling = -1.0 if args.true_peak is None else args.true_peak
        result = normalize_loudness(audio, rate, args.lufs, ceiling)
        out = result.audio
        reply = {
            "mode": "loudness",
            "target_lufs": args.lufs,
            "true_peak_ceiling_dbtp": ceiling,
            "gain_db": result.gain_db,
            "limited": result.limited,
            "before": result.before.to_dict(),
            "after": result.after.to_dict(),
        }
    write(args.output, out, rate, subtype=subtype)
    reply["output"] = str(args.output)
    if args.json:
        _print_json(reply)
    else:
        limited = ", limited" if reply["limited"] else ""
        print(f"{args.output}: gain {reply['gain_db']:+.2f} dB{limited}")
    return 0


def _stretch_ratio(args: argparse.Namespace) -> float:
    if args.ratio is not None:
        if args.from_bpm is not None or args.to_bpm is not None:
            raise InvalidInputError("give --ratio or --from-bpm/--to-bpm, not both", field="--ratio")
        return args.ratio
    if args.from_bpm is None and args.to_bpm is None:
        return 1.0
    if args.from_bpm is None or args.to_bpm is None:
        raise InvalidInputError("--from-bpm and --to-bpm go together", field="--from-bpm")
    for name, bpm in (("--from-bpm", args.from_bpm), ("--to-bpm", args.to_bpm)):
        if bpm <= 0:
            raise InvalidInputError(f"must be > 0, got {bpm}", field=name)
    return args.to_bpm / args.from_bpm


def cmd_stretch(args: argparse.Namespace) -> int:
    from mixdown.engine import stretch
    from mixdown.formats import read, write

    audio, rate = read(args.input)
    ratio = _stretch_ratio(args)
    out = stretch(audio, rate, ratio, args.semitones, quality=args.quality, varispeed=args.varispeed)
    write(args.output, out, rate, subtype=args.subtype)
    reply = {
        "output": str(args.output),
        "ratio": ratio,
        "semitones": args.semitones,
        "quality": args.quality,
        "varispeed": args.varispeed,
        "input_frames": int(audio.shape[1]),
        "frames": int(out.shape[1]),
        "sample_rate": rate,
    }
    if args.json:
        _print_json(reply)
    else:
        print(f"{args.output}: {reply['input_frames']} -> {reply['frames']} frames (ratio {ratio:g}, "
              f"{args.semitones:+g} semitones, {args.quality})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixdown", description="Local, offline audio rendering engine.")
    parser.add_argument("--version", action="version", version=f"mixdown {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    loudness = commands.add_parser("loudness", help="measure EBU R128 / BS.1770-4 loudness and peaks")
    loudness.add_argument("file", help="audio file")
    loudness.add_argument("--json", action="store_true", help="print one JSON object")
    loudness.set_defaults(run=cmd_loudness)

    normalize = commands.add_parser("normalize", help="normalize to a loudness or a peak level")
    normalize.add_argument("input", help="audio file to read")
    normalize.add_argument("-o", "--output", required=True, help="file to write (atomically)")
    target = normalize.add_mutually_exclusive_group(required=True)
    target.add_argument("--lufs", type=_finite, help="integrated loudness target, LUFS")
    target.add_argument("--peak", type=_finite, help="sample peak target, dBFS")
    normalize.add_argument("--true-peak", type=_finite, help="true-peak ceiling with --lufs, dBTP (default -1)")
    normalize.add_argument("--subtype", help="output encoding, e.g. PCM_16, PCM_24, FLOAT (default: the input's)")
    normalize.add_argument("--json", action="store_true", help="print the result as JSON")
    normalize.set_defaults(run=cmd_normalize)

    stretch = commands.add_parser("stretch", help="change speed and/or pitch (phase vocoder, or varispeed)")
    stretch.add_argument("input", help="audio file to read")
    stretch.add_argument("-o", "--output", required=True, help="file to write (atomically)")
    stretch.add_argument("--ratio", type=_finite, help="playback speed: 2 is twice as fast (default 1)")
    stretch.add_argument("--from-bpm", type=_finite, help="the input's tempo, with --to-bpm")
    stretch.add_argument("--to-bpm", type=_finite, help="the tempo to play at, with --from-bpm")
    stretch.add_argument("--semitones", type=_finite, default=0.0, help="pitch offset (default 0)")
    stretch.add_argument("--quality", choices=["draft", "standard", "high"], default="high")
    stretch.add_argument("--varispeed", action="store_true", help="resample: pitch follows speed, as on tape")
    stretch.add_argument("--subtype", help="output encoding (default: 24-bit PCM)")
    stretch.add_argument("--json", action="store_true", help="print the result as JSON")
    stretch.set_defaults(run=cmd_stretch)

    from mixdown.api_compat.songclip.commands import add_commands as add_songclip_commands
    from mixdown.api_compat.twistedwave.commands import add_commands as add_twistedwave_commands
    from mixdown.api_compat.twoshot.bpm_command import add_command as add_bpm_command
    from mixdown.api_compat.twoshot.commands import add_commands as add_twoshot_commands
    from mixdown.batch.commands import add_commands as add_batch_commands
    from mixdown.formats.commands import add_commands as add_formats_commands
    from mixdown.server.commands import add_commands as add_server_commands

    add_twoshot_commands(commands)
    add_bpm_command(commands)
    add_songclip_commands(commands)
    add_twistedwave_commands(commands)
    add_batch_commands(commands)
    add_formats_commands(commands)
    add_server_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except MixdownError as error:
        on_error = getattr(args, "on_error", None)
        if on_error:
            on_error(args, error)
        print(f"mixdown {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"mixdown {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        print(f"mixdown {args.command}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
