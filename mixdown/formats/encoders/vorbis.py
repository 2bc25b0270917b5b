"""Ogg Vorbis through libsndfile, which exposes only libvorbis's quality mode.

``vbr_quality`` 0-10 is libvorbis quality 0.0-1.0 directly. A constant ``bit_rate`` has no managed-bitrate
control in libsndfile, so the encoder picks the quality whose nominal bitrate (what libvorbis writes in
the stream header and ffprobe reports) is closest to the target at the output's rate and channel count,
found by bisection on header-only encodes. Targets outside what quality 0-10 reaches at that rate clamp
to its ends (at 44.1 kHz stereo: 64 to 500 kbps). libvorbis states no nominal bitrate above 48 kHz;
there the 48 kHz mapping is used.

Audio goes to libsndfile in blocks of :data:`WRITE_FRAMES`: handed a minute or more in one write, its
Vorbis path overflows the stack inside libvorbis and kills the process. The stream serial, random in
libsndfile, is replaced by a digest of the content (:mod:`mixdown.formats.ogg_serial`) so that the same
audio encodes to the same bytes.
"""

from __future__ import annotations

import functools
import io
import struct

import numpy as np
import soundfile

from mixdown.errors import OutputError
from mixdown.formats.encoders.base import Encoder
from mixdown.formats.ogg_serial import set_serial

_IDENTIFICATION = b"\x01vorbis"
_HIGHEST_NOMINAL_RATE = 48_000
_BISECTION_STEPS = 14
#: Frames per libsndfile write: far below the size at which libvorbis overflows the stack.
WRITE_FRAMES = 65_536


def _nominal_bitrate(sample_rate: int, channels: int, quality: float) -> int:
    """The nominal bitrate (bits/s) libvorbis states for this quality, from an encode of no audio."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", samplerate=sample_rate, channels=channels, format="OGG",
                             subtype="VORBIS", compression_level=1.0 - quality):
        pass
    data = buffer.getvalue()
    start = data.find(_IDENTIFICATION)
    if start < 0:
        raise OutputError("libvorbis wrote no identification header", field="output")
    return struct.unpack_from("<i", data, start + 20)[0]


@functools.lru_cache(maxsize=256)
def quality_for_bit_rate(bit_rate_kbps: int, sample_rate: int, channels: int) -> float:
    """libvorbis quality (0.0-1.0) whose nominal bitrate is closest to ``bit_rate_kbps`` at this rate."""
    rate = min(sample_rate, _HIGHEST_NOMINAL_RATE)
    target = bit_rate_kbps * 1000
    low, high = 0.0, 1.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if _nominal_bitrate(rate, channels, middle) < target:
            low = middle
        else:
            high = middle
    candidates = (low, high)
    return min(candidates, key=lambda quality: abs(_nominal_bitrate(rate, channels, quality) - target))


class VorbisEncoder(Encoder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.options["vbr"]:
            quality = self.options["vbr_quality"] / 10
        else:
            quality = quality_for_bit_rate(self.options["bit_rate"], self.sample_rate, self.channels)
        self.quality = quality
        try:
            self._handle = soundfile.SoundFile(
                self.path, "w", samplerate=self.sample_rate, channels=self.channels, format="OGG",
                subtype="VORBIS", compression_level=1.0 - quality,
            )
        except (soundfile.LibsndfileError, ValueError) as error:
            raise OutputError(f"libvorbis cannot open the output: {error}", field="output") from None

    def _write(self, block: np.ndarray) -> None:
        for first in range(0, block.shape[1], WRITE_FRAMES):
            self._handle.write(np.ascontiguousarray(block[:, first:first + WRITE_FRAMES].T))

    def finish(self) -> None:
        self._handle.close()
        set_serial(self.path)

    def abort(self) -> None:
        self._handle.close()
