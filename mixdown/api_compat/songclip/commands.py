"""``mixdown songclip``: cut clips from a song as Songclip create events describe them.

The clip cutter (and the engine under it) is imported when the command runs, not when the command line
builds its parser."""

from __future__ import annotations

import argparse

from mixdown.api_compat.json_input import load_json, parse_json
from mixdown.api_compat.songclip.presets import PRESETS
from mixdown.console import emit, print_json
from mixdown.errors import MixdownError
from mixdown.progress import progress_for


def _load(path: str) -> object:
    from mixdown.api_compat.songclip.clips import SongclipFailError

    try:
        return load_json(path, "spec")
    except MixdownError as problem:
        raise SongclipFailError({"spec": problem.message}) from None


def _options(text: str | None) -> dict | None:
    from mixdown.api_compat.songclip.clips import SongclipFailError

    if text is None:
        return None
    try:
        options = parse_json(text, "options", name="--options")
    except MixdownError as problem:
        raise SongclipFailError({"options": problem.message}) from None
    if not isinstance(options, dict):
        raise SongclipFailError({"options": "expected a JSON object of output options"})
    return options


def _plain(data: dict) -> list[str]:
    clips = data.get("songclips") or [data["songclip"]]
    return [f"{clip['audioUrl'].removeprefix('file://')}: {clip['duration']:.3f} s ({clip['frames']} frames), "
            f"{clip['size']} bytes, id {clip['id']}" for clip in clips]


def cmd_songclip(args: argparse.Namespace) -> int:
    from mixdown.api_compat.songclip.clips import render_clips

    with progress_for(args, "songclip", unit="frames") as progress:
        progress.stage("cutting")
        reply = render_clips(
            _load(args.spec), args.song, args.output, fmt=args.format, preset_name=args.preset, curve=args.curve,
            min_length=args.min_length, max_length=args.max_length, artist=args.artist, title=args.title,
            options=_options(args.options), progress=progress,
        )
    emit(args, reply, _plain(reply["data"]), reply["data"].get("warnings", ()))
    return 0


def _reply_on_error(args: argparse.Namespace, problem: MixdownError) -> None:
    """JSEND ``fail`` (a message per field) for bad input, else ``error`` (``--json`` only)."""
    from mixdown.api_compat.songclip.clips import SongclipFailError, error, fail

    if isinstance(problem, SongclipFailError):
        print_json(fail(problem.data))
    elif problem.exit_code == 2:
        print_json(fail({problem.field or "spec": problem.message}))
    else:
        print_json(error(problem.message))


def add_commands(commands: argparse._SubParsersAction) -> None:
    songclip = commands.add_parser("songclip", help="cut Songclip clips (ms start/end/fades) from a song")
    songclip.add_argument("spec", metavar="SPEC.json",
                          help="create event JSON, or a JSON list of them (one decode of the song)")
    songclip.add_argument("--song", metavar="FILE", required=True, help="the song to cut from")
    songclip.add_argument("-o", "--output", metavar="OUT", required=True,
                          help="file to write; a folder for a list of specs")
    songclip.add_argument("--format", metavar="FORMAT",
                          help="output format (default: the preset's, else the output's extension)")
    songclip.add_argument("--preset", choices=list(PRESETS), help="export preset by platform")
    songclip.add_argument("--curve", choices=["equal-power", "linear", "exponential"], default="equal-power",
                          help="fade curve (default: %(default)s)")
    songclip.add_argument("--min-length", type=float, metavar="S", help="shortest clip allowed, seconds")
    songclip.add_argument("--max-length", type=float, metavar="S", help="longest clip allowed, seconds")
    songclip.add_argument("--options", metavar="JSON", help='output options as JSON, e.g. \'{"bit_rate": 256}\'')
    songclip.add_argument("--artist", metavar="NAME", help="artist for the reply (default: the song's tag)")
    songclip.add_argument("--title", metavar="TITLE", help="title for the reply (default: the song's tag or file name)")
    songclip.add_argument("--json", action="store_true", help="print the JSEND reply (or fail/error body)")
    songclip.set_defaults(run=cmd_songclip, on_error=_reply_on_error)
