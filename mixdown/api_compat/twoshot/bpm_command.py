"""``mixdown bpm FILE [--json] [--loop|--no-loop]``: the tempo of an audio file, or "no tempo".

Prints the BPM with one decimal, or ``no tempo`` for a one-shot, a held sound or noise (exit status 0 either
way). With ``--json``, one object: ``bpm`` (``null`` for no tempo), ``confidence``, ``bars``, ``method``,
``evidence`` (snake_case keys; see :class:`mixdown.engine.tempo.TempoEvidence`) and ``path``. ``--loop``
says the file is a loop of whole bars, ``--no-loop`` that it is not; by default the onsets decide (see
:func:`mixdown.engine.tempo.detect_bpm`). Errors are :class:`MixdownError`\\ s naming their field, for the
command line to print as one line.
"""

from __future__ import annotations

import argparse
from typing import Any

from mixdown.console import emit
from mixdown.progress import progress_for


def run(args: argparse.Namespace) -> int:
    """Detect and print the tempo of ``args.file``; returns the exit status."""
    # Imported here, not at the top: registering the command must not load numba for every other command.
    from mixdown.engine.tempo import detect_bpm
    from mixdown.files import read_whole

    # One bar: decoding (a FLAC takes about 30% of the job, a WAV 15%), then the onset analysis (with the
    # resampling before it, unreported); the tempo search after it takes the last tenth.
    with progress_for(args, "bpm") as progress:
        progress.stage("decoding")
        audio, rate = read_whole(args.file, "tempo detection", progress=progress.share(0.0, 0.3))
        progress.stage("detecting")
        estimate = detect_bpm(audio, rate, is_loop=args.loop, progress=progress.share(0.3, 0.9))
        searched = progress.share(0.9, 1.0)
        searched(1, 1)
    emit(args, {**estimate.to_dict(), "path": str(args.file)},
         "no tempo" if estimate.bpm is None else f"{estimate.bpm:.1f}")
    return 0


def add_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``bpm`` on ``subparsers`` (from ``ArgumentParser.add_subparsers``); sets ``run``."""
    parser = subparsers.add_parser("bpm", help="detect the tempo of an audio file (loop length or onsets)")
    parser.add_argument("file", metavar="FILE", help="audio file")
    loop = parser.add_mutually_exclusive_group()
    loop.add_argument("--loop", dest="loop", action="store_const", const=True, default=None,
                      help="the file is a loop of whole bars: its tempo follows from its length")
    loop.add_argument("--no-loop", dest="loop", action="store_const", const=False,
                      help="the file is not a loop: measure the tempo from its onsets")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)
    return parser
