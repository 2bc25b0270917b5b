"""The Xing/LAME info frame of an MP3: read it, and write the gapless fields (encoder delay, end padding).

An MP3 decoder cannot tell the encoder's priming and the end padding from the music unless the first frame
is an info frame ("Xing" for VBR, "Info" for CBR) with a LAME extension: 12 bits of encoder delay and 12
bits of padding. ffmpeg skips ``delay + 529`` samples at the start and stops ``padding - 529`` before the
end of the last frame; mpg123 does the same. FFmpeg's mp3 muxer writes that frame, but derives the
padding from the last packet alone, so it never exceeds one frame plus the decoder's 529, while LAME's
flush can need more (measured: 13 to 46 extra samples decoded, for many lengths at every rate).
:func:`set_gapless` rewrites delay and padding from the frame count the tag holds, and the tag's CRC-16,
so decoders return exactly the encoded samples.

Layout (LAME's "Info Tag" revision 1): the tag starts after the 4-byte frame header and the side
information (17 or 32 bytes in MPEG-1, 9 or 17 in MPEG-2/2.5, mono or not); then ``Xing``/``Info``,
4 flag bytes, optional frames, bytes, 100-byte TOC and quality fields; then 36 bytes of LAME extension
whose bytes 21-23 hold delay and padding and 34-35 the CRC-16 (ARC) of every frame byte before them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from mixdown.errors import OutputError

_TAGS = (b"Xing", b"Info")
_FLAG_FRAMES, _FLAG_BYTES, _FLAG_TOC, _FLAG_QUALITY = 1, 2, 4, 8
_GAPLESS_OFFSET = 21
_CRC_OFFSET = 34
_MAX_12_BITS = 4095


@dataclass(frozen=True)
class InfoFrame:
    """Where the info frame's fields are in the file, and what they say."""

    frame_start: int
    lame_start: int
    samples_per_frame: int
    frames: int
    delay: int
    padding: int

    @property
    def encoded_samples(self) -> int:
        """Samples a gapless decoder returns: every frame's samples less delay and padding."""
        return self.frames * self.samples_per_frame - self.delay - self.padding


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005 reflected, initial 0), the checksum of the LAME tag."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _first_frame(data: bytes) -> int:
    if data[:3] != b"ID3":
        return 0
    size = data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def _side_info_size(mpeg1: bool, mono: bool) -> int:
    if mpeg1:
        return 17 if mono else 32
    return 9 if mono else 17


def read_info_frame(data: bytes) -> InfoFrame | None:
    """The info frame at the start of an MP3's bytes, or None when the first frame is plain audio."""
    start = _first_frame(data)
    if len(data) < start + 4:
        return None
    header = struct.unpack_from(">I", data, start)[0]
    if header >> 21 != 0x7FF or (header >> 17) & 3 != 1:
        return None
    mpeg1 = (header >> 19) & 3 == 3
    mono = (header >> 6) & 3 == 3
    protected = not (header >> 16) & 1
    tag = start + 4 + (2 if protected else 0) + _side_info_size(mpeg1, mono)
    if data[tag:tag + 4] not in _TAGS:
        return None
    flags = struct.unpack_from(">I", data, tag + 4)[0]
    if not flags & _FLAG_FRAMES:
        return None
    frames = struct.unpack_from(">I", data, tag + 8)[0]
    lame = tag + 8 + 4 * bool(flags & _FLAG_FRAMES) + 4 * bool(flags & _FLAG_BYTES)
    lame += 100 * bool(flags & _FLAG_TOC) + 4 * bool(flags & _FLAG_QUALITY)
    if len(data) < lame + _CRC_OFFSET + 2:
        return None
    gapless = int.from_bytes(data[lame + _GAPLESS_OFFSET:lame + _GAPLESS_OFFSET + 3], "big")
    return InfoFrame(start, lame, 1152 if mpeg1 else 576, frames, gapless >> 12, gapless & _MAX_12_BITS)


def set_gapless(path: Path, samples: int) -> InfoFrame:
    """Rewrite the info frame of the MP3 at ``path`` so that decoders return exactly ``samples`` samples.

    The encoder delay already in the tag (LAME's, 576) is kept; the padding becomes whatever the frames
    hold beyond delay and ``samples``. Raises :class:`OutputError` when there is no info frame or the
    counts cannot be expressed (more than 4095 samples of padding).
    """
    with path.open("r+b") as handle:
        head = bytearray(handle.read(4096))
        info = read_info_frame(bytes(head))
        if info is None:
            raise OutputError("the MP3 has no Xing/LAME info frame to hold its gapless counts", field="output")
        padding = info.frames * info.samples_per_frame - info.delay - samples
        if not 0 <= padding <= _MAX_12_BITS:
            raise OutputError(
                f"{info.frames} frames of {info.samples_per_frame} cannot hold {samples} samples after "
                f"{info.delay} of delay",
                field="output",
            )
        gapless = info.lame_start + _GAPLESS_OFFSET
        head[gapless:gapless + 3] = (info.delay << 12 | padding).to_bytes(3, "big")
        crc_at = info.lame_start + _CRC_OFFSET
        head[crc_at:crc_at + 2] = crc16_arc(bytes(head[info.frame_start:crc_at])).to_bytes(2, "big")
        handle.seek(info.frame_start)
        handle.write(head[info.frame_start:crc_at + 2])
    return InfoFrame(info.frame_start, info.lame_start, info.samples_per_frame, info.frames, info.delay, padding)
