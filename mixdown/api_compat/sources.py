"""Decoded audio shared across renders: content-addressed by the file's hash and the render rate.

A batch worker keeps one :class:`SourceCache` for its whole life, so a sample used by a thousand projects is
decoded (and resampled) once per rate; two copies of the same file under different names count once. The
cache holds at most ``max_bytes`` of decoded audio, dropping the least recently used first.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_mode
from collections import OrderedDict
from pathlib import Path

from mixdown.engine import Source, resample
from mixdown.errors import AudioReadError
from mixdown.formats import read

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def regular_file(path: Path) -> os.stat_result:
    """``path``'s status, if it is a regular file (after links); else :class:`AudioReadError` saying what it is."""
    try:
        status = path.stat()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise AudioReadError(f"cannot open {str(path)[:200]!r}: {reason}", field="path") from None
    if not stat_mode.S_ISREG(status.st_mode):
        kind = "a folder" if stat_mode.S_ISDIR(status.st_mode) else "a FIFO, socket or device"
        raise AudioReadError(f"{str(path)[:200]!r} is {kind}, not an audio file", field="path")
    return status


class SourceCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, int], Source] = OrderedDict()
        self._size = 0
        self._digests: dict[tuple[str, int, int], str] = {}
        self.decoded = 0

    def _digest(self, path: Path) -> str:
        """The file's hash, computed once per version of the file (path, modification time, size).

        Only a regular file is read: a FIFO would block the hash forever, a device never end."""
        stat = regular_file(path)
        version = (str(path), stat.st_mtime_ns, stat.st_size)
        digest = self._digests.get(version)
        if digest is None:
            digest = self._digests[version] = file_digest(path)
        return digest

    def get(self, path: Path, sample_rate: int, name: str) -> Source:
        """``path`` decoded at ``sample_rate`` (raises :class:`~mixdown.errors.AudioReadError` as ``read``)."""
        key = (self._digest(path), sample_rate)
        source = self._entries.get(key)
        if source is not None:
            self._entries.move_to_end(key)
            return source
        audio, rate = read(path)
        if audio.shape[1] and rate != sample_rate:
            audio = resample(audio, rate, sample_rate)
        source = Source(audio, sample_rate, name)
        self.decoded += 1
        self._entries[key] = source
        self._size += source.audio.nbytes
        while self._size > self.max_bytes and len(self._entries) > 1:
            _, dropped = self._entries.popitem(last=False)
            self._size -= dropped.audio.nbytes
        return source
