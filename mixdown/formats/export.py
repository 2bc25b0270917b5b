"""Write audio as a TwistedWave output object asks: format and options, sample rate, range, file name.

:func:`export` does the whole job (resample with soxr, cut the range at the output rate, encode
atomically); :func:`export_file` does it from a file in blocks, in bounded memory; :func:`encode_blocks`
and :func:`encode` write audio as given, for callers that stream a render or have already resampled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.resample import resample, resample_blocks, resampled_length
from mixdown.errors import InvalidInputError
from mixdown.formats.atomic import atomic_path
from mixdown.formats.encoders import open_encoder
from mixdown.formats.spec import OutputSpec, check_encodable, parse_output
from mixdown.formats.stream import DEFAULT_BLOCK_FRAMES, AudioFile, frames_of, reported
from mixdown.formats.tags import write_tags


@dataclass(frozen=True)
class ExportResult:
    """What was written: where, in which format and options, and exactly how many frames."""

    path: Path
    format: str
    options: Mapping[str, Any]
    sample_rate: int
    channels: int
    frames: int


def as_spec(spec: OutputSpec | Mapping[str, Any] | str) -> OutputSpec:
    """An :class:`OutputSpec` from a spec, an output object, or a bare format name."""
    if isinstance(spec, OutputSpec):
        return spec
    if isinstance(spec, str):
        return parse_output({"format": spec})
    return parse_output(spec)


def encode_blocks(
    path: str | os.PathLike[str],
    blocks: Iterable[np.ndarray],
    sample_rate: int,
    channels: int,
    spec: OutputSpec | Mapping[str, Any] | str,
    *,
    frames: int | None = None,
    tags: Mapping[str, str] | None = None,
    markers: Sequence[Sequence] | None = None,
) -> int:
    """Encode ``blocks`` of ``(channels, n)`` audio into ``path`` atomically; returns the frames written.

    Only the spec's format, options and ``dither`` apply: the blocks are written at ``sample_rate`` as they
    come, so a spec asking for another ``sample_rate`` or for a range is refused (use :func:`export`).
    Samples beyond [-1, 1] are clipped, except in float PCM (``"codec": "float"``), which holds them.
    Nothing appears at ``path`` unless every block was encoded.
    ``frames``, when the caller knows how many will come, lets a WAV past 4 GiB be written as RF64.
    ``tags`` and ``markers`` (``[frame, name]``) are written into the finished file as its format allows
    (:func:`mixdown.formats.tags.write_tags`).

    Raises
    ------
    InvalidInputError
        For a spec that does not parse, a rate, channel count or bitrate the format cannot carry at this
        rate, a block with the wrong channel count or non-finite samples, or no audio at all.
    OutputError
        When the encoder or the file system fails; any earlier file at ``path`` is left as it was.
    """
    spec = as_spec(spec)
    sample_rate = check_sample_rate(sample_rate)
    if spec.sample_rate is not None and spec.sample_rate != sample_rate:
        raise InvalidInputError(
            f"encode_blocks writes the audio at its own rate ({sample_rate} Hz); resample with export()",
            field="sample_rate",
        )
    for name in ("begin", "end", "begin_sample", "end_sample"):
        if getattr(spec, name) is not None:
            raise InvalidInputError("encode_blocks writes every block it is given; cut ranges with export()",
                                    field=name)
    options = check_encodable(spec.format, spec.options, sample_rate, channels, spec.given)
    with atomic_path(path) as temp:
        with open_encoder(temp, spec.format, options, sample_rate, channels, dither=spec.dither,
                          expected_frames=frames) as encoder:
            for block in blocks:
                block = as_audio(block)
                if block.shape[0] != channels:
                    raise InvalidInputError(f"block has {block.shape[0]} channels, the output {channels}",
                                            field="audio")
                encoder.write(np.clip(block, -1.0, 1.0) if encoder.clips else block)
            if not encoder.frames:
                raise InvalidInputError("there is no audio to write", field="audio")
            frames = encoder.frames
        if tags or markers:
            write_tags(temp, spec.format, tags, markers)
    return frames


def encode(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int,
           spec: OutputSpec | Mapping[str, Any] | str) -> int:
    """Encode ``audio`` into ``path`` atomically, as it is (see :func:`encode_blocks`)."""
    audio = as_audio(audio)
    return encode_blocks(path, [audio], sample_rate, audio.shape[0], spec, frames=audio.shape[1])


def _target(target: str | os.PathLike[str] | None, spec: OutputSpec) -> Path:
    if target is None:
        return Path(spec.filename)
    target = Path(target)
    return target / spec.filename if target.is_dir() else target


def export(
    audio: np.ndarray,
    sample_rate: int,
    spec: OutputSpec | Mapping[str, Any] | str,
    target: str | os.PathLike[str] | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    markers: Sequence[Sequence] | None = None,
) -> ExportResult:
    """Write ``audio`` as the output object ``spec`` describes.

    Parameters
    ----------
    audio
        float32 ``(channels, frames)`` (a 1-D array is mono).
    sample_rate
        Rate of ``audio`` in Hz.
    spec
        A TwistedWave output object (``{"format": "mp3", "bit_rate": 192, "begin_sample": 1000}``), a parsed
        :class:`OutputSpec`, or a format name.
    target
        The file to write; a folder means ``folder / exported_filename``; ``None`` means
        ``exported_filename`` (``export.<ext>`` by default) in the current folder.
    tags, markers
        Written into the file as its format allows (:func:`mixdown.formats.tags.write_tags`); markers are
        frames of ``audio`` and move with the rate conversion and the range (those outside it are left out).

    Returns
    -------
    ExportResult
        The path, format and options, output rate, channels, and frames written: exactly
        ``end_sample - begin_sample`` when both are given.

    Raises
    ------
    InvalidInputError
        For a spec that does not parse, a range outside the audio, or a rate, channel count or bitrate the
        format cannot carry.
    OutputError
        When the encoder or the file system fails; nothing is left at the target.

    Examples
    --------
    >>> export(mix, 48_000, {"format": "mp3", "sample_rate": 44_100, "begin_sample": 1000,
    ...                      "end_sample": 45_100}, "cut.mp3").frames  # doctest: +SKIP
    44100
    """
    audio = as_audio(audio)
    sample_rate = check_sample_rate(sample_rate)
    spec = as_spec(spec)
    rate = spec.sample_rate or sample_rate
    options = check_encodable(spec.format, spec.options, rate, audio.shape[0], spec.given)
    if rate != sample_rate:
        audio = resample(audio, sample_rate, rate)
    first, stop = spec.frame_range(audio.shape[1], rate)
    path = _target(target, spec)
    plain = OutputSpec(spec.format, options, dither=spec.dither, given=spec.given)
    placed = [[(2 * position * rate + sample_rate) // (2 * sample_rate) - first, name]
              for position, name in markers or []]
    placed = [marker for marker in placed if 0 <= marker[0] <= stop - first]
    frames = encode_blocks(path, [audio[:, first:stop]], rate, audio.shape[0], plain, frames=stop - first,
                           tags=tags, markers=placed)
    return ExportResult(path, spec.format, options, rate, audio.shape[0], frames)


def export_file(
    source: str | os.PathLike[str],
    spec: OutputSpec | Mapping[str, Any] | str,
    target: str | os.PathLike[str] | None = None,
    *,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    progress: Callable[[int, int | None], None] | None = None,
) -> ExportResult:
    """:func:`export` of the audio file ``source``, decoded, resampled and encoded in blocks.

    Memory stays that of a few blocks whatever the file's length; the output is the same as
    ``export(*read(source), spec, target)`` gives. A range at the input's own rate is reached by seeking.
    ``progress``, when given, is called with the output frames encoded so far and their total (None
    when the input's header does not state its length).

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.formats import write
    >>> write("take.wav", np.zeros((2, 48_000), dtype=np.float32), 48_000)
    >>> result = export_file("take.wav", {"format": "flac", "sample_rate": 44_100, "end": 0.5}, "take.flac")
    >>> result.format, result.sample_rate, result.frames
    ('flac', 44100, 22050)
    """
    spec = as_spec(spec)
    with AudioFile(source) as reader:
        channels, from_rate = reader.channels, reader.sample_rate
        rate = spec.sample_rate or from_rate
        options = check_encodable(spec.format, spec.options, rate, channels, spec.given)
        ranged = any(getattr(spec, name) is not None for name in ("begin", "end", "begin_sample", "end_sample"))
        if ranged:
            total = reader.frames if rate == from_rate else resampled_length(reader.frames, from_rate, rate)
            first, stop = spec.frame_range(total, rate)
        else:
            first, stop = 0, None
        if rate == from_rate:
            reader.seek(first)
            blocks: Iterable[np.ndarray] = reader.blocks(block_frames)
            if stop is not None:
                blocks = frames_of(blocks, 0, stop - first)
        else:
            blocks = resample_blocks(reader.blocks(block_frames), from_rate, rate, channels)
            if stop is not None:
                blocks = frames_of(blocks, first, stop - first)
        known = reader.header_frames
        if stop is not None:
            known = stop - first
        elif known is not None and rate != from_rate:
            known = resampled_length(known, from_rate, rate)
        if progress is not None:
            blocks = reported(blocks, progress, known)
        path = _target(target, spec)
        plain = OutputSpec(spec.format, options, dither=spec.dither, given=spec.given)
        frames = encode_blocks(path, blocks, rate, channels, plain, frames=known)
    return ExportResult(path, spec.format, options, rate, channels, frames)
