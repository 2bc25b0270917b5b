"""Test signals of known properties for the stretch benchmarks."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44_100
CHORD_HZ = (220.0, 554.37, 1318.5)


def sine(seconds: float = 4.0, hz: float = 1000.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)[np.newaxis]


def chord(seconds: float = 4.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (0.2 * sum(np.sin(2 * np.pi * f * t) for f in CHORD_HZ)).astype(np.float32)[np.newaxis]


def click_train(seconds: float = 6.0, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    audio = np.zeros((1, round(seconds * sr)), dtype=np.float32)
    positions = np.arange(sr // 4, audio.shape[1], sr // 2)
    audio[0, positions] = 1.0
    return audio, positions


def music_like(seconds: float = 60.0, sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """Stereo chords changing every 2 s, a noise bed, and decaying clicks every half second."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    out = np.zeros((2, n))
    roots = (220.0, 261.63, 196.0, 174.61)
    for i, start in enumerate(range(0, n, 2 * sr)):
        span = slice(start, min(n, start + 2 * sr))
        local = t[span] - t[start]
        for ratio in (1.0, 1.25, 1.5, 2.0):
            f = roots[i % 4] * ratio
            out[0, span] += 0.08 * np.sin(2 * np.pi * f * local)
            out[1, span] += 0.08 * np.sin(2 * np.pi * f * 1.002 * local + 1.0)
    out += 0.02 * rng.standard_normal((2, n))
    click = 0.8 * np.exp(-np.arange(200) / 30)
    for start in range(0, n - 200, sr // 2):
        out[:, start : start + 200] += click
    return out.astype(np.float32)
