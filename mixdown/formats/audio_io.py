"""Read and write audio files through soundfile (libsndfile): WAV, AIFF, FLAC and the rest of its family.

Reads return float32 ``(channels, frames)`` and the rate; what libsndfile does not recognise (m4a/aac,
wma, WavPack, 20-bit FLAC, mp2) is decoded by FFmpeg through PyAV (:mod:`mixdown.formats.decode`). Writes
are atomic and never wrap: float samples are clipped to [-1, 1] before an integer encoding.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import soundfile

from mixdown import stop
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.errors import AudioReadError, InvalidInputError, OutputError
from mixdown.formats.atomic import atomic_path
from mixdown.formats.encoders.vorbis import WRITE_FRAMES
from mixdown.formats.ogg_serial import set_serial
from mixdown.formats.size_limit import SizeGuard, container_for
from mixdown.formats.stream import ESTIMATED_LENGTH, NOT_FOR_LIBSNDFILE, AudioFile, reported, split
from mixdown.formats.write_failure import write_failures

__all__ = ["DEFAULT_SUBTYPES", "ESTIMATED_LENGTH", "NOT_FOR_LIBSNDFILE", "file_info", "read",
           "sndfile_container", "write", "write_blocks"]

#: Encoding written when the caller names none: the format's own best integer depth.
DEFAULT_SUBTYPES = {"WAV": "PCM_24", "AIFF": "PCM_24", "FLAC": "PCM_24", "W64": "PCM_24", "CAF": "PCM_24"}


def read(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 ``(channels, frames)`` and its sample rate.

    libsndfile reads the PCM family, FLAC up to 24 bits, Ogg Vorbis and Opus, and MP3 (trimmed by its
    LAME tag); FFmpeg reads m4a/aac (cut to the duration the container states), wma, wv, mp2, 20-bit
    FLAC and 64-bit integer PCM. To hold only a block at a time, use :func:`mixdown.open`.

    Raises
    ------
    AudioReadError
        If the file is missing, not audio, truncated, or holds NaN or infinite samples.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.formats import read, write
    >>> write("ramp.wav", np.linspace(-1, 1, 100, dtype=np.float32), 8_000, subtype="FLOAT")
    >>> audio, rate = read("ramp.wav")
    >>> audio.shape, audio.dtype, rate, float(audio[0, -1])
    ((1, 100), dtype('float32'), 8000, 1.0)
    """
    with AudioFile(path) as handle:
        return handle.read(), handle.sample_rate


def file_info(path: str | os.PathLike[str]) -> soundfile._SoundFileInfo:
    """soundfile's header summary of ``path`` (format, subtype, rate, channels, frames)."""
    try:
        return soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioReadError(f"cannot decode {str(path)!r}: {error}", field="path") from None


def _container_for(path: Path, container: str | None) -> str:
    if container is not None:
        return container.upper()
    extension = path.suffix.lstrip(".").lower()
    formats = {name.lower(): name for name in soundfile.available_formats()}
    aliases = {"aif": "AIFF", "aifc": "AIFF", "oga": "OGG", "ogg": "OGG"}
    name = aliases.get(extension) or formats.get(extension)
    if name is None:
        raise InvalidInputError(f"cannot tell the audio format from the extension of {str(path)!r}", field="output")
    return name


def sndfile_container(path: str | os.PathLike[str]) -> str | None:
    """libsndfile's name of the format ``path``'s extension names, or None when libsndfile does not write it."""
    try:
        return _container_for(Path(path), None)
    except InvalidInputError:
        return None


def _resolve(path: Path, container: str | None, subtype: str | None) -> tuple[str, str]:
    container = _container_for(path, container)
    subtype = (subtype or DEFAULT_SUBTYPES.get(container) or soundfile.default_subtype(container)).upper()
    if not soundfile.check_format(container, subtype):
        allowed = ", ".join(soundfile.available_subtypes(container))
        raise InvalidInputError(f"{container} cannot hold {subtype}; allowed: {allowed}", field="subtype")
    return container, subtype


def _prepare(block: np.ndarray, subtype: str) -> np.ndarray:
    block = as_audio(block)
    if subtype not in ("FLOAT", "DOUBLE"):
        block = np.clip(block, -1.0, 1.0)
    return block.T


def write_blocks(
    path: str | os.PathLike[str],
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    channels: int,
    *,
    subtype: str | None = None,
    container: str | None = None,
    frames: int | None = None,
) -> int:
    """Stream ``blocks`` of ``(channels, n)`` audio into ``path`` atomically; returns the frames written.

    The container comes from ``path``'s extension unless given; ``subtype`` defaults to 24-bit PCM where
    the container has it. Nothing appears at ``path`` unless every block was written. ``frames``, when
    known, lets a WAV past 4 GiB be written as RF64 (see :mod:`mixdown.formats.size_limit`).
    """
    path = Path(path)
    sample_rate = check_sample_rate(sample_rate)
    container, subtype = _resolve(path, container, subtype)
    written = 0
    with atomic_path(path, suffix=f".{container.lower()}") as temp:
        actual = container_for(container, frames, channels, subtype)
        guard = SizeGuard(actual, channels, subtype, container)
        try:
            with write_failures(temp, container), soundfile.SoundFile(
                temp, "w", samplerate=sample_rate, channels=channels, format=actual, subtype=subtype
            ) as handle:
                for block in blocks:
                    if block.shape[0] != channels:
                        raise InvalidInputError(
                            f"block has {block.shape[0]} channels, the file {channels}", field="audio"
                        )
                    stop.check()
                    guard.add(block.shape[1])
                    prepared = _prepare(block, subtype)
                    for first in range(0, prepared.shape[0], WRITE_FRAMES):
                        handle.write(prepared[first:first + WRITE_FRAMES])
                    written += block.shape[1]
        except soundfile.SoundFileError as error:
            raise OutputError(f"cannot write {str(path)!r}: {error}", field="output") from None
        if actual == "OGG":
            set_serial(temp)
    return written


def write(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    container: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write ``audio`` to ``path`` atomically (see :func:`write_blocks`); ``progress``, when given, is told
    the frames encoded and their total as it goes (the bytes are the same)."""
    audio = as_audio(audio)
    blocks: Iterable[np.ndarray] = [audio]
    if progress is not None:
        blocks = reported(split(audio, WRITE_FRAMES), progress, audio.shape[1])
    write_blocks(path, blocks, sample_rate, audio.shape[0], subtype=subtype, container=container,
                 frames=audio.shape[1])
