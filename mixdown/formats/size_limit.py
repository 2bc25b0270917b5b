"""Containers whose header counts bytes in 32 bits (WAV, AIFF, AU): what to do past 4 GiB.

A WAV header's RIFF and data sizes are 32-bit, so a WAV over 4 GiB cannot say how long it is (libsndfile
writes 0xFFFFFFFF and readers lose the rest). When the length is known before writing, a WAV that would
pass the limit is written as RF64 (EBU Tech 3306: the same layout with 64-bit sizes in a ``ds64`` chunk,
read by libsndfile, FFmpeg and SoX); smaller WAVs stay plain RIFF, byte for byte as before. When the
length is not known (a stream of blocks) or the container has no 64-bit form (AIFF, AU), writing stops
with :class:`OutputPathError` before the limit is passed.
"""

from __future__ import annotations

from mixdown.errors import OutputPathError

#: Largest payload a 32-bit size field describes, less room for the header chunks.
LIMIT_BYTES = 0xFFFF_FFFF - (1 << 16)
#: Containers with 32-bit sizes, and the 64-bit container that replaces each where one exists.
WIDER = {"WAV": "RF64", "WAVEX": "RF64", "AIFF": None, "AU": None}
_BYTES = {"PCM_U8": 1, "PCM_S8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
          "FLOAT": 4, "DOUBLE": 8}


def payload_bytes(frames: int, channels: int, subtype: str) -> int:
    """Bytes of sample data ``frames`` take in ``subtype`` (ADPCM counted as one byte: an upper bound)."""
    return frames * channels * _BYTES.get(subtype, 1)


def container_for(container: str, frames: int | None, channels: int, subtype: str) -> str:
    """``container``, or its 64-bit form when ``frames`` of audio would not fit in 32-bit sizes."""
    if frames is None or WIDER.get(container) is None:
        return container
    return WIDER[container] if payload_bytes(frames, channels, subtype) > LIMIT_BYTES else container


class SizeGuard:
    """Counts the bytes written into a 32-bit container and refuses the block that would pass the limit."""

    def __init__(self, container: str, channels: int, subtype: str, name: str) -> None:
        self.active = container in WIDER
        self.channels = channels
        self.subtype = subtype
        self.name = name
        self.written = 0

    def add(self, frames: int) -> None:
        if not self.active:
            return
        self.written += payload_bytes(frames, self.channels, self.subtype)
        if self.written > LIMIT_BYTES:
            raise OutputPathError(
                f"{self.name} cannot hold more than 4 GiB of audio (its header sizes are 32-bit); "
                f"write w64, caf or flac instead", field="output")
