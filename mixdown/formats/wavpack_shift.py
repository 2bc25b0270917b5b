"""Mark WavPack blocks as holding fewer significant bits than their byte width (20 bits in 3 bytes).

WavPack stores samples in 1-4 bytes and records, in bits 13-17 of every block header's flags, how far
the decoded values are shifted left ("SHIFT"): a 20-bit stream is 3-byte samples holding 20-bit values
with SHIFT 4, which is how libwavpack itself writes 20-bit audio. FFmpeg's encoder has no such setting,
so mixdown feeds it the 20-bit values in a 24-bit stream and sets SHIFT afterwards. The block checksum
covers the values before the shift, so it stays valid (``wvunpack -v`` verifies it).

Block header (32 bytes, little-endian): ``wvpk``, block size, version, two index bytes, total samples,
block index, block samples, flags, CRC.
"""

from __future__ import annotations

import struct
from pathlib import Path

from mixdown.errors import OutputError

_MAGIC = b"wvpk"
_FLAGS_AT = 24
_SHIFT_LSB = 13
_SHIFT_MASK = 0x1F << _SHIFT_LSB


def set_shift(path: Path, shift: int) -> int:
    """Set SHIFT to ``shift`` in every block of the WavPack file at ``path``; returns the blocks changed.

    Stops at the first chunk that is not a block (the APEv2 tag FFmpeg appends).
    """
    position = blocks = 0
    with path.open("r+b") as handle:
        while True:
            handle.seek(position)
            header = handle.read(_FLAGS_AT + 4)
            if len(header) < _FLAGS_AT + 4 or header[:4] != _MAGIC:
                break
            size, = struct.unpack_from("<I", header, 4)
            flags, = struct.unpack_from("<I", header, _FLAGS_AT)
            handle.seek(position + _FLAGS_AT)
            handle.write(struct.pack("<I", (flags & ~_SHIFT_MASK) | shift << _SHIFT_LSB))
            position += 8 + size
            blocks += 1
    if not blocks:
        raise OutputError("the WavPack stream has no blocks", field="output")
    return blocks
