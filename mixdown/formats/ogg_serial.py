"""Give an Ogg file a stream serial number that depends only on its content.

libsndfile starts each Ogg stream with a random serial (seeded from the clock), so two encodes of the same
audio differ in four bytes of every page and in every page's CRC. :func:`set_serial` rewrites the serial
of every page with one derived from the file's own pages (with serials and CRCs zeroed) and recomputes
each page's CRC, in place: the same audio and options then give the same bytes on every run.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numba
import numpy as np

from mixdown.errors import OutputError

_SERIAL_AT = 14
_CRC_AT = 22


def _crc_table() -> np.ndarray:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial 0, no final xor."""
    table = np.zeros(256, dtype=np.uint32)
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x8000_0000 else value << 1
        table[index] = value & 0xFFFF_FFFF
    return table


_TABLE = _crc_table()


@numba.njit(cache=True)
def _pages(data: np.ndarray, starts: np.ndarray) -> int:
    """Fill ``starts`` with the offset of each page; returns the count, or -1 if the data is not Ogg pages."""
    count = 0
    at = 0
    while at < data.size:
        if at + 27 > data.size or data[at] != 79 or data[at + 1] != 103 or data[at + 2] != 103 or data[at + 3] != 83:
            return -1
        segments = data[at + 26]
        if at + 27 + segments > data.size:
            return -1
        body = 0
        for index in range(segments):
            body += data[at + 27 + index]
        if count == starts.size:
            return -1
        starts[count] = at
        count += 1
        at += 27 + segments + body
    return count


@numba.njit(cache=True)
def _restamp(data: np.ndarray, starts: np.ndarray, count: int, serial: np.ndarray, table: np.ndarray) -> None:
    for page in range(count):
        at = starts[page]
        stop = starts[page + 1] if page + 1 < count else data.size
        for index in range(4):
            data[at + 14 + index] = serial[index]
            data[at + 22 + index] = 0
        crc = np.uint32(0)
        for index in range(at, stop):
            crc = ((crc << np.uint32(8)) & np.uint32(0xFFFFFFFF)) ^ table[((crc >> np.uint32(24)) ^ data[index]) & 255]
        for index in range(4):
            data[at + 22 + index] = (crc >> np.uint32(8 * index)) & np.uint32(255)


def set_serial(path: Path) -> int:
    """Rewrite ``path``'s stream serial as a digest of its content; returns the serial."""
    data = np.fromfile(path, dtype=np.uint8)
    starts = np.zeros(data.size // 27 + 1, dtype=np.int64)
    count = _pages(data, starts)
    if count <= 0:
        raise OutputError("the Ogg encoder wrote no valid pages", field="output")
    starts = starts[:count]
    blank = data.copy()
    for at in starts:
        blank[at + _SERIAL_AT:at + _SERIAL_AT + 4] = 0
        blank[at + _CRC_AT:at + _CRC_AT + 4] = 0
    serial = zlib.crc32(blank.tobytes())
    _restamp(data, starts, count, np.frombuffer(serial.to_bytes(4, "little"), dtype=np.uint8), _TABLE)
    data.tofile(path)
    return serial
