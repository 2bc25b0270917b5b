"""Decoding through PyAV (FFmpeg) for what libsndfile does not read: m4a/aac, wma, WavPack, 20-bit FLAC, mp2,
64-bit integer PCM.

FFmpeg skips what the container says to skip at the start (the AAC priming in an m4a's edit list, Opus
pre-skip, the LAME tag's delay). AAC decoders still return whole 1024-sample frames at the end, so an
MPEG-4 stream is cut to the duration its container states; that is how an m4a written by mixdown reads
back exactly.

:class:`FFmpegReader` decodes packet by packet, so a caller that reads in blocks holds one block (plus
one decoded frame) at a time, whatever the file's length.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from mixdown.errors import AudioReadError

if TYPE_CHECKING:  # PyAV loads when a file needs FFmpeg, not for every WAV or FLAC libsndfile reads
    import av

#: Sample format -> (numpy dtype, scale to [-1, 1), offset of the zero level).
SAMPLE_FORMATS = {
    "u8": (np.uint8, 2.0**-7, 128), "s16": (np.int16, 2.0**-15, 0), "s32": (np.int32, 2.0**-31, 0),
    "s64": (np.int64, 2.0**-63, 0), "flt": (np.float32, 1.0, 0), "dbl": (np.float64, 1.0, 0),
}
#: Demuxers whose stated stream duration is the exact sample count: a shorter decode is a truncated file.
EXACT_DURATION = ("mov,mp4,m4a,3gp,3g2,mj2", "wv", "flac")
#: Of those, the ones whose decoder returns whole frames past the stated end (AAC's 1024 samples).
TRIMMED_BY_DURATION = ("mov,mp4,m4a,3gp,3g2,mj2",)


@dataclass(frozen=True)
class Decoded:
    audio: np.ndarray
    sample_rate: int
    container: str
    codec: str


def _to_float(frame: av.AudioFrame, path: str) -> np.ndarray:
    name = frame.format.name
    layout = SAMPLE_FORMATS.get(name.rstrip("p"))
    if layout is None:
        raise AudioReadError(f"{path!r} decodes to samples of format {name}, which mixdown does not read",
                             field="path")
    dtype, scale, offset = layout
    data = _plane_samples(frame, dtype) if dtype == np.int64 else frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, len(frame.layout.channels)).T
    if data.dtype != dtype:
        raise AudioReadError(f"{path!r}: unexpected sample layout {name}", field="path")
    if dtype == np.int64:
        return (data * scale).astype(np.float32)
    samples = data.astype(np.float32) if offset == 0 else data.astype(np.float32) - offset
    return samples * np.float32(scale) if scale != 1.0 else samples


def _plane_samples(frame: av.AudioFrame, dtype: type) -> np.ndarray:
    """The frame's samples read straight from its planes (PyAV has no ndarray conversion for ``s64``)."""
    count = frame.samples * (1 if frame.format.is_planar else len(frame.layout.channels))
    return np.stack([np.frombuffer(plane, dtype=dtype, count=count) for plane in frame.planes])


def _stated_frames(stream: av.audio.stream.AudioStream, rate: int) -> int | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return round(Fraction(stream.duration) * stream.time_base * rate)


def _truncated(path: str, stated: int, decoded: int) -> AudioReadError:
    return AudioReadError(
        f"{path!r} is truncated: its container states {stated} frames, {decoded} decode", field="path"
    )


def describe(error: BaseException) -> str:
    """A decoder failure in words: FFmpeg's message without its errno number and the path repeated
    (``[Errno 1094995529] Invalid data found when processing input: 'x.wav'`` -> ``invalid data found
    when processing input``)."""
    text = getattr(error, "strerror", None) or str(error)
    return text[:1].lower() + text[1:] if text else type(error).__name__


class FFmpegReader:
    """The first audio stream of a file, decoded forward in blocks of float32 ``(channels, n)``.

    Raises :class:`~mixdown.errors.AudioReadError` naming the file when FFmpeg cannot open it, it has no
    audio stream or one FFmpeg has no decoder for (a WAV with 0 bits per sample, an unknown format tag),
    or it decodes to less than its container states.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import av

        self.path = str(path)
        try:
            self._container = av.open(self.path)
        except (av.FFmpegError, OSError, ValueError) as error:  # ValueError: undecodable metadata text
            raise AudioReadError(f"cannot decode {self.path!r}: {describe(error)}", field="path") from None
        try:
            if not self._container.streams.audio:
                raise AudioReadError(f"{self.path!r} has no audio stream", field="path")
            self._stream = self._container.streams.audio[0]
            context = self._stream.codec_context
            if context is None or context.codec is None:
                raise AudioReadError(f"{self.path!r} holds audio in an encoding no decoder reads "
                                     "(an unknown format tag or bit depth)", field="path")
            self.sample_rate = int(context.sample_rate)
            self.channels = int(context.channels)
            self.container = self._container.format.name
            self.codec = context.codec.canonical_name
            if self.sample_rate <= 0 or self.channels <= 0:
                raise AudioReadError(f"{self.path!r} states {self.sample_rate} Hz and {self.channels} channels",
                                     field="path")
            self.stated = _stated_frames(self._stream, self.sample_rate) \
                if self.container in EXACT_DURATION else None
        except BaseException:
            self._container.close()
            raise
        self._frames: Iterator[av.AudioFrame] | None = None
        self._pending = np.empty((self.channels, 0), dtype=np.float32)
        self.position = 0
        self._decoded = 0

    def _next_frame(self) -> np.ndarray | None:
        """The next decoded frame, cut at the stated end where the decoder overshoots; None at the end."""
        import av

        if self._frames is None:
            self._frames = self._container.decode(self._stream)
        try:
            frame = next(self._frames, None)
        except av.FFmpegError as error:
            if self.stated is not None and self._decoded < self.stated:
                raise _truncated(self.path, self.stated, self._decoded) from None
            raise AudioReadError(f"cannot decode {self.path!r}: {describe(error)}", field="path") from None
        if frame is None:
            if self.stated is not None and self._decoded < self.stated:
                raise _truncated(self.path, self.stated, self._decoded)
            return None
        samples = _to_float(frame, self.path)
        if self.stated is not None and self.container in TRIMMED_BY_DURATION:
            samples = samples[:, : max(0, self.stated - self._decoded)]
        self._decoded += samples.shape[1]
        return samples

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames (all that are left when negative); fewer only at the end."""
        parts = [self._pending]
        have = self._pending.shape[1]
        while frames < 0 or have < frames:
            samples = self._next_frame()
            if samples is None:
                break
            parts.append(samples)
            have += samples.shape[1]
        joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        cut = joined.shape[1] if frames < 0 else min(frames, joined.shape[1])
        block, self._pending = joined[:, :cut], joined[:, cut:]
        self.position += cut
        return np.ascontiguousarray(block)

    def close(self) -> None:
        self._container.close()


def decode_file(path: str | os.PathLike[str]) -> Decoded:
    """Decode the first audio stream of ``path`` to float32 ``(channels, frames)``.

    Raises
    ------
    AudioReadError
        If FFmpeg cannot read the file, it has no audio stream, or it decodes to less than its container
        states (a truncated file, whether the decoder stops early or fails on the cut packet).
    """
    reader = FFmpegReader(path)
    try:
        audio = reader.read(-1)
    finally:
        reader.close()
    if not audio.shape[1]:
        raise AudioReadError(f"cannot decode {str(path)!r}: no audio frames", field="path")
    return Decoded(audio, reader.sample_rate, reader.container, reader.codec)
