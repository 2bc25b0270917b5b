"""Destructive edits of a whole document, as an audio editor's commands make them.

Every function takes float32 ``(channels, frames)`` audio (a 1-D array is mono) and returns a new
C-contiguous float32 array, leaving its input untouched. A region is ``[begin, end)`` in frames
(``end=None``: to the end); a region outside the audio is an :class:`~mixdown.errors.InvalidInputError`
naming ``selection``. Effects (gain, fades, reverse, polarity, DC) change only the region; structural
edits (crop, delete, insert, time-stretch) change the length, and their docstrings give it exactly.
"""

from __future__ import annotations

import numpy as np

from mixdown.engine import denoise, edit_kernels, eq
from mixdown.engine.audio import as_audio, db_to_gain
from mixdown.engine.normalize import normalize_loudness, normalize_peak
from mixdown.engine.ops import apply_fades, apply_gain
from mixdown.engine.stretch import formant_amount, stretch
from mixdown.engine.timeline import Fade, FadeCurve
from mixdown.errors import InvalidInputError


def region(frames: int, begin: int = 0, end: int | None = None, *, field: str = "selection") -> tuple[int, int]:
    """``(begin, end)`` checked to be a non-empty range inside ``frames`` frames."""
    end = frames if end is None else end
    for value in (begin, end):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidInputError(f"expected whole sample positions, got {value!r}", field=field)
    if not 0 <= begin < end <= frames:
        raise InvalidInputError(f"[{begin}, {end}] is not a non-empty range inside the audio's {frames} frames",
                                field=field)
    return int(begin), int(end)


def _length(value: int, field: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"expected a whole number of frames >= {minimum}, got {value!r}", field=field)
    return int(value)


def _splice(audio: np.ndarray, begin: int, end: int, replacement: np.ndarray) -> np.ndarray:
    """``audio`` with ``[begin, end)`` replaced by ``replacement`` (of any length)."""
    if replacement.shape[1] == end - begin:
        out = audio.copy()
        out[:, begin:end] = replacement
        return out
    return np.ascontiguousarray(np.concatenate([audio[:, :begin], replacement, audio[:, end:]], axis=1))


def amplify(audio: np.ndarray, gain_db: float, begin: int = 0, end: int | None = None) -> np.ndarray:
    """Multiply the region by ``10 ** (gain_db / 20)``."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    if not np.isfinite(gain_db):
        raise InvalidInputError(f"must be a finite number of dB, got {gain_db}", field="gain")
    return _splice(audio, begin, end, apply_gain(audio[:, begin:end], db_to_gain(gain_db)))


def normalize(audio: np.ndarray, sample_rate: int, begin: int = 0, end: int | None = None, *,
              peak_dbfs: float = 0.0, lufs: float | None = None, true_peak_dbtp: float = -1.0) -> np.ndarray:
    """Bring the region's sample peak to ``peak_dbfs``, or, with ``lufs``, its integrated loudness to
    ``lufs`` under a ``true_peak_dbtp`` ceiling (:func:`~mixdown.engine.normalize.normalize_loudness`)."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    part = audio[:, begin:end]
    if lufs is None:
        changed, _ = normalize_peak(part, peak_dbfs)
    else:
        changed = normalize_loudness(part, sample_rate, lufs, true_peak_dbtp).audio
    return _splice(audio, begin, end, changed)


def fade(audio: np.ndarray, begin: int = 0, end: int | None = None, *, direction: str = "in",
         curve: FadeCurve | str = FadeCurve.LINEAR) -> np.ndarray:
    """Fade the region in (``direction="in"``) or out over its whole length.

    At region frame ``t`` of ``n``, a fade-in has gain ``curve(t / n)`` (the first frame is silent) and a
    fade-out ``curve((n - 1 - t) / n)`` (the last frame is silent), as :func:`~mixdown.engine.apply_fades`.
    """
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    if direction not in ("in", "out"):
        raise InvalidInputError(f"expected 'in' or 'out', got {direction!r}", field="direction")
    shape = Fade(end - begin, curve)
    part = audio[:, begin:end]
    faded = apply_fades(part, fade_in=shape) if direction == "in" else apply_fades(part, fade_out=shape)
    return _splice(audio, begin, end, faded)


def reverse(audio: np.ndarray, begin: int = 0, end: int | None = None) -> np.ndarray:
    """The region played backwards, in place of itself."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    return _splice(audio, begin, end, audio[:, begin:end][:, ::-1])


def crop(audio: np.ndarray, begin: int, end: int) -> np.ndarray:
    """Only the region: ``end - begin`` frames."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    return np.ascontiguousarray(audio[:, begin:end])


def delete(audio: np.ndarray, begin: int, end: int) -> np.ndarray:
    """Everything but the region: ``frames - (end - begin)`` frames."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    return _splice(audio, begin, end, audio[:, :0])


def delete_crossfade(audio: np.ndarray, begin: int, end: int, length: int,
                     curve: FadeCurve | str = FadeCurve.EQUAL_POWER) -> np.ndarray:
    """Delete the region and hide the join: ``frames - (end - begin)`` frames, like :func:`delete`.

    The ``length`` frames after the join are a crossfade from the deleted region's first frames (fading
    out, so the audio before the join carries on as it was) into the audio after the region (fading in,
    reaching it fully at ``begin + length``). ``length`` may be at most the region's length and the
    audio left after it; 0 is a plain delete.
    """
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    length = _length(length, "length", minimum=0)
    room = min(end - begin, audio.shape[1] - end)
    if length > room:
        raise InvalidInputError(
            f"{length} frames do not fit: the crossfade can be at most {room} frames here (the deleted region and "
            "the audio after it)",
            field="length",
        )
    out = delete(audio, begin, end)
    if length:
        edit_kernels.crossfade(audio[:, begin:begin + length], audio[:, end:end + length], FadeCurve(curve).code,
                               out[:, begin:begin + length])
    return out


def insert_silence(audio: np.ndarray, position: int, length: int) -> np.ndarray:
    """``length`` silent frames inserted before frame ``position`` (``frames`` appends)."""
    audio = as_audio(audio)
    frames = audio.shape[1]
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position <= frames:
        raise InvalidInputError(f"must be a frame from 0 to {frames}, got {position!r}", field="position")
    length = _length(length, "length")
    gap = np.zeros((audio.shape[0], length), dtype=np.float32)
    return _splice(audio, int(position), int(position), gap)


def silence(audio: np.ndarray, begin: int = 0, end: int | None = None) -> np.ndarray:
    """The region set to zero."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    out = audio.copy()
    out[:, begin:end] = 0.0
    return out


def invert_polarity(audio: np.ndarray, begin: int = 0, end: int | None = None) -> np.ndarray:
    """The region with every sample negated."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    out = audio.copy()
    np.negative(out[:, begin:end], out=out[:, begin:end])
    return out


def remove_dc(audio: np.ndarray, begin: int = 0, end: int | None = None) -> np.ndarray:
    """The region with each channel's mean over the region subtracted."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    out = audio.copy()
    edit_kernels.remove_mean(out[:, begin:end])
    return out


def to_mono(audio: np.ndarray) -> np.ndarray:
    """One channel, the mean of all (``(L + R) / 2`` for stereo, as the mixer sums a mono output)."""
    audio = as_audio(audio)
    if audio.shape[0] == 1:
        raise InvalidInputError("the audio is already mono", field="channels")
    return np.ascontiguousarray(audio.mean(axis=0, dtype=np.float64)[np.newaxis].astype(np.float32))


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """Mono audio on two identical channels."""
    audio = as_audio(audio)
    if audio.shape[0] != 1:
        raise InvalidInputError(f"only mono audio converts to stereo; this has {audio.shape[0]} channels",
                                field="channels")
    return np.ascontiguousarray(np.repeat(audio, 2, axis=0))


def pitch_speed(audio: np.ndarray, sample_rate: int, begin: int = 0, end: int | None = None, *,
                speed: float = 1.0, semitones: float = 0.0, varispeed: bool = False,
                quality: str = "high") -> np.ndarray:
    """The region played at ``speed`` and shifted by ``semitones`` (:func:`~mixdown.engine.stretch`): the
    region becomes ``round((end - begin) / speed)`` frames. The formant amount is read from the whole
    ``audio``, not the region alone (:func:`~mixdown.engine.stretch.formant_amount`)."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    formants = formant_amount(audio, sample_rate) if semitones != 0 and not varispeed else None
    changed = stretch(audio[:, begin:end], sample_rate, speed, semitones, quality=quality, varispeed=varispeed,
                      formants=formants)
    return _splice(audio, begin, end, changed)


def trim_silences(audio: np.ndarray, threshold_dbfs: float = -60.0) -> tuple[np.ndarray, int, int]:
    """Drop the leading and trailing frames whose every channel is at or under ``threshold_dbfs``.

    Returns the kept audio and the ``(first, stop)`` range of the input it is; audio that is silent
    throughout gives 0 frames and ``(0, 0)``.
    """
    audio = as_audio(audio)
    if not np.isfinite(threshold_dbfs) or threshold_dbfs > 0:
        raise InvalidInputError(f"must be a finite level at or under 0 dBFS, got {threshold_dbfs}", field="threshold")
    first, stop = edit_kernels.active_range(audio, db_to_gain(threshold_dbfs))
    return np.ascontiguousarray(audio[:, first:stop]), int(first), int(stop)


def loop_crossfade(audio: np.ndarray, begin: int = 0, end: int | None = None, *, length: int,
                   curve: FadeCurve | str = FadeCurve.EQUAL_POWER) -> np.ndarray:
    """Make the region loop without a click: it becomes ``end - begin - length`` frames.

    The region's last ``length`` frames are crossfaded over its first ``length`` (the tail fading out, the
    head fading in), and the tail is removed from the end. The new region starts exactly on the old
    tail's first frame and ends on the frame before the old tail, so playing it in a loop runs from the
    end back into the tail's continuation: no jump at the loop point. ``2 * length`` may be at most the
    region's length.
    """
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    length = _length(length, "length")
    if 2 * length > end - begin:
        raise InvalidInputError(
            f"{length} frames do not fit twice in the {end - begin}-frame region", field="length"
        )
    looped = np.ascontiguousarray(audio[:, begin:end - length])
    edit_kernels.crossfade(audio[:, end - length:end], audio[:, begin:begin + length], FadeCurve(curve).code,
                           looped[:, :length])
    return _splice(audio, begin, end, looped)


def _position(frames: int, position: int) -> int:
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position <= frames:
        raise InvalidInputError(f"must be a frame from 0 to {frames}, got {position!r}", field="position")
    return int(position)


def _matching(audio: np.ndarray, clip: np.ndarray) -> np.ndarray:
    clip = as_audio(clip, field="clipboard")
    if clip.shape[0] != audio.shape[0]:
        raise InvalidInputError(f"the clipboard has {clip.shape[0]} channels, the audio {audio.shape[0]}",
                                field="clipboard")
    return clip


def paste(audio: np.ndarray, position: int, clip: np.ndarray) -> np.ndarray:
    """``clip`` inserted before frame ``position``: ``frames + clip frames`` frames."""
    audio = as_audio(audio)
    position = _position(audio.shape[1], position)
    return _splice(audio, position, position, _matching(audio, clip))


def paste_over(audio: np.ndarray, position: int, clip: np.ndarray) -> np.ndarray:
    """``clip`` written over the audio from frame ``position`` on: ``max(frames, position + clip frames)``
    frames (it runs past the end if it is longer than what is left)."""
    audio = as_audio(audio)
    position = _position(audio.shape[1], position)
    clip = _matching(audio, clip)
    end = min(audio.shape[1], position + clip.shape[1])
    return _splice(audio, position, end, clip)


def equalize(audio: np.ndarray, sample_rate: int, bands: list, begin: int = 0, end: int | None = None, *,
             zero_phase: bool = False) -> np.ndarray:
    """The region through the equaliser ``bands`` (:func:`mixdown.engine.eq.equalize`), in place of itself."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    return _splice(audio, begin, end, eq.equalize(audio[:, begin:end], sample_rate, bands, zero_phase=zero_phase))


def reduce_noise(audio: np.ndarray, sample_rate: int, profile: denoise.NoiseProfile, begin: int = 0,
                 end: int | None = None, **settings: float) -> np.ndarray:
    """The region with the profiled noise gated down (:func:`mixdown.engine.denoise.denoise`)."""
    audio = as_audio(audio)
    begin, end = region(audio.shape[1], begin, end)
    return _splice(audio, begin, end, denoise.denoise(audio[:, begin:end], sample_rate, profile, **settings))
