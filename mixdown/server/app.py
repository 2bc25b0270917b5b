"""The app factory: routers under their platforms' prefixes, error shapes, limits, and the work queue."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from mixdown import __version__
from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.api_compat.twistedwave.service import TwistedWave
from mixdown.server import errors, openapi
from mixdown.server.config import MAX_JSON_BODY, ServerConfig
from mixdown.server.library import analyse, import_folder
from mixdown.server.limits import BodyLimit
from mixdown.server.projects import measure_unknown
from mixdown.server.queue import WorkQueue
from mixdown.server.renders import Renders
from mixdown.server.routers import songclip, twistedwave, twoshot
from mixdown.server.state import State

log = logging.getLogger("mixdown.server")

UPLOAD_PATHS = ("/twoshot/sample/audio",)


def _start(app: FastAPI, config: ServerConfig) -> None:
    """Open the state, start the workers, register the library, and resume what a stop interrupted."""
    state = State(config.home)
    app.state.state = state
    app.state.queue = WorkQueue(config.workers, config.scheduler, config.max_pending)
    app.state.renders = Renders(state, app.state.queue, config.max_duration)
    import_folder(state)
    for row in state.all("SELECT audio_id FROM samples WHERE processing = 1"):
        analyse(app.state, row["audio_id"])
    measure_unknown(app.state)
    resumed = app.state.renders.resume()
    if resumed:
        log.info("resumed %d render jobs a stop interrupted", len(resumed))
    confinement = Confinement.of([config.home, *config.allow_roots], allow_private_http=config.allow_private_http)
    app.state.twistedwave_options = {"webhook": config.webhook, "confinement": confinement}
    app.state.twistedwave = TwistedWave(config.home / "twistedwave", **app.state.twistedwave_options)
    resumed = twistedwave.resume(app.state)
    if resumed:
        log.info("resumed %d TwistedWave jobs a stop interrupted", len(resumed))


def _stop(app: FastAPI) -> None:
    queue = getattr(app.state, "queue", None)
    if queue is not None:
        queue.close()


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The ASGI app for ``config`` (the default config: ``$MIXDOWN_HOME``, open, one worker per core)."""
    config = config or ServerConfig()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _start(app, config)
        try:
            yield
        finally:
            _stop(app)

    # The docs pages load Swagger UI and ReDoc from files shipped with fastapi-offline, not from a CDN:
    # mixdown runs offline.
    app = FastAPIOffline(title="mixdown", version=__version__, lifespan=lifespan, static_url="/docs-static",
                         description="The TwoShot, TwistedWave and Songclip APIs, rendered locally by mixdown.")
    app.state.config = config
    errors.install(app)
    openapi.install(app)
    app.include_router(twoshot.router)
    app.include_router(twistedwave.router)
    app.include_router(songclip.router)

    def limit_for(path: str) -> int:
        return config.max_upload if path in UPLOAD_PATHS else MAX_JSON_BODY

    app.add_middleware(BodyLimit, limit_for=limit_for)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "pending": app.state.queue.pending,
                "workers": app.state.queue.workers}

    return app
