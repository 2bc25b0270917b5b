"""Objective sound-quality measurements: what the tests assert and the quality benchmarks tabulate.

Each works on mono float audio (one channel of a render) and measures a property a signal was built to
have: a tone's frequency and purity, an envelope's flatness, partial levels, click placement and pre-echo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.signal


def middle_half(signal: np.ndarray) -> np.ndarray:
    n = signal.shape[-1]
    return signal[..., n // 4 : n - n // 4]


@dataclass(frozen=True)
class ToneFit:
    """A least-squares fit of ``amplitude * sin(2 pi frequency t + phase) + offset``."""

    frequency: float
    amplitude: float
    thd_n_db: float

    def cents_from(self, expected_hz: float) -> float:
        return 1200.0 * math.log2(self.frequency / expected_hz)


def fit_tone(signal: np.ndarray, sample_rate: int) -> ToneFit:
    """Fit one sinusoid; THD+N is the power of everything else relative to the fitted tone, in dB."""
    signal = np.asarray(signal, dtype=np.float64)
    n = signal.shape[0]
    window = scipy.signal.windows.blackmanharris(n)
    spectrum = np.abs(np.fft.rfft(signal * window))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-300)
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    guess = (k + offset) * sample_rate / n
    t = np.arange(n) / sample_rate

    def linear_fit(frequency: float) -> tuple[np.ndarray, np.ndarray]:
        basis = np.stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t), np.ones(n)], axis=1)
        coefficients, *_ = np.linalg.lstsq(basis, signal, rcond=None)
        return coefficients, signal - basis @ coefficients

    def residual_power(frequency: float) -> float:
        return float(np.mean(linear_fit(frequency)[1] ** 2))

    # The search runs over the offset from the guess in bins: Brent's tolerance is relative to the variable
    # (sqrt(eps) of it), which over the frequency itself is 1.5e-5 Hz at 1 kHz, a phase error that reads a
    # perfect tone at -89 to -106 dB.
    step = sample_rate / n
    best = scipy.optimize.minimize_scalar(
        lambda bins: residual_power(guess + bins * step), bounds=(-1.0, 1.0), method="bounded",
        options={"xatol": 1e-12},
    )
    frequency = guess + best.x * step
    coefficients, residual = linear_fit(frequency)
    amplitude = float(math.hypot(coefficients[0], coefficients[1]))
    tone_power = amplitude**2 / 2
    thd_n = 10 * math.log10(max(np.mean(residual**2), 1e-30) / tone_power)
    return ToneFit(float(frequency), amplitude, thd_n)


def envelope_ripple_db(signal: np.ndarray, sample_rate: int, window_seconds: float = 0.05) -> float:
    """Max over min of the RMS in consecutive ``window_seconds`` windows, in dB."""
    size = max(1, round(window_seconds * sample_rate))
    count = signal.shape[0] // size
    blocks = np.asarray(signal[: count * size], dtype=np.float64).reshape(count, size)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    return float(20 * math.log10(rms.max() / max(rms.min(), 1e-30)))


def partial_levels_db(signal: np.ndarray, sample_rate: int, frequencies: list[float], tolerance_hz: float = 3.0):
    """Level of each partial: the flat-top-window spectrum peak within ``tolerance_hz``, in dB."""
    signal = np.asarray(signal, dtype=np.float64)
    window = scipy.signal.windows.flattop(signal.shape[0])
    spectrum = np.abs(np.fft.rfft(signal * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(signal.shape[0], 1 / sample_rate)
    levels = []
    for frequency in frequencies:
        near = np.abs(freqs - frequency) <= tolerance_hz
        levels.append(float(20 * math.log10(max(spectrum[near].max(), 1e-30))))
    return levels


@dataclass(frozen=True)
class ClickFigures:
    mean_onset_error_ms: float
    worst_pre_echo_db: float


def click_figures(
    signal: np.ndarray, sample_rate: int, expected: np.ndarray, *, search_ms: float = 20.0, guard_ms: float = 7.0,
    lookback_ms: float = 200.0,
) -> ClickFigures:
    """Onset error and pre-echo of clicks expected at ``expected`` frames.

    The onset is the first sample above half the local peak (within ``search_ms`` of the expected
    position); pre-echo is the largest sample from ``lookback_ms`` up to ``guard_ms`` before the onset,
    relative to that peak.
    """
    magnitude = np.abs(np.asarray(signal, dtype=np.float64))
    search = round(search_ms * sample_rate / 1000)
    guard = round(guard_ms * sample_rate / 1000)
    lookback = round(lookback_ms * sample_rate / 1000)
    errors, echoes = [], []
    for position in np.asarray(expected, dtype=np.int64):
        lo, hi = max(0, position - search), min(magnitude.shape[0], position + search)
        if hi <= lo:
            continue
        local = magnitude[lo:hi]
        peak = local.max()
        if peak <= 0:
            errors.append(math.inf)
            continue
        onset = lo + int(np.argmax(local >= 0.5 * peak))
        errors.append(abs(onset - position) * 1000 / sample_rate)
        before = magnitude[max(0, onset - lookback) : max(0, onset - guard)]
        if before.size:
            echoes.append(20 * math.log10(max(before.max(), 1e-30) / peak))
    return ClickFigures(float(np.mean(errors)), float(max(echoes)) if echoes else -math.inf)


def onset_frames(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onsets (frames) found by librosa's spectral-flux detector: an independent judge of a stretch's
    attacks, not the detector the engine itself uses."""
    import librosa

    return librosa.onset.onset_detect(
        y=np.asarray(signal, dtype=np.float32), sr=sample_rate, hop_length=256, units="samples"
    ).astype(np.int64)


@dataclass(frozen=True)
class OnsetScores:
    precision: float
    recall: float
    f_measure: float
    extra_rate: float
    """Detections matching no reference onset, per reference onset."""


def onset_scores(reference: np.ndarray, estimate: np.ndarray, tolerance: int) -> OnsetScores:
    """Match ``estimate`` onsets one-to-one to ``reference`` onsets within ``tolerance`` frames, in time
    order (each reference takes the earliest unmatched estimate in reach)."""
    reference = np.sort(np.asarray(reference, dtype=np.int64))
    estimate = np.sort(np.asarray(estimate, dtype=np.int64))
    matched, j = 0, 0
    for position in reference:
        while j < estimate.shape[0] and estimate[j] < position - tolerance:
            j += 1
        if j < estimate.shape[0] and estimate[j] <= position + tolerance:
            matched += 1
            j += 1
    precision = matched / estimate.shape[0] if estimate.shape[0] else 1.0
    recall = matched / reference.shape[0] if reference.shape[0] else 1.0
    f_measure = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    extra = (estimate.shape[0] - matched) / max(reference.shape[0], 1)
    return OnsetScores(precision, recall, f_measure, extra)


def pre_hit_level_db(signal: np.ndarray, sample_rate: int, hits: np.ndarray, *, start_ms: float = 60.0,
                     end_ms: float = 20.0) -> float:
    """Mean power (dB) in the span from ``start_ms`` to ``end_ms`` before each hit, pooled over hits."""
    signal = np.asarray(signal, dtype=np.float64)
    start, end = round(start_ms * sample_rate / 1000), round(end_ms * sample_rate / 1000)
    spans = [signal[h - start : h - end] for h in np.asarray(hits, dtype=np.int64) if h - start >= 0]
    power = np.mean(np.concatenate(spans) ** 2) if spans else 0.0
    return 10 * math.log10(max(power, 1e-30))


def mel_lsd_db(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Log-spectral distance (dB) between 128-band mel spectrograms (2048/512, 60 dB floor below the
    reference's peak), the RMS over bands averaged over frames; ``estimate`` is cut or padded to length."""
    import librosa

    reference = np.asarray(reference, dtype=np.float32)
    estimate = np.asarray(estimate, dtype=np.float32)[: reference.shape[-1]]
    estimate = np.pad(estimate, (0, reference.shape[-1] - estimate.shape[-1]))
    spectra = [librosa.feature.melspectrogram(y=x, sr=sample_rate, n_fft=2048, hop_length=512, n_mels=128)
               for x in (reference, estimate)]
    floor = spectra[0].max() * 1e-6
    ref_db, est_db = (10 * np.log10(np.maximum(s, floor)) for s in spectra)
    return float(np.mean(np.sqrt(np.mean((ref_db - est_db) ** 2, axis=0))))
