"""Parametric and graphic equalisers: Robert Bristow-Johnson's "Audio EQ Cookbook" biquads run as a
cascade of second-order sections (:func:`~mixdown.engine.filter_kernels.sos_filter`).

A :class:`Band` is one filter: ``peak``, ``low-shelf``, ``high-shelf``, ``low-pass``, ``high-pass`` or
``notch`` at ``frequency`` Hz with ``gain_db`` (peaks and shelves) and ``q``. :func:`graphic_bands`
turns a list of 10 (octave) or 31 (third-octave) gains into peak bands at the ISO 266 centre
frequencies. :func:`equalize` applies bands to audio; the output has exactly the input's length.

``zero_phase`` runs the cascade forwards and then backwards (no delay, no phase change, offline only).
Each peak and shelf is then designed with half its gain in dB, so that the two passes together reach
the requested gain; pass and notch filters act twice (a low-pass corner is at -6 dB, its slope 24 dB
per octave), as ``filtfilt`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.filter_kernels import sos_filter
from mixdown.errors import InvalidInputError

BAND_TYPES = ("peak", "low-shelf", "high-shelf", "low-pass", "high-pass", "notch")

#: ISO 266 preferred centre frequencies of the graphic equaliser's bands.
OCTAVE_BANDS = (31.5, 63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)
THIRD_OCTAVE_BANDS = (20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0,
                      500.0, 630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0,
                      8000.0, 10000.0, 12500.0, 16000.0, 20000.0)


def _bandwidth_q(octaves: float) -> float:
    """The Q of a peak whose bandwidth is ``octaves`` (the cookbook's relation)."""
    return math.sqrt(2.0 ** octaves) / (2.0 ** octaves - 1.0)


#: Q of a graphic band: one octave, one third of an octave (neighbouring bands meet at their edges).
OCTAVE_Q = _bandwidth_q(1.0)
THIRD_OCTAVE_Q = _bandwidth_q(1.0 / 3.0)

#: Gain steps at or under this many dB are skipped (a peak or shelf of 0 dB is the identity).
FLAT_DB = 1e-9


@dataclass(frozen=True)
class Band:
    """One cookbook filter. ``q`` defaults to 1/sqrt(2) (Butterworth for the pass filters, the cookbook's
    shelf slope S = 1)."""

    type: str
    frequency: float
    gain_db: float = 0.0
    q: float = 1.0 / math.sqrt(2.0)


def graphic_bands(gains_db: list[float] | tuple[float, ...], sample_rate: int | None = None) -> list[Band]:
    """Peak bands of a graphic equaliser: 10 gains for the octave bands 31.5 Hz..16 kHz, or 31 for the
    third-octave bands 20 Hz..20 kHz. With ``sample_rate``, the bands at or above its Nyquist frequency
    (which audio at that rate does not have) are left out."""
    if len(gains_db) == len(OCTAVE_BANDS):
        centres, q = OCTAVE_BANDS, OCTAVE_Q
    elif len(gains_db) == len(THIRD_OCTAVE_BANDS):
        centres, q = THIRD_OCTAVE_BANDS, THIRD_OCTAVE_Q
    else:
        raise InvalidInputError(f"a graphic equaliser has 10 or 31 bands, got {len(gains_db)} gains", field="graphic")
    return [Band("peak", centre, float(gain), q) for centre, gain in zip(centres, gains_db, strict=True)
            if sample_rate is None or centre < sample_rate / 2]


def _check(band: Band, sample_rate: int, index: int) -> None:
    where = f"bands[{index}]"
    if band.type not in BAND_TYPES:
        raise InvalidInputError(f"type must be one of {', '.join(BAND_TYPES)}, got {band.type!r}",
                                field=f"{where}.type")
    if not (math.isfinite(band.frequency) and 0 < band.frequency < sample_rate / 2):
        raise InvalidInputError(f"frequency must be above 0 and under the Nyquist frequency ({sample_rate / 2:g} Hz), "
                                f"got {band.frequency:g}", field=f"{where}.frequency")
    if not (math.isfinite(band.gain_db) and -60.0 <= band.gain_db <= 60.0):
        raise InvalidInputError(f"gain_db must be from -60 to 60, got {band.gain_db:g}", field=f"{where}.gain_db")
    if not (math.isfinite(band.q) and 0.01 <= band.q <= 100.0):
        raise InvalidInputError(f"q must be from 0.01 to 100, got {band.q:g}", field=f"{where}.q")


def biquad(band: Band, sample_rate: int) -> np.ndarray:
    """The cookbook coefficients of ``band`` as one normalised section ``[b0, b1, b2, 1, a1, a2]``."""
    w0 = 2.0 * math.pi * band.frequency / sample_rate
    cos_w0, alpha = math.cos(w0), math.sin(w0) / (2.0 * band.q)
    a = 10.0 ** (band.gain_db / 40.0)
    kind = band.type
    if kind == "peak":
        b = (1 + alpha * a, -2 * cos_w0, 1 - alpha * a)
        den = (1 + alpha / a, -2 * cos_w0, 1 - alpha / a)
    elif kind in ("low-shelf", "high-shelf"):
        root = 2.0 * math.sqrt(a) * alpha
        sign = 1.0 if kind == "low-shelf" else -1.0
        b = (a * ((a + 1) - sign * (a - 1) * cos_w0 + root), sign * 2 * a * ((a - 1) - sign * (a + 1) * cos_w0),
             a * ((a + 1) - sign * (a - 1) * cos_w0 - root))
        den = ((a + 1) + sign * (a - 1) * cos_w0 + root, -sign * 2 * ((a - 1) + sign * (a + 1) * cos_w0),
               (a + 1) + sign * (a - 1) * cos_w0 - root)
    elif kind == "low-pass":
        b = ((1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2)
        den = (1 + alpha, -2 * cos_w0, 1 - alpha)
    elif kind == "high-pass":
        b = ((1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2)
        den = (1 + alpha, -2 * cos_w0, 1 - alpha)
    else:  # notch
        b = (1.0, -2 * cos_w0, 1.0)
        den = (1 + alpha, -2 * cos_w0, 1 - alpha)
    return np.array([*b, *den], dtype=np.float64) / den[0]


def design(bands: list[Band], sample_rate: int, *, zero_phase: bool = False) -> np.ndarray:
    """The ``(sections, 6)`` cascade of ``bands`` (flat peaks and shelves left out); with ``zero_phase``
    the peaks and shelves carry half their gain, for the two passes of :func:`equalize`."""
    sample_rate = check_sample_rate(sample_rate)
    sections = []
    for index, band in enumerate(bands):
        _check(band, sample_rate, index)
        if band.type in ("peak", "low-shelf", "high-shelf"):
            if abs(band.gain_db) <= FLAT_DB:
                continue
            if zero_phase:
                band = Band(band.type, band.frequency, band.gain_db / 2.0, band.q)
        sections.append(biquad(band, sample_rate))
    return np.array(sections, dtype=np.float64).reshape(len(sections), 6)


def _pad_length(sos: np.ndarray, frames: int) -> int:
    """Odd-extension padding for the zero-phase passes: long enough for the slowest pole to decay 60 dB
    (at most the audio's length less one, at least what ``sosfiltfilt`` uses)."""
    poles = np.abs(np.concatenate([np.roots([1.0, a1, a2]) for a1, a2 in sos[:, 4:6]]))
    slowest = float(poles.max(initial=0.0))
    settle = 3 * (2 * len(sos) + 1)
    if 0 < slowest < 1:
        settle = max(settle, math.ceil(math.log(1e-3) / math.log(slowest)))
    return min(frames - 1, settle)


def _initial_state(sos: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per channel, the state of a cascade that has seen ``first[c]`` forever (no start-up transient)."""
    zi = signal.sosfilt_zi(sos)
    return np.ascontiguousarray(first.astype(np.float64)[:, None, None] * zi[None, :, :])


def equalize(audio: np.ndarray, sample_rate: int, bands: list[Band], *, zero_phase: bool = False) -> np.ndarray:
    """``audio`` through ``bands`` (a new float32 array of the same shape).

    The causal filter starts from the state of a cascade that has heard the first sample forever, so a
    DC offset does not thump at the start. With ``zero_phase`` the audio is extended at both ends by its
    odd reflection, filtered forwards and backwards, and cut back to its exact length.
    """
    audio = as_audio(audio)
    sos = design(bands, sample_rate, zero_phase=zero_phase)
    if not len(sos) or not audio.shape[1]:
        return audio.copy()
    if not zero_phase:
        out = audio.copy()
        sos_filter(out, sos, _initial_state(sos, audio[:, 0]), False)
        return out
    frames = audio.shape[1]
    pad = _pad_length(sos, frames)
    head = 2 * audio[:, :1] - audio[:, pad:0:-1]
    tail = 2 * audio[:, -1:] - audio[:, -2:-2 - pad:-1]
    work = np.ascontiguousarray(np.concatenate([head, audio, tail], axis=1), dtype=np.float32)
    sos_filter(work, sos, _initial_state(sos, work[:, 0]), False)
    sos_filter(work, sos, _initial_state(sos, work[:, -1]), True)
    return np.ascontiguousarray(work[:, pad:pad + frames])
