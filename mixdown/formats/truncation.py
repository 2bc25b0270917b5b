"""Detect WAV and AIFF files cut short: libsndfile silently shrinks the frame count to what is there."""

from __future__ import annotations

import struct
from pathlib import Path

_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def missing_bytes(path: Path) -> int:
    """Bytes the audio data chunk declares beyond the end of the file (0 when whole or not WAV/AIFF).

    Streamed files that leave the size unset (0 or 0xFFFFFFFF) count as whole.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12:
            return 0
        if header[:4] == b"RIFF" and header[8:12] == b"WAVE":
            endian, wanted = "<", b"data"
        elif header[:4] == b"FORM" and header[8:12] in (b"AIFF", b"AIFC"):
            endian, wanted = ">", b"SSND"
        else:
            return 0
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk_id, chunk_size = struct.unpack(f"{endian}4sI", handle.read(8))
            if chunk_id == wanted:
                if chunk_size in _UNKNOWN_SIZES:
                    return 0
                return max(0, position + 8 + chunk_size - size)
            position += 8 + chunk_size + (chunk_size & 1)
    return 0
