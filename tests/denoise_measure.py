"""Measures of a denoised tone-plus-noise signal, shared by the tests and the benchmark."""

from __future__ import annotations

import math

import numpy as np


def tone_fit(audio: np.ndarray, frequency: float, sample_rate: int) -> tuple[float, float]:
    """``(amplitude, snr_db)`` of the first channel: the least-squares sinusoid at ``frequency`` and the
    ratio of its power to the power of what is left."""
    y = np.asarray(audio, dtype=np.float64)[0]
    t = np.arange(y.shape[0]) / sample_rate
    basis = np.stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t)], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, y, rcond=None)
    fitted = basis @ coefficients
    residual = y - fitted
    return float(math.hypot(*coefficients)), 10 * math.log10(np.mean(fitted ** 2) / np.mean(residual ** 2))


def tone_plus_noise(seconds: float, sample_rate: int, *, frequency: float = 1000.3, amplitude: float = 0.3,
                    noise: float = 0.03, channels: int = 2, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(signal, noise alone)``: a tone in white noise, and 2 s of the same noise to learn from."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    tone = amplitude * np.sin(2 * np.pi * frequency * t)
    mixed = (tone + noise * rng.standard_normal((channels, frames))).astype(np.float32)
    alone = (noise * rng.standard_normal((channels, 2 * sample_rate))).astype(np.float32)
    return mixed, alone
