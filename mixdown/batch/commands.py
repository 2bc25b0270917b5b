"""``mixdown batch MANIFEST --out DIR [--workers N] [--scheduler tcp://HOST:PORT] [--resume] [--allow-root DIR]...
[--allow-private-http] [--json]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mixdown.console import emit
from mixdown.progress import progress_for

if TYPE_CHECKING:
    from mixdown.batch.runner import Summary


def _table(summary: Summary) -> str:
    data = summary.as_dict()
    rows = [("jobs", data["total"]), ("rendered", data["ok"]), ("failed", data["failed"]),
            ("skipped (resume)", data["skipped"]), ("cancelled", data["cancelled"]), ("remaining", data["remaining"]),
            ("audio rendered", f"{data['audio_seconds'] / 3600:.3f} h"),
            ("wall time", f"{data['wall_seconds']:.1f} s"),
            ("speed", "-" if data["x_realtime"] is None else f"{data['x_realtime']}x realtime"),
            ("executor", f"{data['executor']}, {data['workers']} workers")]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    lines += [f"failed: #{f['index']} {f['error'].get('type')}: {f['error'].get('message')}" for f in data["failures"]]
    return "\n".join(lines)


def cmd_batch(args: argparse.Namespace) -> int:
    from mixdown.batch.manifest import read_manifest
    from mixdown.batch.runner import confinement_for, run_batch  # the renderer loads only when a batch runs

    jobs = read_manifest(args.manifest, confinement_for(args.allow_root, args.allow_private_http, args.out))
    with progress_for(args, "batch", unit="jobs") as progress:
        def report(summary: Summary) -> None:
            progress(summary.done, summary.total - summary.skipped,
                     f"{summary.failed} failed, {summary.audio_seconds / 3600:.2f} audio-h")

        summary = run_batch(jobs, args.out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                            progress=report, allow_roots=args.allow_root, allow_private_http=args.allow_private_http)
    emit(args, summary.as_dict(), _table(summary))
    if summary.interrupted:
        return 130
    return 1 if summary.failed else 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser("batch", help="render a manifest of jobs on all cores or a Dask cluster")
    batch.add_argument("manifest", metavar="MANIFEST", help="JSONL file (one job per line) or folder of JSON job files")
    batch.add_argument("--out", metavar="DIR", required=True, help="output folder (results.jsonl goes there too)")
    batch.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    batch.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="submit to a Dask distributed scheduler, tcp://HOST:PORT")
    batch.add_argument("--resume", action="store_true", help="skip jobs already rendered with a matching hash")
    batch.add_argument("--allow-root", action="append", metavar="DIR",
                       help="confine the files every job names (project_file, library, song; TwistedWave urls "
                            "and stores) to this folder (repeatable; --out is always allowed)")
    batch.add_argument("--allow-private-http", action="store_true",
                       help="with --allow-root: let TwistedWave urls reach loopback and private-network http hosts")
    batch.set_defaults(run=cmd_batch)
