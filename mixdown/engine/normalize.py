"""Loudness normalization under a true-peak ceiling, and peak normalization.

Both return a new C-contiguous float32 array, never touch their input, and are deterministic: the same
input gives the same bytes on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixdown.engine import loudness_kernels as kernels
from mixdown.engine.audio import as_audio, db_to_gain, gain_to_db
from mixdown.engine.loudness import TRUE_PEAK_PHASES, LoudnessReport, measure_loudness
from mixdown.errors import InvalidInputError

#: How far ahead of a peak the limiter starts to pull the gain down (the attack ramp).
LIMITER_LOOKAHEAD_S = 0.005
#: Time constant of the limiter's exponential release.
LIMITER_RELEASE_S = 0.1
#: The limiter aims this far under the ceiling, so float32 rounding and the interpolation of a gain that
#: is not perfectly flat around a peak do not cost an extra iteration.
LIMITER_MARGIN_DB = 0.02
#: Integrated loudness of the result is within this of the target (the promise is 0.1 LU).
LOUDNESS_TOLERANCE_LU = 0.05
#: Rounds of gain and limiter correction before giving up on a target the ceiling does not allow.
MAX_ITERATIONS = 10

#: Fractional positions per sample interval and taps per position of the limiter's fine interpolator.
FINE_OVERSAMPLING = 8
FINE_TAPS = 48

# The limiter keeps the gain at most each frame's requirement over the fine interpolator's reach, so the
# gain is flat under an isolated peak's interpolation.
_INTERPOLATOR_REACH = FINE_TAPS // 2


def _fine_interpolator() -> np.ndarray:
    """Kaiser-windowed sinc phases for the positions ``k / 8``, ``k = 1..7``, between two samples.

    BS.1770's 4-phase interpolator only looks at ``1/8, 3/8, 5/8, 7/8`` of each interval; a limiter that
    pins those points to the ceiling leaves the peaks between them (and a meter that looks elsewhere, such
    as libebur128's) up to a few tenths of a dB over. The limiter therefore also bounds this finer, flat
    (to about 1e-4 dB up to 0.4 fs) interpolation.
    """
    offsets = np.arange(FINE_TAPS) - (FINE_TAPS // 2 - 1)
    window = np.kaiser(FINE_TAPS * FINE_OVERSAMPLING + 1, 10.0)
    centre = FINE_TAPS * FINE_OVERSAMPLING // 2
    phases = np.empty((FINE_OVERSAMPLING - 1, FINE_TAPS))
    for k in range(1, FINE_OVERSAMPLING):
        position = k / FINE_OVERSAMPLING - offsets
        taps = np.sinc(position) * window[np.rint(centre + position * FINE_OVERSAMPLING).astype(int)]
        phases[k - 1] = taps / taps.sum()
    return phases.astype(np.float32)


_FINE_PHASES = _fine_interpolator()


@dataclass(frozen=True, eq=False)
class NormalizeResult:
    """What :func:`normalize_loudness` did.

    Attributes
    ----------
    audio : np.ndarray
        The normalized audio, float32 ``(channels, frames)``, C-contiguous, a new array.
    gain_db : float
        The static gain applied before any limiting.
    limited : bool
        Whether the true-peak limiter changed the audio; when False, ``audio`` is exactly
        ``input * np.float32(db_to_gain(gain_db))``.
    before, after : LoudnessReport
        The input's and the output's measurements.
    """

    audio: np.ndarray
    gain_db: float
    limited: bool
    before: LoudnessReport
    after: LoudnessReport


def normalize_loudness(
    audio: np.ndarray, sample_rate: int, target_lufs: float, true_peak_dbtp: float = -1.0
) -> NormalizeResult:
    """Bring integrated loudness to ``target_lufs`` without letting the true peak pass ``true_peak_dbtp``.

    A static gain reaches the target. Only if the gained audio's true peak would pass the ceiling does a
    look-ahead limiter run, linked across channels: it reads the true-peak envelope of the 4x interpolated
    input (BS.1770-4 Annex 2, as the meter does), asks each frame for at most ``ceiling / peak``, holds
    that over the look-ahead with a sliding minimum and smooths it with a moving average of the same
    length (which never rises above what any frame asked for), then releases exponentially. Limiting
    lowers the loudness, so gain and limiter are corrected and re-measured until the integrated loudness
    is within :data:`LOUDNESS_TOLERANCE_LU` of the target and the measured true peak is at or under the
    ceiling.

    Parameters
    ----------
    audio : np.ndarray
        ``(channels, frames)`` or mono ``(frames,)``.
    sample_rate : int
        Hz.
    target_lufs : float
        Integrated loudness to reach, -70 to 0 LUFS.
    true_peak_dbtp : float
        True-peak ceiling, -20 to 0 dBTP.

    Returns
    -------
    NormalizeResult

    Raises
    ------
    InvalidInputError
        For a target or ceiling out of range (fields ``target_lufs``, ``true_peak_dbtp``); for audio that
        has no integrated loudness (silent, under the -70 LUFS gate, or shorter than 400 ms) or holds
        non-finite samples (field ``audio``); and (field ``target_lufs``) when the target cannot be
        reached under the ceiling.

    Examples
    --------
    >>> import numpy as np
    >>> rate = 48_000
    >>> quiet = (0.05 * np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate)).astype(np.float32)
    >>> result = normalize_loudness(quiet, rate, -16.0)
    >>> round(result.after.integrated_lufs, 2), result.limited, round(result.gain_db, 2)
    (-16.0, False, 13.71)
    """
    _check_level(target_lufs, -70.0, 0.0, "target_lufs", "LUFS")
    _check_level(true_peak_dbtp, -20.0, 0.0, "true_peak_dbtp", "dBTP")
    samples = as_audio(audio)
    before = measure_loudness(samples, sample_rate)
    gain_db, ceiling = loudness_gain_db(before, target_lufs, true_peak_dbtp)
    target = float(target_lufs)
    out = np.empty_like(samples)
    kernels.scale_into(samples, np.float32(db_to_gain(gain_db)), out)
    after = measure_loudness(out, before.sample_rate)
    if after.true_peak_dbtp <= ceiling:
        return NormalizeResult(out, gain_db, False, before, after)
    return _normalize_limited(samples, before, target, ceiling, gain_db, out)


def normalize_peak(audio: np.ndarray, target_dbfs: float = 0.0) -> tuple[np.ndarray, float]:
    """Scale so the largest sample magnitude is ``target_dbfs``.

    The float32 gain is nudged down by an ulp when rounding would put the peak over the target, so the
    output peak is the target amplitude in float32, or a few ulps under it, never over.

    Parameters
    ----------
    audio : np.ndarray
        ``(channels, frames)`` or mono ``(frames,)``.
    target_dbfs : float
        -100 to 0 dBFS.

    Returns
    -------
    audio : np.ndarray
        New float32 ``(channels, frames)`` array.
    gain_db : float
        The gain applied.

    Raises
    ------
    InvalidInputError
        For a target out of range (field ``target_dbfs``), or silent or non-finite audio (field ``audio``).

    Examples
    --------
    >>> import numpy as np
    >>> out, gain_db = normalize_peak(np.array([0.1, -0.25, 0.2], dtype=np.float32), -6.0)
    >>> round(float(np.abs(out).max()), 4), round(gain_db, 2)
    (0.5012, 6.04)
    """
    samples = as_audio(audio)
    gain = peak_gain(kernels.peak_of(samples), target_dbfs)
    out = np.empty_like(samples)
    kernels.scale_into(samples, gain, out)
    return out, gain_to_db(float(gain))


def peak_gain(peak: float, target_dbfs: float) -> np.float32:
    """The float32 gain :func:`normalize_peak` applies to audio whose largest magnitude is ``peak``.

    Raises
    ------
    InvalidInputError
        For a target out of -100 to 0 dBFS (field ``target_dbfs``) or a peak of 0 (field ``audio``).
    """
    target = _check_level(target_dbfs, -100.0, 0.0, "target_dbfs", "dBFS")
    peak = np.float32(peak)
    if peak == 0.0:
        raise InvalidInputError("audio is silent; it has no peak to normalize", field="audio")
    target_amplitude = np.float32(db_to_gain(target))
    gain = np.float32(float(target_amplitude) / float(peak))
    while peak * gain > target_amplitude:
        gain = np.nextafter(gain, np.float32(0.0))
    return gain


def loudness_gain_db(before: LoudnessReport, target_lufs: float, true_peak_dbtp: float) -> tuple[float, float]:
    """The static gain (dB) :func:`normalize_loudness` starts from and the checked ceiling, for audio that
    measured ``before``.

    Raises
    ------
    InvalidInputError
        As :func:`normalize_loudness` does for a target or ceiling out of range, or audio with no
        integrated loudness.
    """
    target = _check_level(target_lufs, -70.0, 0.0, "target_lufs", "LUFS")
    ceiling = _check_level(true_peak_dbtp, -20.0, 0.0, "true_peak_dbtp", "dBTP")
    if math.isinf(before.integrated_lufs):
        raise InvalidInputError(
            "audio has no integrated loudness to normalize (silent, under the -70 LUFS gate, "
            "or shorter than one 400 ms block)",
            field="audio",
        )
    return target - before.integrated_lufs, ceiling


def _normalize_limited(
    samples: np.ndarray,
    before: LoudnessReport,
    target: float,
    ceiling: float,
    gain_db: float,
    out: np.ndarray,
) -> NormalizeResult:
    """The limiter loop of :func:`normalize_loudness`; ``out`` is reused for every attempt."""
    rate = before.sample_rate
    frames = samples.shape[1]
    envelope = _limiter_envelope(samples)
    lookahead = max(1, round(LIMITER_LOOKAHEAD_S * rate))
    release = -math.expm1(-1.0 / (LIMITER_RELEASE_S * rate))
    held = np.empty(frames, dtype=np.float64)
    smoothed = np.empty(frames, dtype=np.float64)
    curve = np.empty(frames, dtype=np.float64)
    queue = np.empty(frames, dtype=np.int64)
    limit_db = ceiling - LIMITER_MARGIN_DB
    after = before
    for _ in range(MAX_ITERATIONS):
        gain = db_to_gain(gain_db)
        kernels.required_gain(
            envelope,
            db_to_gain(limit_db) / gain,
            lookahead - 1 + _INTERPOLATOR_REACH,
            _INTERPOLATOR_REACH,
            held,
            queue,
        )
        kernels.forward_mean(held, lookahead, smoothed)
        kernels.release(smoothed, release, curve)
        kernels.apply_gain(samples, gain, curve, out)
        after = measure_loudness(out, rate)
        fine_peak = float(_limiter_envelope(out).max())
        over = max(after.true_peak_dbtp, gain_to_db(fine_peak) + LIMITER_MARGIN_DB) - ceiling
        miss = target - after.integrated_lufs
        if over <= 0.0 and abs(miss) <= LOUDNESS_TOLERANCE_LU:
            return NormalizeResult(out, gain_db, True, before, after)
        if over > 0.0:
            limit_db -= over + 0.01
        gain_db += miss
    raise InvalidInputError(
        f"cannot reach {target:g} LUFS under a {ceiling:g} dBTP true-peak ceiling "
        f"(got {after.integrated_lufs:.2f} LUFS at {after.true_peak_dbtp:.2f} dBTP)",
        field="target_lufs",
    )


def _limiter_envelope(samples: np.ndarray) -> np.ndarray:
    """Per frame, the largest magnitude over channels of the sample, of BS.1770's interpolation next to
    it and of the fine interpolation on either side of it."""
    frames = samples.shape[1]
    envelope = np.empty(frames, dtype=np.float32)
    kernels.true_peak_envelope(
        samples, TRUE_PEAK_PHASES, np.empty(frames + kernels.TRUE_PEAK_TAPS - 1, dtype=np.float32), envelope
    )
    fine = np.empty(frames, dtype=np.float32)
    kernels.interval_peaks(samples, _FINE_PHASES, fine)
    np.maximum(envelope, fine, out=envelope)
    np.maximum(envelope[1:], fine[:-1], out=envelope[1:])
    return envelope


def _check_level(value: float, low: float, high: float, field: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"expected a number of {unit}, got {value!r}", field=field)
    number = float(value)
    if not low <= number <= high:
        raise InvalidInputError(f"expected {low:g} to {high:g} {unit}, got {value!r}", field=field)
    return number
