"""A streaming reader over every format mixdown decodes: :func:`open_audio` (``mixdown.open``).

libsndfile reads the PCM family, FLAC up to 24 bits, Ogg Vorbis and Opus, and MP3 (trimmed by its LAME
tag); FFmpeg (:class:`~mixdown.formats.decode.FFmpegReader`) reads the rest: m4a/aac, wma, WavPack, mp2,
20-bit FLAC, 64-bit integer PCM. Either way only the block asked for is in memory, so a 10-hour file is
measured, converted or cut with the memory of a few seconds of audio.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile

from mixdown.errors import AudioReadError, InvalidInputError
from mixdown.formats.decode import FFmpegReader, describe
from mixdown.formats.truncation import missing_bytes

#: libsndfile error codes that mean "not a format I read" (unrecognised, unimplemented): FFmpeg gets a try.
NOT_FOR_LIBSNDFILE = (1, 18)

#: libsndfile formats whose header frame count is an estimate (MPEG audio without an info frame).
ESTIMATED_LENGTH = ("MP3",)

#: libsndfile formats whose seek is exact only on a freshly opened file (Ogg Vorbis and Opus: after reads,
#: libsndfile 1.2 lands on the wrong samples), so a seek reopens the file first.
SEEK_FROM_OPEN = ("OGG",)

#: Frames per block of :meth:`AudioFile.blocks` unless told: about 1.4 s at 48 kHz, 1.5 MB of stereo float32.
DEFAULT_BLOCK_FRAMES = 65_536


class AudioFile:
    """An open audio file, read forward in blocks of float32 ``(channels, n)``; see :func:`open_audio`.

    Attributes
    ----------
    path : str
        The file.
    sample_rate : int
        Hz.
    channels : int
        Channel count.
    format : str
        libsndfile's container name (``"WAV"``, ``"FLAC"``, ...) or FFmpeg's demuxer name.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        location = Path(path)
        if not location.is_file():
            raise AudioReadError(f"no such file: {self.path!r}", field="path")
        try:
            shortfall = missing_bytes(location)
        except OSError as error:
            raise AudioReadError(f"cannot read {self.path!r}: {error.strerror}", field="path") from None
        if shortfall:
            raise AudioReadError(f"{self.path!r} is truncated: {shortfall} bytes of audio data are missing",
                                 field="path")
        self._sndfile: soundfile.SoundFile | None = None
        self._ffmpeg: FFmpegReader | None = None
        self._frames: int | None = None
        self._position = 0
        try:
            self._sndfile = soundfile.SoundFile(self.path)
        except soundfile.LibsndfileError as error:
            if error.code not in NOT_FOR_LIBSNDFILE:
                raise AudioReadError(f"cannot decode {self.path!r}: {describe(error)}", field="path") from None
        except (RuntimeError, TypeError) as error:
            raise AudioReadError(f"cannot decode {self.path!r}: {describe(error)}", field="path") from None
        if self._sndfile is not None:
            self.sample_rate = int(self._sndfile.samplerate)
            self.channels = int(self._sndfile.channels)
            self.format = self._sndfile.format
            self.subtype: str | None = self._sndfile.subtype
            if self.format not in ESTIMATED_LENGTH:
                self._frames = int(self._sndfile.frames)
        else:
            self._ffmpeg = FFmpegReader(self.path)
            self.sample_rate, self.channels = self._ffmpeg.sample_rate, self._ffmpeg.channels
            self.format, self.subtype = self._ffmpeg.container, None
            self.codec = self._ffmpeg.codec
            self._frames = self._ffmpeg.stated

    # ------------------------------------------------------------------ size and position

    @property
    def frames(self) -> int:
        """Frames in the file: exactly what reading it to the end returns.

        Read from the header where it is exact; otherwise (MP3 through libsndfile, wma, mp2) counted once
        by a decoding pass in blocks on a second handle.
        """
        if self._frames is None:
            with AudioFile(self.path) as counter:
                counter._frames = -1
                self._frames = sum(block.shape[1] for block in counter.blocks())
        return self._frames

    @property
    def header_frames(self) -> int | None:
        """The length when the header states it exactly (no decoding needed), else None."""
        return self._frames if self._frames is not None and self._frames >= 0 else None

    @property
    def duration(self) -> float:
        """Seconds: ``frames / sample_rate``."""
        return self.frames / self.sample_rate

    def tell(self) -> int:
        """The frame the next :meth:`read` starts at."""
        return self._position

    def seek(self, frame: int, whence: int = os.SEEK_SET) -> int:
        """Move to ``frame`` (from the start, the current position or the end, as ``whence`` says).

        Returns the new position. libsndfile seeks directly (on a reopened file for Ogg); an FFmpeg-decoded
        file is decoded forward
        (from the start when going back), so the samples after a seek are exactly the ones a read from the
        start would give there.
        """
        if whence == os.SEEK_CUR:
            frame += self._position
        elif whence == os.SEEK_END:
            frame += self.frames
        elif whence != os.SEEK_SET:
            raise InvalidInputError(f"whence must be 0, 1 or 2, got {whence!r}", field="whence")
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 0:
            raise InvalidInputError(f"cannot seek to frame {frame!r}", field="frame")
        frame = int(frame)
        if self._frames is not None and self._frames >= 0 and frame > self._frames:
            raise InvalidInputError(f"frame {frame} is past the end ({self._frames} frames)", field="frame")
        if self._sndfile is not None:
            try:
                if self.format in SEEK_FROM_OPEN:
                    self._sndfile.close()
                    self._sndfile = soundfile.SoundFile(self.path)
                self._sndfile.seek(frame)
            except (soundfile.LibsndfileError, RuntimeError) as error:
                raise AudioReadError(f"cannot seek in {self.path!r}: {error}", field="path") from None
            self._position = frame
            return frame
        assert self._ffmpeg is not None
        if frame < self._ffmpeg.position:
            self._ffmpeg.close()
            self._ffmpeg = FFmpegReader(self.path)
        while self._ffmpeg.position < frame:
            if not self._ffmpeg.read(min(DEFAULT_BLOCK_FRAMES, frame - self._ffmpeg.position)).shape[1]:
                raise InvalidInputError(f"frame {frame} is past the end ({self._ffmpeg.position} frames)",
                                        field="frame")
        self._position = frame
        return frame

    # ------------------------------------------------------------------ reading

    def read(self, frames: int = -1) -> np.ndarray:
        """The next ``frames`` frames as float32 ``(channels, n)``, C-contiguous (all that are left when
        ``frames`` is negative); fewer only at the end of the file, an empty array after it.

        Raises
        ------
        AudioReadError
            When the file turns out truncated or holds NaN or infinite samples.
        """
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)):
            raise InvalidInputError(f"frames must be an integer, got {frames!r}", field="frames")
        frames = int(frames)
        if self._sndfile is not None:
            try:
                data = self._sndfile.read(frames, dtype="float32", always_2d=True)
            except (soundfile.LibsndfileError, RuntimeError) as error:
                raise AudioReadError(f"cannot decode {self.path!r}: {describe(error)}", field="path") from None
            except MemoryError:
                raise AudioReadError(f"cannot decode {self.path!r}: its header claims {self._frames} frames, "
                                     f"more than memory holds (a damaged header?)", field="path") from None
            block = np.ascontiguousarray(data.T)
        else:
            assert self._ffmpeg is not None
            block = self._ffmpeg.read(frames)
        self._position += block.shape[1]
        short = frames < 0 or block.shape[1] < frames
        if short and self._frames is not None and 0 <= self._position < self._frames:
            raise AudioReadError(
                f"{self.path!r} is truncated: its header promises {self._frames} frames, "
                f"{self._position} are there", field="path")
        if not np.isfinite(block).all():
            raise AudioReadError(f"{self.path!r} holds NaN or infinite samples", field="path")
        return block

    def blocks(self, frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """Read from the current position to the end in blocks of ``frames`` (the last one may be shorter)."""
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames <= 0:
            raise InvalidInputError(f"block size must be a positive integer, got {frames!r}", field="frames")
        while True:
            block = self.read(frames)
            if not block.shape[1]:
                return
            yield block

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Release the file; safe to call twice."""
        if self._sndfile is not None:
            self._sndfile.close()
        if self._ffmpeg is not None:
            self._ffmpeg.close()

    def __enter__(self) -> AudioFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"AudioFile({self.path!r}, sample_rate={self.sample_rate}, channels={self.channels}, "
                f"format={self.format!r})")


def open_audio(path: str | os.PathLike[str]) -> AudioFile:
    """Open ``path`` for reading in blocks, like soundfile's ``SoundFile`` or pedalboard's ``AudioFile``.

    Parameters
    ----------
    path : str or os.PathLike
        Any file mixdown decodes: wav, w64, aiff, aifc, au, caf, flac, ogg, opus, mp3, mp2, m4a/aac, wma, wv.

    Returns
    -------
    AudioFile
        A context manager with ``frames``, ``sample_rate``, ``channels``, ``read(n)``, ``blocks(n)``,
        ``seek(frame)`` and ``tell()``. Blocks are float32 ``(channels, n)``.

    Raises
    ------
    AudioReadError
        If the file is missing, not audio, truncated, or in an encoding no decoder reads.

    Examples
    --------
    >>> import numpy as np, mixdown
    >>> tone = np.sin(np.linspace(0, 2000, 48_000, dtype=np.float32))[np.newaxis] * 0.5
    >>> _ = mixdown.write("tone.flac", tone, 48_000)
    >>> with mixdown.open("tone.flac") as f:
    ...     print(f.frames, f.sample_rate, f.channels)
    ...     first = f.read(1_000)
    ...     sizes = [block.shape[1] for block in f.blocks(20_000)]
    ...     _ = f.seek(47_000)
    ...     last = f.read()
    48000 48000 1
    >>> first.shape, sizes, last.shape
    ((1, 1000), [20000, 20000, 7000], (1, 1000))
    """
    return AudioFile(path)


def frames_of(blocks: Iterable[np.ndarray], skip: int, frames: int) -> Iterator[np.ndarray]:
    """Frames ``[skip, skip + frames)`` of a signal given in blocks (stops reading once past them).

    Examples
    --------
    >>> signal = np.arange(10, dtype=np.float32)[np.newaxis]
    >>> [b.tolist() for b in frames_of([signal[:, :4], signal[:, 4:]], 3, 4)]
    [[[3.0]], [[4.0, 5.0, 6.0]]]
    """
    position = 0
    for block in blocks:
        first, stop = max(skip - position, 0), min(skip + frames - position, block.shape[1])
        position += block.shape[1]
        if stop > first:
            yield block[:, first:stop]
        if position >= skip + frames:
            return


__all__ = ["DEFAULT_BLOCK_FRAMES", "AudioFile", "frames_of", "open_audio"]


def split(audio: np.ndarray, frames: int) -> Iterator[np.ndarray]:
    """``audio`` (channels, n) as views of ``frames`` frames each (the last may be shorter)."""
    for first in range(0, audio.shape[1], frames):
        yield audio[:, first : first + frames]


def reported(blocks: Iterable[np.ndarray], progress: Callable[[int, int | None], None] | None, total: int | None,
             done: int = 0) -> Iterator[np.ndarray]:
    """The blocks, telling ``progress`` the frames done so far (counting from ``done``) of ``total`` after
    each one is used.

    Examples
    --------
    >>> told = []
    >>> _ = list(reported(split(np.zeros((1, 5), np.float32), 2), lambda d, t: told.append((d, t)), 5))
    >>> told
    [(2, 5), (4, 5), (5, 5)]
    """
    for block in blocks:
        yield block
        done += block.shape[1]
        if progress is not None:
            progress(done, total)
