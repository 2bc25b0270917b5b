"""TwistedWave jobs and documents, offline.

The TwistedWave API's job, document and output objects, run on this machine with no browser editor: a job
imports a document (a local file, a ``file://`` or an ``http(s)://`` URL), applies ``edit.commands`` (the
editor's own command names, see :mod:`.models`) and exports it in any TwistedWave output format, to a
local path, an http(s) POST, or the store for download. Replies, ids, states, errors, pagination and
notifications follow the document.

>>> from mixdown.api_compat.twistedwave import TwistedWave       # doctest: +SKIP
>>> tw = TwistedWave("~/twistedwave-store", webhook="http://127.0.0.1:8000/hook")
>>> job = tw.submit({"document": {"url": "take.wav", "title": "take"},
...                  "edit": {"max_duration": 0, "commands": [{"command": "normalize", "level": -1}]},
...                  "output": {"format": "mp3", "bit_rate": 192, "url": "take.mp3"}})
>>> job["state"], job["output"]["file_size"]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixdown.api_compat.twistedwave.errors import TwistedWaveError
    from mixdown.api_compat.twistedwave.models import COMMANDS, EDITOR_ONLY, parse_command, parse_job
    from mixdown.api_compat.twistedwave.notify import Notifier, Webhook
    from mixdown.api_compat.twistedwave.runner import JOB_TRANSITIONS, OUTPUT_TRANSITIONS
    from mixdown.api_compat.twistedwave.service import DEFAULT_LIMIT, MAX_LIMIT, TwistedWave
    from mixdown.api_compat.twistedwave.store import SCHEMA_VERSION, Store, StoreError

# The names load on first use: the command line imports this package's small modules (errors, confinement)
# for every command, and the service pulls in the whole editor (scipy.signal, the DSP kernels).
_HOMES = {
    "TwistedWaveError": "errors",
    "COMMANDS": "models", "EDITOR_ONLY": "models", "parse_command": "models", "parse_job": "models",
    "Notifier": "notify", "Webhook": "notify",
    "JOB_TRANSITIONS": "runner", "OUTPUT_TRANSITIONS": "runner",
    "DEFAULT_LIMIT": "service", "MAX_LIMIT": "service", "TwistedWave": "service",
    "SCHEMA_VERSION": "store", "Store": "store", "StoreError": "store",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COMMANDS",
    "DEFAULT_LIMIT",
    "EDITOR_ONLY",
    "JOB_TRANSITIONS",
    "MAX_LIMIT",
    "OUTPUT_TRANSITIONS",
    "SCHEMA_VERSION",
    "Notifier",
    "Store",
    "StoreError",
    "TwistedWave",
    "TwistedWaveError",
    "Webhook",
    "parse_command",
    "parse_job",
]
