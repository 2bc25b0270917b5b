"""What a file is: its format (by TwistedWave's names where one fits), codec, rate, channels and frames.

``frames`` is what :func:`mixdown.formats.read` returns for the file: libsndfile's count where it reads
the file (exact, the LAME tag applied for MP3), otherwise the count of a full FFmpeg decode.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import soundfile

from mixdown.errors import AudioReadError
from mixdown.formats.audio_io import ESTIMATED_LENGTH, NOT_FOR_LIBSNDFILE
from mixdown.formats.decode import decode_file

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


def _libsndfile_frames(path: Path) -> int | None:
    try:
        with soundfile.SoundFile(path) as handle:
            if handle.format in ESTIMATED_LENGTH:
                return handle.read(dtype="float32", always_2d=True).shape[0]
            return handle.frames
    except soundfile.LibsndfileError as error:
        if error.code in NOT_FOR_LIBSNDFILE:
            return None
        raise AudioReadError(f"cannot decode {str(path)!r}: {error}", field="path") from None


def probe(path: str | os.PathLike[str]) -> FileSummary:
    """Summarise the audio file at ``path``.

    Raises
    ------
    AudioReadError
        If the file is missing or neither libsndfile nor FFmpeg can read it.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"no such file: {str(path)!r}", field="path")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioReadError(f"{str(path)!r} has no audio stream", field="path")
            context = container.streams.audio[0].codec_context
            demuxer, codec = container.format.name, context.codec.canonical_name
            rate, channels = context.sample_rate, context.channels
    except av.FFmpegError as error:
        raise AudioReadError(f"cannot decode {str(path)!r}: {error}", field="path") from None
    frames = _libsndfile_frames(path)
    if frames is None:
        frames = decode_file(path).audio.shape[1]
    return FileSummary(str(path), _format_name(path, demuxer, codec), codec, rate, channels, frames)
