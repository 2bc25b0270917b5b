"""``mixdown serve``: the platforms' HTTP APIs on this machine (see :mod:`mixdown.server`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mixdown.errors import InvalidInputError
from mixdown.frames import DEFAULT_MAX_DURATION_S


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    from mixdown.server.config import ServerConfig, default_home, read_keys

    config = ServerConfig(
        home=Path(args.home) if args.home else default_home(),
        keys=read_keys(args.keys) if args.keys else frozenset(),
        workers=args.workers or ServerConfig().workers,
        scheduler=args.scheduler,
        webhook=args.webhook,
        allow_roots=tuple(Path(root).expanduser().absolute() for root in args.allow_root),
        allow_private_http=args.allow_private_http,
        max_upload=args.max_upload * 1024 * 1024,
        max_pending=args.queue,
        max_duration=args.max_duration,
    )
    config.check_bind(args.host)
    if not 0 <= args.port <= 65535:
        raise InvalidInputError(f"must be from 0 to 65535, got {args.port}", field="--port")
    import uvicorn

    from mixdown.server.app import create_app

    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=5)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve the TwoShot, TwistedWave and Songclip APIs on this machine")
    serve.add_argument("--host", metavar="HOST", default="127.0.0.1",
                       help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, metavar="PORT", help="port (default: %(default)s)")
    serve.add_argument("--home", metavar="DIR",
                       help="state folder: projects, library, renders, jobs (default: $MIXDOWN_HOME)")
    serve.add_argument("--keys", metavar="FILE",
                       help="file of API keys, one a line (default: none, open, loopback only)")
    serve.add_argument("--workers", type=_positive, metavar="N", help="render processes (default: one per core)")
    serve.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="render on a Dask distributed cluster, tcp://HOST:PORT")
    serve.add_argument("--webhook", metavar="URL", help="URL TwistedWave notifications are POSTed to")
    serve.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                       help="a folder TwistedWave job urls may read from and write to (besides --home); repeatable")
    serve.add_argument("--allow-private-http", action="store_true",
                       help="let TwistedWave job urls reach loopback and private-network http hosts")
    serve.add_argument("--max-upload", type=_positive, default=512, metavar="MB",
                       help="largest upload, MiB (default: %(default)s)")
    serve.add_argument("--queue", type=_positive, default=1024, metavar="N",
                       help="most renders waiting or running at once; more are answered 429 (default: %(default)s)")
    serve.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION_S, metavar="SEC",
                       help="refuse renders longer than this (default: %(default)g s; 0: no limit)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                       help="server log detail (default: %(default)s)")
    serve.set_defaults(run=cmd_serve)
