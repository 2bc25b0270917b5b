"""Loudness normalization under a true-peak ceiling, and peak normalization. Signals are synthesized."""

from __future__ import annotations

import math

import numpy as np
import pyebur128
import pytest
from scipy import signal

from mixdown.engine.audio import db_to_gain
from mixdown.engine.loudness import measure_loudness
from mixdown.engine.normalize import NormalizeResult, normalize_loudness, normalize_peak
from mixdown.errors import InvalidInputError

RATE = 48_000


def chord(seconds: float, sample_rate: int = RATE, level: float = 0.05) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    left = sum(np.sin(2 * np.pi * f * t) for f in (196.0, 246.9, 293.7))
    right = sum(np.sin(2 * np.pi * f * t + 0.5) for f in (196.0, 246.9, 293.7))
    return np.ascontiguousarray(level * np.stack([left, right]), dtype=np.float32)


def drums(seconds: float, sample_rate: int = RATE, cutoff_hz: float = 12_000.0) -> np.ndarray:
    """Decaying noise hits twice a second over a bass line: a high crest factor that needs limiting."""
    rng = np.random.default_rng(11)
    frames = round(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    hits = np.exp(-(t % 0.5) * 25.0) * rng.standard_normal((2, frames))
    b, a = signal.butter(4, cutoff_hz / (sample_rate / 2))
    hits = signal.lfilter(b, a, hits, axis=1)
    bass = 0.15 * np.sin(2 * np.pi * 55.0 * t)
    return np.ascontiguousarray(0.3 * hits + bass, dtype=np.float32)


def pyebur128_integrated_and_true_peak(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    state = pyebur128.R128State(audio.shape[0], sample_rate, mode)
    state.add_frames(np.ascontiguousarray(audio.T).reshape(-1), audio.shape[1])
    peak = max(pyebur128.get_true_peak(state, c) for c in range(audio.shape[0]))
    return pyebur128.get_loudness_global(state), 20 * math.log10(peak)


@pytest.fixture(scope="module")
def quiet_chord() -> np.ndarray:
    return chord(8.0)


@pytest.fixture(scope="module")
def drum_loop() -> np.ndarray:
    return drums(12.0)


@pytest.fixture(scope="module")
def limited(drum_loop) -> NormalizeResult:
    return normalize_loudness(drum_loop, RATE, -12.0, -1.0)


# ------------------------------------------------------------------------------------ loudness target


def test_headroom_means_a_plain_gain(quiet_chord):
    result = normalize_loudness(quiet_chord, RATE, -16.0, -1.0)
    assert not result.limited
    assert result.gain_db == pytest.approx(-16.0 - result.before.integrated_lufs)
    np.testing.assert_array_equal(result.audio, quiet_chord * np.float32(db_to_gain(result.gain_db)))
    assert result.after.integrated_lufs == pytest.approx(-16.0, abs=1e-3)
    assert result.after.true_peak_dbtp <= -1.0


def test_limiter_holds_the_ceiling_and_reaches_the_target(limited, drum_loop):
    plain_peak = measure_loudness(drum_loop, RATE).true_peak_dbtp + limited.gain_db
    assert plain_peak > 2.0, "the test signal should need several dB of limiting"
    assert limited.limited
    assert limited.after.integrated_lufs == pytest.approx(-12.0, abs=0.1)
    assert limited.after.true_peak_dbtp <= -1.0
    again = measure_loudness(limited.audio, RATE)
    assert again == limited.after


def test_limited_output_passes_libebur128(limited):
    integrated, true_peak = pyebur128_integrated_and_true_peak(limited.audio, RATE)
    assert integrated == pytest.approx(-12.0, abs=0.1)
    assert true_peak <= -1.0


@pytest.mark.parametrize(("target", "ceiling", "rate"), [(-14.0, -1.0, 44_100), (-10.0, -2.0, 48_000)])
def test_other_targets_and_rates(target, ceiling, rate):
    audio = drums(6.0, rate, cutoff_hz=10_000.0)
    result = normalize_loudness(audio, rate, target, ceiling)
    assert result.limited
    assert result.after.integrated_lufs == pytest.approx(target, abs=0.1)
    assert result.after.true_peak_dbtp <= ceiling
    integrated, true_peak = pyebur128_integrated_and_true_peak(result.audio, rate)
    assert integrated == pytest.approx(target, abs=0.1)
    assert true_peak <= ceiling


def test_deterministic_new_array_input_untouched(drum_loop, limited):
    before = drum_loop.copy()
    again = normalize_loudness(drum_loop, RATE, -12.0, -1.0)
    assert again.audio.tobytes() == limited.audio.tobytes()
    assert again.gain_db == limited.gain_db
    np.testing.assert_array_equal(drum_loop, before)
    for result in (again, normalize_loudness(drum_loop, RATE, -30.0, -1.0)):
        assert result.audio.dtype == np.float32 and result.audio.flags.c_contiguous
        assert not np.shares_memory(result.audio, drum_loop)


def test_mono_and_float64_input(quiet_chord):
    mono = quiet_chord[0].astype(np.float64)
    result = normalize_loudness(mono, RATE, -20.0)
    assert result.audio.shape == (1, mono.shape[0])
    assert result.after.integrated_lufs == pytest.approx(-20.0, abs=1e-3)


def test_unreachable_target_is_an_error(drum_loop):
    with pytest.raises(InvalidInputError) as error:
        normalize_loudness(drum_loop, RATE, 0.0, -20.0)
    assert error.value.field == "target_lufs"


@pytest.mark.parametrize("target", [-70.5, 0.5, math.nan, math.inf, "loud", True, None])
def test_target_out_of_range(quiet_chord, target):
    with pytest.raises(InvalidInputError) as error:
        normalize_loudness(quiet_chord, RATE, target)
    assert error.value.field == "target_lufs"


@pytest.mark.parametrize("ceiling", [-20.5, 0.1, math.nan, "-1"])
def test_ceiling_out_of_range(quiet_chord, ceiling):
    with pytest.raises(InvalidInputError) as error:
        normalize_loudness(quiet_chord, RATE, -23.0, ceiling)
    assert error.value.field == "true_peak_dbtp"


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros((2, RATE), dtype=np.float32),
        chord(0.3),  # shorter than one 400 ms gating block
        chord(2.0, level=10 ** (-80 / 20)),  # under the -70 LUFS gate
    ],
    ids=["silent", "too-short", "under-gate"],
)
def test_no_integrated_loudness_is_an_error(audio):
    with pytest.raises(InvalidInputError) as error:
        normalize_loudness(audio, RATE, -23.0)
    assert error.value.field == "audio"
    assert "no integrated loudness" in str(error.value)


def test_non_finite_input_is_an_error(quiet_chord):
    audio = quiet_chord.copy()
    audio[0, 5] = np.nan
    with pytest.raises(InvalidInputError) as error:
        normalize_loudness(audio, RATE, -23.0)
    assert error.value.field == "audio"


# --------------------------------------------------------------------------------------- peak normalize


@pytest.mark.parametrize("target", [0.0, -0.1, -1.0, -6.0, -37.5, -100.0])
def test_peak_normalize_lands_on_the_target(quiet_chord, target):
    out, gain_db = normalize_peak(quiet_chord, target)
    amplitude = np.float32(db_to_gain(target))
    peak = np.abs(out).max()
    assert peak <= amplitude
    assert (amplitude - peak) <= 4 * np.spacing(amplitude)
    assert gain_db == pytest.approx(target - 20 * math.log10(float(np.abs(quiet_chord).max())), abs=1e-5)
    np.testing.assert_array_equal(out, quiet_chord * np.float32(db_to_gain(gain_db)))


def test_peak_normalize_contracts(quiet_chord):
    before = quiet_chord.copy()
    first, _ = normalize_peak(quiet_chord, -3.0)
    second, _ = normalize_peak(quiet_chord, -3.0)
    assert first.tobytes() == second.tobytes()
    np.testing.assert_array_equal(quiet_chord, before)
    assert first.dtype == np.float32 and first.flags.c_contiguous
    assert not np.shares_memory(first, quiet_chord)
    mono, _ = normalize_peak(quiet_chord[1].astype(np.float64))
    assert mono.shape == (1, quiet_chord.shape[1])


def test_peak_normalize_errors(quiet_chord):
    with pytest.raises(InvalidInputError) as error:
        normalize_peak(np.zeros((2, 100), dtype=np.float32))
    assert error.value.field == "audio"
    for target in (0.01, -100.5, math.nan, "0"):
        with pytest.raises(InvalidInputError) as error:
            normalize_peak(quiet_chord, target)
        assert error.value.field == "target_dbfs"
    bad = quiet_chord.copy()
    bad[1, 0] = np.inf
    with pytest.raises(InvalidInputError) as error:
        normalize_peak(bad)
    assert error.value.field == "audio"
