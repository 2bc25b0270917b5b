"""What a file is: its format (by TwistedWave's names where one fits), codec, rate, channels and frames.

``frames`` is what :func:`mixdown.formats.read` returns for the file: the header's count where it is exact,
otherwise the count of a decoding pass in blocks (:attr:`mixdown.formats.stream.AudioFile.frames`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mixdown.errors import AudioReadError
from mixdown.formats.decode import FFmpegReader
from mixdown.formats.stream import AudioFile

#: FFmpeg demuxer -> format name; a codec of its own (mp2 in the mp3 demuxer, opus in ogg) overrides it.
DEMUXER_FORMATS = {
    "wav": "wav", "w64": "w64", "aiff": "aiff", "au": "au", "caf": "caf", "flac": "flac", "wv": "wv",
    "ogg": "ogg", "mp3": "mp3", "asf": "wma", "mov,mp4,m4a,3gp,3g2,mj2": "aac", "aac": "aac",
}
CODEC_FORMATS = {"mp2": "mp2", "opus": "opus"}
_AIFC = b"AIFC"


@dataclass(frozen=True)
class FileSummary:
    path: str
    format: str
    codec: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duration": self.duration}


def _format_name(path: Path, demuxer: str, codec: str) -> str:
    name = CODEC_FORMATS.get(codec) or DEMUXER_FORMATS.get(demuxer, demuxer)
    if name == "aiff":
        with path.open("rb") as handle:
            if handle.read(12)[8:12] == _AIFC:
                return "aifc"
    return name


def probe(path: str | os.PathLike[str]) -> FileSummary:
    """Summarise the audio file at ``path``, holding at most one block of its audio in memory.

    Raises
    ------
    AudioReadError
        If the file is missing or neither libsndfile nor FFmpeg can read it.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.formats import probe, write
    >>> write("beep.flac", np.zeros((2, 4_410), dtype=np.float32), 44_100)
    >>> probe("beep.flac").to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'path': 'beep.flac', 'format': 'flac', 'codec': 'flac', 'sample_rate': 44100, 'channels': 2,
     'frames': 4410, 'duration': 0.1}
    """
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"no such file: {str(path)!r}", field="path")
    header = FFmpegReader(path)
    header.close()
    with AudioFile(path) as audio:
        frames = audio.frames
    return FileSummary(str(path), _format_name(path, header.container, header.codec), header.codec,
                       header.sample_rate, header.channels, frames)
