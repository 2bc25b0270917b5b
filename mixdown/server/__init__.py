"""``mixdown serve``: the platforms' own HTTP APIs on this machine.

TwoShot under ``/twoshot``, TwistedWave under ``/twistedwave``, Songclip under ``/songclip``: a client written
against a platform changes only its base URL. The routes are a thin layer over the adapters in
:mod:`mixdown.api_compat`; renders run off the request path on the batch executor (:mod:`mixdown.batch`),
and the server's state (projects, the sample library, render jobs, clips, TwistedWave's store) lives under
one ``--home`` folder and survives a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixdown.server.app import create_app
    from mixdown.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]


def __getattr__(name: str) -> Any:
    """Load the app on first use: every ``mixdown`` command registers ``serve`` through
    :mod:`mixdown.server.commands`, and must not pay for importing FastAPI (about 60 MB and half a second)."""
    if name == "create_app":
        from mixdown.server.app import create_app

        return create_app
    if name == "ServerConfig":
        from mixdown.server.config import ServerConfig

        return ServerConfig
    raise AttributeError(f"module 'mixdown.server' has no attribute {name!r}")
