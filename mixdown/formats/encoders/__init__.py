"""One encoder per route of the format table; :func:`open_encoder` picks it from the table's ``route``.

Each encoder's module (PyAV, pyflac, the dither kernels) is imported when a file of its route is written.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixdown.formats.encoders.base import Encoder
from mixdown.formats.table import FORMATS

#: Each route's encoder: module of this package, class.
ROUTES: Mapping[str, tuple[str, str]] = {
    "sndfile": ("sndfile", "SndfileEncoder"), "flac": ("flac", "FlacEncoder"), "vorbis": ("vorbis", "VorbisEncoder"),
    "av": ("ffmpeg", "FfmpegEncoder"),
}


def encoder_class(route: str) -> type[Encoder]:
    """The encoder class of ``route``, its module imported on first use."""
    module, name = ROUTES[route]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def open_encoder(path: Path, format_name: str, options: Mapping[str, Any], sample_rate: int, channels: int, *,
                 dither: bool, expected_frames: int | None = None) -> Encoder:
    """The encoder for ``format_name`` writing ``path``; options must already be resolved and checked."""
    fmt = FORMATS[format_name]
    return encoder_class(fmt.route)(path, fmt, options, sample_rate, channels, dither=dither,
                             expected_frames=expected_frames)


__all__ = ["ROUTES", "Encoder", "encoder_class", "open_encoder"]
