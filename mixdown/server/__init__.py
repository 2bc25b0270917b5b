"""``mixdown serve``: the platforms' own HTTP APIs on this machine.

TwoShot under ``/twoshot``, TwistedWave under ``/twistedwave``, Songclip under ``/songclip``: a client written
against a platform changes only its base URL. The routes are a thin layer over the adapters in
:mod:`mixdown.api_compat`; renders run off the request path on the batch executor (:mod:`mixdown.batch`),
and the server's state (projects, the sample library, render jobs, clips, TwistedWave's store) lives under
one ``--home`` folder and survives a restart.
"""

from mixdown.server.app import create_app
from mixdown.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
