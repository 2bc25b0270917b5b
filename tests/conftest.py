"""Signals the tests synthesize: every property they check is known by construction."""

from __future__ import annotations

import numpy as np
import pytest


def tone(frequency: float, seconds: float, sample_rate: int, *, amplitude: float = 0.5, channels: int = 1,
         phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = amplitude * np.sin(2 * np.pi * frequency * t + phase)
    return np.ascontiguousarray(np.repeat(wave[np.newaxis], channels, axis=0), dtype=np.float32)


def noise(seconds: float, sample_rate: int, *, channels: int = 2, seed: int = 0, amplitude: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal((channels, round(seconds * sample_rate)))).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
