"""mixdown: local, offline audio rendering of platform project and job JSON.

The names a soundfile, librosa or pedalboard user looks for first:

- :func:`open` (a streaming reader: ``frames``, ``sample_rate``, ``read(n)``, ``blocks(n)``, ``seek``),
  :func:`read` and :func:`write` (every format ``mixdown export`` writes), :func:`info`;
- :mod:`mixdown.twoshot`, :mod:`mixdown.songclip`, :mod:`mixdown.twistedwave`: each platform's JSON
  rendered to a numpy array (``render``) or a file (``render_to``);
- :mod:`mixdown.engine`: timelines, clips, ``render``, ``stretch``, ``measure_loudness``;
- :mod:`mixdown.formats`: every output format and option; :mod:`mixdown.files`: loudness and normalization
  of files in bounded memory.

Audio is float32 ``(channels, frames)`` everywhere. The submodules load on first use, so ``import mixdown``
is cheap.

Examples
--------
>>> import numpy as np, mixdown
>>> tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000)).astype(np.float32)
>>> _ = mixdown.write("a4.flac", np.stack([tone, tone]), 48_000)
>>> mixdown.info("a4.flac").channels, mixdown.read("a4.flac")[0].shape
(2, (2, 48000))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mixdown.errors import (
    AudioReadError,
    InvalidInputError,
    MixdownError,
    OutputError,
)

if TYPE_CHECKING:
    from mixdown import engine, files, formats, songclip, twistedwave, twoshot
    from mixdown.files import write_audio as write
    from mixdown.formats.audio_io import read
    from mixdown.formats.probe import probe as info
    from mixdown.formats.stream import AudioFile
    from mixdown.formats.stream import open_audio as open

__version__ = "0.1.0"

_LAZY = {
    "open": ("mixdown.formats.stream", "open_audio"),
    "AudioFile": ("mixdown.formats.stream", "AudioFile"),
    "read": ("mixdown.formats.audio_io", "read"),
    "write": ("mixdown.files", "write_audio"),
    "info": ("mixdown.formats.probe", "probe"),
}
_SUBMODULES = ("engine", "files", "formats", "songclip", "twistedwave", "twoshot")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"mixdown.{name}")
    else:
        raise AttributeError(f"module 'mixdown' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "AudioFile",
    "AudioReadError",
    "InvalidInputError",
    "MixdownError",
    "OutputError",
    "__version__",
    "engine",
    "files",
    "formats",
    "info",
    "open",
    "read",
    "songclip",
    "twistedwave",
    "twoshot",
    "write",
]
