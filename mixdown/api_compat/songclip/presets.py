"""Export presets by platform name: one table of data, no code path per platform.

Each preset names the formats it allows (the first is the default) as TwistedWave output objects, the
clip length limits it holds clips to, an upload size limit checked before and after encoding, and whether
a metadata JSON goes beside the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class Preset:
    formats: Mapping[str, Mapping[str, Any]]
    min_length: float | None = None
    max_length: float | None = None
    max_bytes: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    metadata: bool = False
    description: str = ""

    @property
    def default_format(self) -> str:
        return next(iter(self.formats))


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType({k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in mapping.items()})


PRESETS: Mapping[str, Preset] = MappingProxyType({
    "oursong": Preset(
        _frozen({"mp3": {"format": "mp3", "bit_rate": 320}, "wav": {"format": "wav", "bit_depth": 16}}),
        max_bytes=500 * MB,
        description="OurSong audio upload: mp3 (320 kbps) or 16-bit wav, at most 500 MB",
    ),
    "twine": Preset(
        _frozen({"mp3": {"format": "mp3", "bit_rate": 320}, "wav": {"format": "wav", "bit_depth": 24},
                 "flac": {"format": "flac", "bit_depth": 24}}),
        metadata=True,
        description='Twine project upload: the file plus a JSON with mediaType "audio", size and title',
    ),
    "songclip": Preset(
        _frozen({"mp3": {"format": "mp3", "bit_rate": 192}}),
        min_length=5.0, max_length=30.0,
        description="Songclip catalogue clip: mp3 as the audioUrl files are, 5 to 30 s",
    ),
    "twoshot-preview": Preset(
        _frozen({"mp3": {"format": "mp3", "bit_rate": 64}}),
        max_length=30.0, sample_rate=22_050, channels=1,
        description="TwoShot preview: a short mono 22.05 kHz mp3 at 64 kbps",
    ),
})
