"""Loudness metering on 60 s of stereo 44.1 kHz: mixdown (every figure) against pyloudnorm (integrated
loudness only) and pyebur128 (every figure), side by side per signal.

Target: mixdown's full report at least 10x faster than pyloudnorm's integrated loudness alone.
Run: ``python -m pytest benchmarks/test_bench_loudness.py --benchmark-only -s``.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from mixdown.engine.loudness import measure_loudness
from tests.ebur128_reference import pyebur128_figures

RATE = 44_100
SECONDS = 60.0
_BEST: dict[str, float] = {}


def _music_like(frames: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    t = np.arange(frames) / RATE
    b, a = signal.butter(2, 3000 / (RATE / 2))
    bed = signal.lfilter(b, a, rng.standard_normal((2, frames)), axis=1)
    chord = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((110.0, 0.0), (164.8, 1.0), (220.0, 2.0)))
    swell = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 0.25 * t))
    return np.ascontiguousarray(0.15 * swell * (bed + 0.3 * chord), dtype=np.float32)


def _noise(frames: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal((2, frames))).astype(np.float32)


@pytest.fixture(scope="module", params=["music-like", "white noise"])
def audio(request):
    measure_loudness(np.zeros((2, RATE), dtype=np.float32), RATE)  # numba compilation or cache load
    frames = round(SECONDS * RATE)
    samples = _music_like(frames) if request.param == "music-like" else _noise(frames)
    return request.param, samples


def _group(kind: str) -> str:
    return f"loudness: {SECONDS:g} s stereo 44.1 kHz, {kind}"


def _record(benchmark, peer_report, kind: str, engine: str) -> float:
    benchmark.group = _group(kind)
    best = peer_report.from_benchmark(benchmark, _group(kind), engine, SECONDS)
    _BEST[f"{kind}/{engine}"] = best
    ours = _BEST.get(f"{kind}/mixdown measure_loudness")
    if ours and engine != "mixdown measure_loudness":
        benchmark.extra_info["mixdown_is_x_faster"] = best / ours
        print(f"\n{_group(kind)}: mixdown is {best / ours:.1f}x faster than {engine}")
    return best


def test_loudness_mixdown(benchmark, audio, peer_report):
    kind, samples = audio
    report = benchmark.pedantic(measure_loudness, args=(samples, RATE), rounds=20, warmup_rounds=2)
    best = _record(benchmark, peer_report, kind, "mixdown measure_loudness")
    print(f"\n{_group(kind)}: mixdown {best * 1e3:.2f} ms, {SECONDS / best:,.0f}x realtime")
    assert math.isfinite(report.integrated_lufs)


def test_loudness_pyloudnorm(benchmark, audio, peer_report):
    kind, samples = audio
    meter = pyloudnorm.Meter(RATE)
    frames_by_channels = samples.T
    value = benchmark.pedantic(meter.integrated_loudness, args=(frames_by_channels,), rounds=5, warmup_rounds=1)
    _record(benchmark, peer_report, kind, "pyloudnorm integrated_loudness (integrated only)")
    assert value == pytest.approx(measure_loudness(samples, RATE).integrated_lufs, abs=0.06)


def test_loudness_pyebur128(benchmark, audio, peer_report):
    kind, samples = audio
    figures = benchmark.pedantic(pyebur128_figures, args=(samples, RATE), rounds=3, warmup_rounds=1)
    _record(benchmark, peer_report, kind, "pyebur128 (every figure)")
    assert figures["integrated_lufs"] == pytest.approx(measure_loudness(samples, RATE).integrated_lufs, abs=1e-6)
