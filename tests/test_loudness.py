"""The BS.1770 / EBU R 128 meter: EBU conformance cases, cross-checks against libebur128 (pyebur128) and
pyloudnorm, and the meter's own contracts. Every signal is synthesized."""

from __future__ import annotations

import json
import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from mixdown.engine.loudness import (
    SHORT_TERM_SUBBLOCKS,
    TRUE_PEAK_PHASES,
    LoudnessReport,
    channel_weights,
    k_weighting_sos,
    loudness_range,
    measure_loudness,
    subblock_bounds,
)
from mixdown.errors import InvalidInputError
from tests.ebur128_reference import pyebur128_figures

# --------------------------------------------------------------------------------------------- signals


def sine_segments(segments: list[tuple[float, float]], sample_rate: int, frequency: float = 1000.0) -> np.ndarray:
    """Stereo sine, both channels equal, one (level dBFS, seconds) after another; '-23 dBFS' is the peak."""
    parts = []
    for level_db, seconds in segments:
        t = np.arange(round(seconds * sample_rate)) / sample_rate
        parts.append(10.0 ** (level_db / 20.0) * np.sin(2 * np.pi * frequency * t))
    wave = np.concatenate(parts)
    return np.ascontiguousarray(np.stack([wave, wave]), dtype=np.float32)


def music_like(seconds: float, sample_rate: int, seed: int = 7) -> np.ndarray:
    """Band-limited stereo: a pink-ish noise bed and a three-note chord under a slow swell."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    b, a = signal.butter(2, 4000 / (sample_rate / 2))
    bed = signal.lfilter(b, a, rng.standard_normal((2, frames)), axis=1)
    chord = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((220.0, 0.0), (277.2, 1.0), (329.6, 2.0)))
    swell = 0.55 + 0.45 * np.sin(2 * np.pi * 0.1 * t)
    return np.ascontiguousarray(0.12 * swell * (bed + 0.3 * chord), dtype=np.float32)


def loudness_steps(sample_rate: int) -> np.ndarray:
    """Noise whose level jumps every few seconds: something for the gates and the range to do."""
    rng = np.random.default_rng(3)
    levels = [-30.0, -18.0, -24.0, -40.0, -20.0, -27.0, -16.0, -33.0]
    parts = [10 ** (db / 20) * rng.standard_normal((2, round(4.0 * sample_rate))) for db in levels]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


@pytest.fixture(scope="module")
def noise_48k() -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal((2, 20 * 48_000))).astype(np.float32)


@pytest.fixture(scope="module")
def chords_44k() -> np.ndarray:
    return music_like(30.0, 44_100)


@pytest.fixture(scope="module")
def steps_48k() -> np.ndarray:
    return loudness_steps(48_000)


# ------------------------------------------------------------------------------------------- reference


def short_term_energies(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Channel-weighted short-term mean squares at every 100 ms, by scipy's filter (an independent path)."""
    weighted = signal.sosfilt(np.array(k_weighting_sos(sample_rate)), audio.astype(np.float64), axis=1) ** 2
    bounds = subblock_bounds(sample_rate, audio.shape[1])
    power = np.add.reduceat(weighted[:, : bounds[-1]], bounds[:-1], axis=1)
    per_block = channel_weights(audio.shape[0]) @ power
    windows = np.lib.stride_tricks.sliding_window_view(per_block, SHORT_TERM_SUBBLOCKS).sum(axis=1)
    lengths = np.lib.stride_tricks.sliding_window_view(np.diff(bounds), SHORT_TERM_SUBBLOCKS).sum(axis=1)
    return windows / lengths


# ---------------------------------------------------------------------------------------- K-weighting


def test_k_weighting_matches_bs1770_at_48k():
    published = np.array(
        [
            [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(k_weighting_sos(48_000), published, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("rate", "tolerance_db"), [(22_050, 0.08), (32_000, 0.03), (44_100, 0.006), (96_000, 0.03), (192_000, 0.04)]
)
def test_k_weighting_response_at_other_rates_stays_near_48k(rate, tolerance_db):
    # Measured spread of the rate-by-rate derivation against the 48 kHz filter, 20 Hz to 0.4 fs.
    frequencies = np.array([20.0, 100.0, 1000.0, 2000.0, 3900.0, 8000.0])
    frequencies = frequencies[frequencies < 0.4 * rate]
    _, at_48k = signal.sosfreqz(k_weighting_sos(48_000), worN=frequencies, fs=48_000)
    _, here = signal.sosfreqz(k_weighting_sos(rate), worN=frequencies, fs=rate)
    np.testing.assert_allclose(20 * np.log10(np.abs(here)), 20 * np.log10(np.abs(at_48k)), atol=tolerance_db)


# -------------------------------------------------------------------------------------- EBU Tech 3341

TECH_3341 = {
    1: ([(-23.0, 20.0)], -23.0),
    2: ([(-33.0, 20.0)], -33.0),
    3: ([(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
    4: ([(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),
    5: ([(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),
}


@pytest.mark.parametrize("case", sorted(TECH_3341))
def test_tech_3341_integrated(case):
    segments, expected = TECH_3341[case]
    report = measure_loudness(sine_segments(segments, 48_000), 48_000)
    assert report.integrated_lufs == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize(("case", "rate"), [(1, 48_000), (2, 48_000), (1, 44_100)])
def test_tech_3341_momentary_and_short_term(case, rate):
    segments, expected = TECH_3341[case]
    report = measure_loudness(sine_segments(segments, rate), rate)
    assert report.integrated_lufs == pytest.approx(expected, abs=0.1)
    assert report.momentary_max_lufs == pytest.approx(expected, abs=0.1)
    assert report.short_term_max_lufs == pytest.approx(expected, abs=0.1)


# -------------------------------------------------------------------------------------- EBU Tech 3342

TECH_3342 = {
    1: ([(-20.0, 20.0), (-30.0, 20.0)], 10.0),
    2: ([(-20.0, 20.0), (-15.0, 20.0)], 5.0),
    3: ([(-40.0, 20.0), (-20.0, 20.0)], 20.0),
    4: ([(-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)], 15.0),
}


@pytest.mark.parametrize("case", sorted(TECH_3342))
def test_tech_3342_loudness_range(case):
    segments, expected = TECH_3342[case]
    report = measure_loudness(sine_segments(segments, 48_000), 48_000)
    assert report.loudness_range_lu == pytest.approx(expected, abs=1.0)


# -------------------------------------------------------------------------------------------- true peak


@pytest.mark.parametrize("rate", [44_100, 48_000])
def test_true_peak_of_quarter_rate_sine_between_samples(rate):
    # Every sample of a sine at fs/4 with a 45 degree offset sits at 0.707 of its peak: the true peak reads
    # 3.01 dB over the sample peak (the 4x interpolator's grid and ripple allow +0.2 / -0.4 dB).
    t = np.arange(rate) / rate
    wave = 0.5 * np.sin(2 * np.pi * (rate / 4) * t + np.pi / 4)
    report = measure_loudness(np.stack([wave, wave]), rate)
    assert report.true_peak_dbtp - report.sample_peak_dbfs == pytest.approx(3.01, abs=0.4)
    assert -0.4 <= report.true_peak_dbtp - 20 * math.log10(0.5) <= 0.2


def brute_force_true_peak(audio: np.ndarray) -> float:
    taps = TRUE_PEAK_PHASES.astype(np.float64)
    peak = float(np.abs(audio).max())
    for channel in audio.astype(np.float64):
        for phase in taps:
            peak = max(peak, float(np.abs(np.convolve(channel, phase)).max()))
    return peak


@pytest.mark.parametrize(("seed", "where"), [(0, "random"), (1, "random"), (2, "first"), (3, "last"), (4, "last")])
def test_true_peak_block_skipping_is_exact(seed, where):
    # Against every output of the full convolution, including the ringing into the silence on both sides.
    rng = np.random.default_rng(seed)
    frames = int(rng.integers(20, 9000))
    audio = (rng.standard_normal((2, frames)) * np.exp(rng.uniform(-4, 0, (2, 1)))).astype(np.float32)
    loud = {"first": 0, "last": frames - 1, "random": int(rng.integers(0, frames))}[where]
    audio[:, loud - 1 : loud + 1] = [[3.0, -3.0]] * 2 if loud > 0 else audio[:, loud - 1 : loud + 1]
    audio[:, loud] *= 6
    expected = brute_force_true_peak(audio)
    assert 10 ** (measure_loudness(audio, 44_100).true_peak_dbtp / 20) == pytest.approx(expected, rel=2e-6)


# ------------------------------------------------------------------------------------- cross-checks


@pytest.mark.parametrize("name", ["noise_48k", "chords_44k", "steps_48k"])
def test_agrees_with_libebur128(name, request):
    audio = request.getfixturevalue(name)
    rate = 44_100 if name.endswith("44k") else 48_000
    ours = measure_loudness(audio, rate)
    theirs = pyebur128_figures(audio, rate)
    # Same filter derivation, blocks and gates: the loudness figures agree to rounding.
    assert ours.integrated_lufs == pytest.approx(theirs["integrated_lufs"], abs=1e-6)
    assert ours.momentary_max_lufs == pytest.approx(theirs["momentary_max_lufs"], abs=1e-6)
    assert ours.short_term_max_lufs == pytest.approx(theirs["short_term_max_lufs"], abs=1e-6)
    # libebur128 keeps one short-term value per second for the range, this meter ten (see measure_loudness):
    # on steady noise that does not matter; on half a minute of changing levels the two pick different
    # percentiles from 30 against 300 values (by 2-3 LU here), so those are compared on libebur128's own
    # hop in test_loudness_range_matches_libebur128_on_its_hop.
    if name == "noise_48k":
        assert ours.loudness_range_lu == pytest.approx(theirs["loudness_range_lu"], abs=0.05)
    # Different 4x interpolators (BS.1770's 48 taps on a grid offset by 1/8 sample, libebur128's 49-tap
    # Hann sinc on the sample grid): measured within 0.09 dB of each other on these signals.
    assert ours.true_peak_dbtp == pytest.approx(theirs["true_peak_dbtp"], abs=0.1)


@pytest.mark.parametrize("name", ["chords_44k", "steps_48k"])
def test_loudness_range_matches_libebur128_on_its_hop(name, request):
    audio = request.getfixturevalue(name)
    rate = 44_100 if name.endswith("44k") else 48_000
    energies = short_term_energies(audio, rate)
    once_a_second = energies[::10]
    assert loudness_range(once_a_second) == pytest.approx(pyebur128_figures(audio, rate)["loudness_range_lu"], abs=0.01)
    assert measure_loudness(audio, rate).loudness_range_lu == pytest.approx(loudness_range(energies), abs=1e-9)


@pytest.mark.parametrize("name", ["noise_48k", "chords_44k", "steps_48k"])
def test_integrated_agrees_with_pyloudnorm(name, request):
    audio = request.getfixturevalue(name)
    rate = 44_100 if name.endswith("44k") else 48_000
    theirs = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
    # pyloudnorm designs its K-weighting differently; at 48 kHz the two agree to a few thousandths of an LU,
    # at 44.1 kHz its shelf drifts a little on content with a lot of treble.
    assert measure_loudness(audio, rate).integrated_lufs == pytest.approx(theirs, abs=0.05)


# ---------------------------------------------------------------------------------- meter contracts


def test_report_to_dict_is_json_with_none_for_missing_figures():
    report = measure_loudness(np.zeros((2, 48_000), dtype=np.float32), 48_000)
    data = report.to_dict()
    assert list(data) == [
        "integrated_lufs",
        "momentary_max_lufs",
        "short_term_max_lufs",
        "loudness_range_lu",
        "true_peak_dbtp",
        "sample_peak_dbfs",
        "sample_rate",
        "channels",
        "frames",
    ]
    assert {key for key, value in data.items() if value is None} == set(list(data)[:6])
    assert json.loads(json.dumps(data)) == data
    assert isinstance(report, LoudnessReport)


def test_too_short_for_each_window():
    audio = sine_segments([(-20.0, 0.35)], 48_000)
    report = measure_loudness(audio, 48_000)
    assert math.isinf(report.integrated_lufs) and math.isinf(report.momentary_max_lufs)
    assert math.isinf(report.short_term_max_lufs) and math.isinf(report.loudness_range_lu)
    assert report.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    two_seconds = measure_loudness(sine_segments([(-20.0, 2.0)], 48_000), 48_000)
    assert two_seconds.integrated_lufs == pytest.approx(-20.0, abs=0.05)
    assert math.isinf(two_seconds.short_term_max_lufs)


def test_mono_input_and_channel_layouts():
    mono = sine_segments([(-20.0, 3.0)], 48_000)[0]
    report = measure_loudness(mono, 48_000)
    assert report.channels == 1
    assert report.integrated_lufs == pytest.approx(-23.01, abs=0.05)  # one channel: 3 dB under stereo
    six = np.zeros((6, mono.shape[0]), dtype=np.float32)
    six[3] = mono  # LFE: weight 0
    assert math.isinf(measure_loudness(six, 48_000).integrated_lufs)
    six[4] = mono  # left surround: weight 1.41
    assert measure_loudness(six, 48_000).integrated_lufs == pytest.approx(-23.01 + 10 * math.log10(1.41), abs=0.05)


def test_odd_sample_rate_keeps_the_100_ms_grid():
    bounds = subblock_bounds(44_101, 44_101 * 2)
    assert bounds[-1] == 88_202 and len(bounds) == 21
    assert set(np.diff(bounds)) == {4410, 4411}
    report = measure_loudness(sine_segments([(-23.0, 5.0)], 44_101), 44_101)
    assert report.integrated_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_rejected(bad):
    audio = np.zeros((2, 10_000), dtype=np.float32)
    audio[1, 7_777] = bad
    with pytest.raises(InvalidInputError) as error:
        measure_loudness(audio, 48_000)
    assert error.value.field == "audio"


@pytest.mark.parametrize("rate", [0, 4_000, 44_100.5, "48000", True])
def test_bad_sample_rates_are_rejected(rate):
    with pytest.raises(InvalidInputError) as error:
        measure_loudness(np.zeros((2, 100), dtype=np.float32), rate)
    assert error.value.field == "sample_rate"


def test_input_is_not_modified_and_float64_is_accepted(chords_44k):
    before = chords_44k.copy()
    as_float32 = measure_loudness(chords_44k, 44_100)
    as_float64 = measure_loudness(chords_44k.astype(np.float64), 44_100)
    np.testing.assert_array_equal(chords_44k, before)
    assert as_float32 == as_float64
