"""One encoder per route of the format table; :func:`open_encoder` picks it from the table's ``route``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixdown.formats.encoders.base import Encoder
from mixdown.formats.encoders.ffmpeg import FfmpegEncoder
from mixdown.formats.encoders.flac import FlacEncoder
from mixdown.formats.encoders.sndfile import SndfileEncoder
from mixdown.formats.encoders.vorbis import VorbisEncoder
from mixdown.formats.table import FORMATS

ROUTES: Mapping[str, type[Encoder]] = {
    "sndfile": SndfileEncoder, "flac": FlacEncoder, "vorbis": VorbisEncoder, "av": FfmpegEncoder,
}


def open_encoder(path: Path, format_name: str, options: Mapping[str, Any], sample_rate: int, channels: int, *,
                 dither: bool, expected_frames: int | None = None) -> Encoder:
    """The encoder for ``format_name`` writing ``path``; options must already be resolved and checked."""
    fmt = FORMATS[format_name]
    return ROUTES[fmt.route](path, fmt, options, sample_rate, channels, dither=dither,
                             expected_frames=expected_frames)


__all__ = ["ROUTES", "Encoder", "open_encoder"]
