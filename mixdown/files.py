"""Audio files from Python: :func:`write_audio` in any export format, and loudness and normalization in
blocks, with the memory of a few blocks whatever the length.

:func:`loudness_file` meters a file in one pass (:class:`~mixdown.engine.loudness.LoudnessMeter`);
:func:`normalize_file` measures in a first pass and gains, meters and encodes in a second. Both give the
figures and samples the in-memory functions give for the whole signal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixdown.engine import loudness_kernels as kernels
from mixdown.engine.audio import db_to_gain, gain_to_db
from mixdown.engine.loudness import LoudnessMeter, LoudnessReport
from mixdown.engine.normalize import loudness_gain_db, normalize_loudness, peak_gain
from mixdown.engine.resample import resample_blocks
from mixdown.errors import InvalidInputError
from mixdown.formats.audio_io import sndfile_container, write_blocks
from mixdown.formats.export import ExportResult, encode_blocks, export
from mixdown.formats.spec import OutputSpec, format_for_extension
from mixdown.formats.stream import DEFAULT_BLOCK_FRAMES, AudioFile, frames_of, reported

#: Longest input (frames x channels) an operation that needs the whole signal holds in memory: the
#: true-peak limiter of :func:`normalize_file`, ``mixdown stretch``, ``mixdown bpm``. They need about 20 to
#: 30 bytes per sample, so this bound is 3 to 4 GB (46 minutes of 48 kHz stereo); :func:`read_whole`
#: refuses longer files before decoding them. Everything else streams at any length.
MAX_IN_MEMORY_SAMPLES = 2**27


def read_whole(path: str | os.PathLike[str], purpose: str, max_samples: int | None = None, *,
               progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """:func:`mixdown.read` for an operation that needs the whole signal, refused before decoding when the
    file holds more than ``max_samples`` samples (frames x channels; default :data:`MAX_IN_MEMORY_SAMPLES`).
    ``progress``, when given and the header states the length, is told the frames decoded and their total
    as the file is read in blocks (the samples are the same).

    Raises
    ------
    InvalidInputError
        For a file over the bound (field ``path``), naming the file, its length and the bound.
    AudioReadError
        If the file cannot be decoded.

    Examples
    --------
    >>> import numpy as np, mixdown
    >>> _ = mixdown.write("long.wav", np.zeros((2, 48_000), dtype=np.float32), 48_000)
    >>> read_whole("long.wav", "stretching")[0].shape
    (2, 48000)
    >>> try:
    ...     read_whole("long.wav", "stretching", max_samples=10_000)
    ... except InvalidInputError as error:
    ...     print(error.field, "|", error.message)
    path | stretching holds the whole signal in memory: 'long.wav' has 48000 frames x 2 channels, over the
    limit of 10000 samples
    """
    if max_samples is None:
        max_samples = MAX_IN_MEMORY_SAMPLES
    with AudioFile(path) as reader:
        if reader.frames * reader.channels > max_samples:
            raise InvalidInputError(
                f"{purpose} holds the whole signal in memory: {reader.path!r} has {reader.frames} frames x "
                f"{reader.channels} channels, over the limit of {max_samples} samples", field="path")
        total = _known_frames(reader)
        if progress is None or total is None:
            return reader.read(), reader.sample_rate
        return _read_reporting(reader, total, progress), reader.sample_rate


def _read_reporting(reader: AudioFile, total: int, progress: Progress) -> np.ndarray:
    """The rest of ``reader`` (whose header states ``total`` frames) into one array, block by block."""
    audio = np.empty((reader.channels, total), dtype=np.float32)
    done = 0
    for block in reader.blocks():
        if done + block.shape[1] > total:
            # The header understated the length: keep what it did not count too.
            return np.concatenate((audio[:, :done], block, reader.read()), axis=1)
        audio[:, done : done + block.shape[1]] = block
        done += block.shape[1]
        progress(done, total)
    return audio if done == total else np.ascontiguousarray(audio[:, :done])

#: Called with the frames done so far and the total (None when unknown).
Progress = Callable[[int, int | None], None]

#: Below this margin under the ceiling, the gained audio's true peak could round over it: the limiter runs.
_TRUE_PEAK_MARGIN_DB = 1e-3


def write_audio(
    path: str | os.PathLike[str],
    audio: np.ndarray,
    sample_rate: int,
    spec: OutputSpec | Mapping[str, Any] | str | None = None,
) -> ExportResult:
    """Write ``audio`` to ``path`` atomically, in any format ``mixdown export`` writes (``mixdown.write``).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its extension names the format unless ``spec`` does.
    audio : np.ndarray
        float ``(channels, frames)``, or ``(frames,)`` for mono; samples beyond [-1, 1] are clipped,
        except in float PCM.
    sample_rate : int
        Hz.
    spec : dict, str or OutputSpec, optional
        A TwistedWave output object (``{"format": "mp3", "bit_rate": 192}``, ``{"format": "wav",
        "codec": "float"}`` for 32-bit float PCM, with ``sample_rate`` to resample and ``begin`` /
        ``end`` to cut), or a format name. Default: the format of ``path``'s extension, its default options.

    Returns
    -------
    ExportResult
        Path, format, options, rate, channels and frames written.

    Examples
    --------
    >>> import numpy as np, mixdown
    >>> noise = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 44_100)).astype(np.float32)
    >>> mixdown.write("noise.mp3", noise, 44_100, {"format": "mp3", "bit_rate": 192}).frames
    44100
    >>> mixdown.write("noise.wav", noise, 44_100).options["bit_depth"]
    16
    """
    return export(audio, sample_rate, spec or format_for_extension(str(path)), path)


def _known_frames(reader: AudioFile) -> int | None:
    """The file's length when its header states it (no counting pass just for a progress bar)."""
    return reader.header_frames


def read_span(path: str | os.PathLike[str], first: int, last: int, sample_rate: int | None = None, *,
              mono: bool = False) -> tuple[np.ndarray, int]:
    """Frames ``[first, last)`` of an audio file at ``sample_rate`` (default the file's own), holding only them.

    At the file's rate this seeks and reads. At another rate the file is read forward from its start
    through a streaming soxr converter (:func:`~mixdown.engine.resample.resample_blocks`), so the samples
    are exactly those of resampling the whole file and cutting, in the memory of the span. ``mono``
    averages the channels first. Returns the audio and its rate.

    Examples
    --------
    >>> import numpy as np, mixdown
    >>> ramp = np.linspace(-0.5, 0.5, 48_000, dtype=np.float32)
    >>> _ = mixdown.write("ramp.wav", ramp, 48_000, {"format": "wav", "bit_depth": 32})
    >>> span, rate = read_span("ramp.wav", 1_000, 1_010)
    >>> span.shape, rate, bool(np.allclose(span[0], ramp[1_000:1_010], atol=1e-7))
    ((1, 10), 48000, True)
    >>> read_span("ramp.wav", 100, 200, 24_000)[0].shape
    (1, 100)
    """
    with AudioFile(path) as reader:
        rate = sample_rate or reader.sample_rate
        channels = 1 if mono else reader.channels
        if rate == reader.sample_rate:
            reader.seek(first)
            audio = reader.read(last - first)
            if mono:
                audio = np.ascontiguousarray(audio.mean(axis=0, keepdims=True))
            return audio, rate
        blocks: Iterable[np.ndarray] = reader.blocks()
        if mono:
            blocks = (np.ascontiguousarray(block.mean(axis=0, keepdims=True)) for block in blocks)
        pieces = list(frames_of(resample_blocks(blocks, reader.sample_rate, rate, channels), first, last - first))
    audio = np.concatenate(pieces, axis=1) if pieces else np.empty((channels, 0), dtype=np.float32)
    return audio, rate


def loudness_file(path: str | os.PathLike[str], *, block_frames: int = DEFAULT_BLOCK_FRAMES,
                  progress: Progress | None = None) -> LoudnessReport:
    """:func:`~mixdown.engine.measure_loudness` of an audio file, read in blocks.

    ``progress``, when given, is called with the frames read so far and the total (None when the header
    does not state it).

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.formats import write
    >>> rate = 48_000
    >>> tone = (0.25 * np.sin(2 * np.pi * 997 * np.arange(3 * rate) / rate)).astype(np.float32)
    >>> write("tone.wav", np.stack([tone, tone]), rate, subtype="FLOAT")
    >>> round(loudness_file("tone.wav").integrated_lufs, 1)
    -12.0
    """
    with AudioFile(path) as reader:
        meter = LoudnessMeter(reader.sample_rate, reader.channels)
        for block in reported(reader.blocks(block_frames), progress, _known_frames(reader)):
            meter.add(block)
    return meter.report()


@dataclass(frozen=True)
class FileNormalized:
    """What :func:`normalize_file` did: the gain, whether the limiter ran, the measurements, the frames."""

    path: Path
    gain_db: float
    limited: bool
    before: LoudnessReport | None
    after: LoudnessReport | None
    frames: int


def _kept_subtype(reader: AudioFile, target: Path) -> str | None:
    """The input's encoding when the output is the same kind of file."""
    if reader.subtype and Path(reader.path).suffix.lower() == target.suffix.lower():
        return reader.subtype
    return None


def _write_blocks(target: Path, blocks: Iterable[np.ndarray], rate: int, channels: int, subtype: str | None,
                  kept: str | None, frames: int | None) -> int:
    """Through libsndfile (with the requested ``subtype``, else the input's ``kept`` one) where it writes
    ``target``'s format, else through the export encoders with the format's default options. ``frames``
    (when known) lets a WAV past 4 GiB be written as RF64."""
    if sndfile_container(target) is not None:
        return write_blocks(target, blocks, rate, channels, subtype=subtype or kept, frames=frames)
    if subtype:
        raise InvalidInputError(f"{target.suffix or target.name!r} files have no subtype; drop it", field="subtype")
    return encode_blocks(target, blocks, rate, channels, format_for_extension(str(target)), frames=frames)


def _scaled(blocks: Iterable[np.ndarray], gain: np.float32, meter: LoudnessMeter | None) -> Iterator[np.ndarray]:
    for block in blocks:
        out = np.empty_like(block)
        kernels.scale_into(block, gain, out)
        if meter is not None:
            meter.add(out)
        yield out


def normalize_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    lufs: float | None = None,
    true_peak_dbtp: float = -1.0,
    peak_dbfs: float | None = None,
    subtype: str | None = None,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    progress: Progress | None = None,
) -> FileNormalized:
    """Normalize the audio file ``source`` into ``target`` (written atomically), in two passes over blocks.

    With ``lufs``, as :func:`~mixdown.engine.normalize_loudness` (integrated loudness to the target, true
    peak at most ``true_peak_dbtp``); with ``peak_dbfs``, as :func:`~mixdown.engine.normalize_peak`. The
    first pass measures, the second applies the gain while it meters and encodes, so memory stays that of
    a few blocks. Only when the gain would push the true peak over the ceiling does the look-ahead limiter
    run, on the whole signal in memory (refused above :data:`MAX_IN_MEMORY_SAMPLES`).

    ``target`` may be any format ``mixdown export`` writes (from its extension); ``subtype`` (libsndfile's
    encoding name, such as ``PCM_16``) applies to the formats libsndfile writes, and defaults to the
    input's when both files have the same extension. ``progress`` is called with the frames done over
    both passes and their total (None when the header does not state the length).

    Raises
    ------
    InvalidInputError
        For targets out of range, silent audio, a target the ceiling does not allow, or an input too long
        to limit in memory.
    AudioReadError
        If ``source`` cannot be decoded.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.formats import write
    >>> rate = 48_000
    >>> tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate)).astype(np.float32)
    >>> write("quiet.wav", tone, rate, subtype="FLOAT")
    >>> done = normalize_file("quiet.wav", "loud.flac", lufs=-16.0)
    >>> round(done.after.integrated_lufs, 2), done.limited
    (-16.0, False)
    >>> normalize_file("quiet.wav", "peak.wav", peak_dbfs=-1.0).gain_db > 0
    True
    """
    if (lufs is None) == (peak_dbfs is None):
        raise InvalidInputError("give a loudness target or a peak target, one of them", field="lufs")
    target = Path(target)
    with AudioFile(source) as reader:
        rate, channels = reader.sample_rate, reader.channels
        kept = _kept_subtype(reader, target)
        known = _known_frames(reader)
        total = None if known is None else 2 * known

        def first_pass() -> Iterator[np.ndarray]:
            return reported(reader.blocks(block_frames), progress, total)

        def second_pass() -> Iterator[np.ndarray]:
            reader.seek(0)
            return reported(reader.blocks(block_frames), progress, total, reader.frames)

        if peak_dbfs is not None:
            peak = np.float32(0.0)
            for block in first_pass():
                peak = max(peak, kernels.peak_of(block))
            gain = peak_gain(peak, peak_dbfs)
            blocks = _scaled(second_pass(), gain, None)
            frames = _write_blocks(target, blocks, rate, channels, subtype, kept, known)
            return FileNormalized(target, gain_to_db(float(gain)), False, None, None, frames)
        meter = LoudnessMeter(rate, channels)
        for block in first_pass():
            meter.add(block)
        before = meter.report()
        gain_db, ceiling = loudness_gain_db(before, lufs, true_peak_dbtp)
        if before.true_peak_dbtp + gain_db <= ceiling - _TRUE_PEAK_MARGIN_DB:
            after_meter = LoudnessMeter(rate, channels)
            blocks = _scaled(second_pass(), np.float32(db_to_gain(gain_db)), after_meter)
            frames = _write_blocks(target, blocks, rate, channels, subtype, kept, known)
            after = after_meter.report()
            if after.true_peak_dbtp <= ceiling:
                return FileNormalized(target, gain_db, False, before, after, frames)
        if before.frames * channels > MAX_IN_MEMORY_SAMPLES:
            raise InvalidInputError(
                f"reaching {lufs:g} LUFS needs the true-peak limiter, which holds the audio in memory: "
                f"{before.frames} frames x {channels} channels is over its limit of {MAX_IN_MEMORY_SAMPLES} "
                "samples; lower the target or raise the ceiling", field="target_lufs")
        reader.seek(0)
        audio = reader.read()
    result = normalize_loudness(audio, rate, lufs, true_peak_dbtp)
    del audio
    frames = _write_blocks(target, [result.audio], rate, channels, subtype, kept, result.audio.shape[1])
    return FileNormalized(target, result.gain_db, result.limited, result.before, result.after, frames)


__all__ = ["MAX_IN_MEMORY_SAMPLES", "FileNormalized", "loudness_file", "normalize_file",
           "read_span", "read_whole", "write_audio"]
