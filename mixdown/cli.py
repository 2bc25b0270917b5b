"""The ``mixdown`` command.

Replies, errors, warnings, ``--json``/``-q``/``-v`` and exit statuses follow :mod:`mixdown.console` on every
command: 0 success, 2 bad input (options included), 1 internal failure, 130 interrupted. Errors are one line
on stderr, never a traceback (unless ``-v``), and never leave an output behind.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence

from mixdown import __version__
from mixdown.console import (
    CommandInterruptedError,
    InternalError,
    UsageError,
    add_reply_options,
    command_name,
    emit,
    error_object,
    note,
    print_json,
    usage_error,
)
from mixdown.errors import InvalidInputError, MixdownError
from mixdown.formats.atomic import check_output
from mixdown.formats.naming import output_container
from mixdown.progress import progress_for
from mixdown.runtime import interrupted_error, run_guarded


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


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
    from mixdown.files import loudness_file

    with progress_for(args, "loudness", unit="frames") as progress:
        figures = loudness_file(args.file, progress=progress).to_dict()
    emit(args, {"path": str(args.file), **figures}, _loudness_lines(figures))
    return 0


def cmd_normalize(args: argparse.Namespace) -> int:
    from mixdown.files import normalize_file

    if args.peak is not None and args.true_peak is not None:
        raise InvalidInputError("--true-peak goes with --lufs, not --peak", field="--true-peak")
    ceiling = -1.0 if args.true_peak is None else args.true_peak
    check_output(args.output)
    with progress_for(args, "normalize", unit="frames") as progress:
        done = normalize_file(args.input, args.output, lufs=args.lufs, true_peak_dbtp=ceiling,
                              peak_dbfs=args.peak, subtype=args.subtype, progress=progress)
    if args.peak is not None:
        reply = {"mode": "peak", "target_dbfs": args.peak, "gain_db": done.gain_db, "limited": False}
    else:
        reply = {
            "mode": "loudness",
            "target_lufs": args.lufs,
            "true_peak_ceiling_dbtp": ceiling,
            "gain_db": done.gain_db,
            "limited": done.limited,
            "before": done.before.to_dict(),
            "after": done.after.to_dict(),
        }
    reply = {"path": str(args.input), "output": str(args.output), **reply}
    limited = ", limited" if reply["limited"] else ""
    emit(args, reply, f"{args.output}: gain {reply['gain_db']:+.2f} dB{limited}")
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


#: ``mixdown stretch``'s steps, time per frame relative to decoding a 16-bit WAV (measured on 2 minutes of
#: stereo 44.1 kHz music-like audio, 2026-11-24, ``benchmarks.signals.music_like``): its bar gives each step
#: its share of the job. Containers are libsndfile's names; any other input (FLAC, MP3, what PyAV decodes)
#: costs about as much to decode as FLAC.
_PCM_CONTAINERS = {"WAV", "WAVEX", "AIFF", "W64", "RF64", "CAF", "AU"}
_COMPRESSED_DECODE_COST = 3.7
_ENCODE_COST = {"FLAC": 7.8, "OGG": 29.3}
_PCM_ENCODE_COST = 4.1
_STRETCH_COST = 9.8
_PITCH_SHIFT_COST = 11.2


def _stretch_shares(args: argparse.Namespace, ratio: float) -> tuple[float, float]:
    """Where decoding and the stretch end on ``mixdown stretch``'s bar, as fractions of the job."""
    from mixdown.engine.stretch import RATIO_RANGE
    from mixdown.formats.audio_io import sndfile_container

    # A ratio out of range, which the stretch refuses, is weighed as the nearest allowed one.
    speed = min(max(ratio, RATIO_RANGE[0]), RATIO_RANGE[1])
    decode = 1.0 if sndfile_container(args.input) in _PCM_CONTAINERS else _COMPRESSED_DECODE_COST
    if args.varispeed or (ratio == 1 and args.semitones == 0):
        work = 1.0
    else:
        work = (_PITCH_SHIFT_COST if args.semitones else _STRETCH_COST) / speed
    container = output_container(args.output, args.format, None) or sndfile_container(args.output)
    encode = _ENCODE_COST.get(container, _PCM_ENCODE_COST) / speed
    whole = decode + work + encode
    return decode / whole, (decode + work) / whole


def cmd_stretch(args: argparse.Namespace) -> int:
    from mixdown.engine import stretch
    from mixdown.engine.stretch import formant_amount
    from mixdown.files import read_whole
    from mixdown.formats import write

    ratio = _stretch_ratio(args)
    decoded, stretched = _stretch_shares(args, ratio)
    with progress_for(args, "stretch") as progress:
        progress.stage("decoding")
        check_output(args.output)
        audio, rate = read_whole(args.input, "stretching", progress=progress.share(0.0, decoded))
        progress.stage("stretching")
        formants = args.formants
        if formants is None and not args.varispeed and args.semitones != 0:
            formants = formant_amount(audio, rate)
        out = stretch(audio, rate, ratio, args.semitones, quality=args.quality, varispeed=args.varispeed,
                      formants=formants, progress=progress.share(decoded, stretched))
        progress.stage("encoding")
        write(args.output, out, rate, subtype=args.subtype,
              container=output_container(args.output, args.format, "WAV"), progress=progress.share(stretched, 1.0))
    reply = {
        "path": str(args.input),
        "output": str(args.output),
        "ratio": ratio,
        "semitones": args.semitones,
        "quality": args.quality,
        "varispeed": args.varispeed,
        "formants": 0.0 if args.varispeed else formants,
        "input_frames": int(audio.shape[1]),
        "frames": int(out.shape[1]),
        "sample_rate": rate,
    }
    emit(args, reply, f"{args.output}: {reply['input_frames']} -> {reply['frames']} frames (ratio {ratio:g}, "
                      f"{args.semitones:+g} semitones, {args.quality})")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are raised, so that ``main`` answers them like any bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        error = usage_error(message)
        error.parser = self  # type: ignore[attr-defined]
        raise error


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parsers of the runnable commands under ``parser`` (``loudness``, ``job get``, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for sub in action.choices.values():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _leaves(sub)
            return
    yield parser


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mixdown", description="Local, offline audio rendering engine.", epilog=(
        "Every command takes --json (one JSON reply, or the error object), -q (stderr: errors only) and -v "
        "(timings, tracebacks). Exit status: 0 success, 2 bad input, 1 internal failure, 130 interrupted."))
    parser.add_argument("-V", "--version", action="version", version=f"mixdown {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    loudness = commands.add_parser("loudness", help="measure EBU R128 / BS.1770-4 loudness and peaks")
    loudness.add_argument("file", metavar="FILE", help="audio file")
    loudness.set_defaults(run=cmd_loudness)

    normalize = commands.add_parser("normalize", help="normalize to a loudness or a peak level")
    normalize.add_argument("input", metavar="IN", help="audio file to read")
    normalize.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write (atomically)")
    target = normalize.add_mutually_exclusive_group(required=True)
    target.add_argument("--lufs", type=_finite, metavar="TARGET", help="integrated loudness target, LUFS")
    target.add_argument("--peak", type=_finite, metavar="DBFS", help="sample peak target, dBFS")
    normalize.add_argument("--true-peak", type=_finite, metavar="CEILING_DBTP",
                           help="true-peak ceiling with --lufs, dBTP (default: -1)")
    normalize.add_argument("--subtype", metavar="SUBTYPE",
                           help="output encoding, e.g. PCM_16, PCM_24, FLOAT (default: the input's)")
    normalize.set_defaults(run=cmd_normalize)

    stretch = commands.add_parser("stretch", help="change speed and/or pitch (phase vocoder, or varispeed)")
    stretch.add_argument("input", metavar="IN", help="audio file to read")
    stretch.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write (atomically)")
    stretch.add_argument("--ratio", type=_finite, metavar="R", help="playback speed: 2 is twice as fast (default: 1)")
    stretch.add_argument("--from-bpm", type=_finite, metavar="A", help="the input's tempo, with --to-bpm")
    stretch.add_argument("--to-bpm", type=_finite, metavar="B", help="the tempo to play at, with --from-bpm")
    stretch.add_argument("--semitones", type=_finite, default=0.0, metavar="S",
                         help="pitch offset (default: %(default)g)")
    stretch.add_argument("--quality", choices=["draft", "standard", "high"], default="high",
                         help="phase vocoder preset: FFT 2048, 3072 or 4096; a pitch shift's is 2048, 4096 or 4096 "
                              "(default: %(default)s)")
    stretch.add_argument("--varispeed", action="store_true", help="resample: pitch follows speed, as on tape")
    stretch.add_argument("--formants", type=_finite, nargs="?", const=1.0, metavar="AMOUNT",
                         help="how much of the spectral envelope (formants) stays in place when the pitch moves, "
                              "0-1: 1 (the flag alone) keeps it, 0 moves it with the pitch as on tape "
                              "(default: as much as the input's own notes keep in place, else 0.4)")
    stretch.add_argument("--no-formants", dest="formants", action="store_const", const=0.0,
                         help="move the spectral envelope with the pitch, as on tape (same as --formants 0)")
    stretch.add_argument("--format", help="container for -o - or a name without extension (default: wav)")
    stretch.add_argument("--subtype", metavar="SUBTYPE", help="output encoding (default: 24-bit PCM)")
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
    for leaf in _leaves(parser):
        if leaf is not parser:
            add_reply_options(leaf)
    return parser


def _usage_args(error: UsageError, argv: Sequence[str]) -> argparse.Namespace:
    """What ``main`` knows of a command whose options did not parse: its name, its error reply, --json."""
    parser: argparse.ArgumentParser = getattr(error, "parser", None) or _Parser(prog="mixdown")
    words = parser.prog.split()
    return argparse.Namespace(
        command=" ".join(words[1:]) or None, on_error=parser.get_default("on_error"),
        json="--json" in argv, quiet="-q" in argv or "--quiet" in argv,
        verbose="-v" in argv or "--verbose" in argv,
    )


def _own_error_reply(args: argparse.Namespace, error: MixdownError) -> None:
    print_json(error_object(error))


def _fail(args: argparse.Namespace, error: MixdownError) -> int:
    """Answer ``error``: its reply on stdout with --json, one line on stderr; returns the exit status."""
    if getattr(args, "json", False):
        on_error: Callable[[argparse.Namespace, MixdownError], None] = getattr(args, "on_error", None) \
            or _own_error_reply
        on_error(args, error)
    name = command_name(args)
    if isinstance(error, CommandInterruptedError):
        print(f"{name}: {error.message}", file=sys.stderr)
    elif isinstance(error, InternalError):
        print(f"{name}: internal error: {error}", file=sys.stderr)
    else:
        print(f"{name}: error: {error}", file=sys.stderr)
    return error.exit_code


#: Options every command takes, also accepted before the command's name (``mixdown --json info x.wav``).
_REPLY_OPTIONS = frozenset({"--json", "-q", "--quiet", "-v", "--verbose"})


def _reply_options_last(argv: list[str]) -> list[str]:
    """``argv`` with the reply options written before the command moved after it, where its parser reads them."""
    lead = 0
    while lead < len(argv) and argv[lead] in _REPLY_OPTIONS:
        lead += 1
    return argv[lead:] + argv[:lead] if lead < len(argv) else argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = _reply_options_last(sys.argv[1:] if argv is None else list(argv))
    try:
        args, extra = _parser().parse_known_args(argv)
    except UsageError as error:
        return _fail(_usage_args(error, argv), error)
    if extra:
        return _fail(args, UsageError(f"unrecognized arguments: {' '.join(extra)}", field=extra[0]))
    run: Callable[[argparse.Namespace], int] = args.run
    started = time.perf_counter()
    try:
        status = run_guarded(run, args)
    except MixdownError as error:
        return _fail(args, error)
    except KeyboardInterrupt as stop:
        return _fail(args, interrupted_error(stop))
    except Exception as error:
        if getattr(args, "verbose", False):
            traceback.print_exc()
        return _fail(args, InternalError(f"{type(error).__name__}: {error}"))
    note(args, f"done in {time.perf_counter() - started:.2f} s (exit status {status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
