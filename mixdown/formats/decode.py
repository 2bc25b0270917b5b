"""Decoding through PyAV (FFmpeg) for what libsndfile does not read: m4a/aac, wma, WavPack, 20-bit FLAC, mp2.

FFmpeg skips what the container says to skip at the start (the AAC priming in an m4a's edit list, Opus
pre-skip, the LAME tag's delay). AAC decoders still return whole 1024-sample frames at the end, so an
MPEG-4 stream is cut to the duration its container states; that is how an m4a written by mixdown reads
back exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from mixdown.errors import AudioReadError

#: Sample format -> (numpy dtype, scale to [-1, 1), offset of the zero level).
SAMPLE_FORMATS = {
    "u8": (np.uint8, 2.0**-7, 128), "s16": (np.int16, 2.0**-15, 0), "s32": (np.int32, 2.0**-31, 0),
    "flt": (np.float32, 1.0, 0), "dbl": (np.float64, 1.0, 0),
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


def _to_float(frame: av.AudioFrame) -> np.ndarray:
    name = frame.format.name
    dtype, scale, offset = SAMPLE_FORMATS[name.rstrip("p")]
    data = frame.to_ndarray()
    if not frame.format.is_planar:
        data = data.reshape(-1, len(frame.layout.channels)).T
    if data.dtype != dtype:
        raise AudioReadError(f"unexpected sample layout {name}", field="path")
    samples = data.astype(np.float32) if offset == 0 else data.astype(np.float32) - offset
    return samples * np.float32(scale) if scale != 1.0 else samples


def _stated_frames(stream: av.audio.stream.AudioStream, rate: int) -> int | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return round(Fraction(stream.duration) * stream.time_base * rate)


def _truncated(path: str | os.PathLike[str], stated: int, decoded: int) -> AudioReadError:
    return AudioReadError(
        f"{str(path)!r} is truncated: its container states {stated} frames, {decoded} decode", field="path"
    )


def decode_file(path: str | os.PathLike[str]) -> Decoded:
    """Decode the first audio stream of ``path`` to float32 ``(channels, frames)``.

    Raises
    ------
    AudioReadError
        If FFmpeg cannot read the file, it has no audio stream, or it decodes to less than its container
        states (a truncated file, whether the decoder stops early or fails on the cut packet).
    """
    blocks: list[np.ndarray] = []
    stated = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioReadError(f"{str(path)!r} has no audio stream", field="path")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            demuxer = container.format.name
            codec = stream.codec_context.codec.canonical_name
            if demuxer in EXACT_DURATION:
                stated = _stated_frames(stream, rate)
            for frame in container.decode(stream):
                blocks.append(_to_float(frame))
    except av.FFmpegError as error:
        decoded = sum(block.shape[1] for block in blocks)
        if stated is not None and decoded < stated:
            raise _truncated(path, stated, decoded) from None
        raise AudioReadError(f"cannot decode {str(path)!r}: {error}", field="path") from None
    if not blocks:
        raise AudioReadError(f"cannot decode {str(path)!r}: no audio frames", field="path")
    audio = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    if stated is not None:
        if audio.shape[1] < stated:
            raise _truncated(path, stated, audio.shape[1])
        if demuxer in TRIMMED_BY_DURATION:
            audio = np.ascontiguousarray(audio[:, :stated])
    return Decoded(audio, rate, demuxer, codec)
