"""Tempo detection in the engine: grooves of known tempo answer it, one-shots answer "no tempo".

Every signal is built by ``tests.tempo_signals`` from its tempo. The larger set, with peers side by side,
is in ``benchmarks/test_bench_tempo.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixdown.engine.tempo import MIN_CONFIDENCE, TempoEstimate, detect_bpm
from mixdown.errors import InvalidInputError
from tests.tempo_signals import ONE_SHOTS, gain_steps, groove, lead_in, mp3_round_trip, one_shot, with_reverb

SR = 44_100


def _within(estimate: TempoEstimate, tempo: float, tolerance: float = 0.5) -> bool:
    return estimate.bpm is not None and abs(estimate.bpm - tempo) <= tolerance


# --- loops: the bar-length hypothesis -------------------------------------------------------------------


@pytest.mark.parametrize(("style", "tempo", "bars", "rate", "variant"), [
    ("rock", 87.5, 1, 44_100, 0), ("house", 128.0, 2, 48_000, 1), ("hiphop", 95.0, 4, 44_100, 1),
    ("twostep", 140.0, 8, 48_000, 0), ("keys", 174.0, 2, 44_100, 0), ("stabs", 110.0, 4, 48_000, 0),
    ("rock", 180.0, 1, 44_100, 0), ("house", 70.0, 1, 44_100, 0),
])
def test_loop_tempo_comes_from_its_length(style, tempo, bars, rate, variant):
    estimate = detect_bpm(groove(style, tempo, bars, rate, variant=variant, seed=bars), rate)
    assert _within(estimate, tempo, 0.01)
    assert estimate.method == "loop-length" and estimate.bars == bars
    assert estimate.evidence.bar_hypothesis.bars == bars
    assert estimate.confidence >= 0.5


def test_silent_lead_in_is_trimmed_before_the_length_counts():
    estimate = detect_bpm(lead_in(groove("hiphop", 96.0, 2, SR), SR, 0.3), SR)
    assert _within(estimate, 96.0, 0.01) and estimate.bars == 2
    assert estimate.evidence.start == pytest.approx(0.3, abs=0.001)
    # Silence after it too: the loop's end is then unknown, its tempo measured.
    assert _within(detect_bpm(lead_in(groove("hiphop", 96.0, 2, SR), SR, 0.3, tail=0.5), SR), 96.0)


def test_mp3_round_trip_without_gapless_header():
    """LAME's encoder delay before the loop and its padding after: the attack and the sound's end count."""
    estimate = detect_bpm(mp3_round_trip(groove("rock", 120.0, 4, SR), SR), SR)
    assert _within(estimate, 120.0)


@pytest.mark.parametrize(("style", "tempo"), [("rock", 100.0), ("hiphop", 135.0)])
def test_gain_steps_and_a_noise_floor(style, tempo):
    audio = gain_steps(groove(style, tempo, 4, SR, noise_db=-30.0, jitter_ms=4.0, velocity_db=2.0, seed=2),
                       (-9.0, 0.0, -4.0))
    assert _within(detect_bpm(audio, SR), tempo)


@pytest.mark.parametrize(("style", "tempo", "swing"), [("rock", 90.0, 1 / 6), ("twostep", 128.0, 0.1)])
def test_swing(style, tempo, swing):
    assert _within(detect_bpm(groove(style, tempo, 4, SR, swing=swing), SR), tempo)


@pytest.mark.parametrize(("style", "tempo"), [("halftime", 75.0), ("halftime16", 86.0), ("halftime", 80.0)])
def test_half_time_is_not_read_at_double_time(style, tempo):
    """Snare on beat 3: at twice the tempo it would fall on a downbeat, which no backbeat does."""
    estimate = detect_bpm(groove(style, tempo, 2, SR, variant=1), SR)
    assert _within(estimate, tempo)
    assert estimate.evidence.backbeat_beats == 4


def test_backbeat_on_every_other_beat_doubles_the_slow_reading():
    """Rock at 160: read at 80 the snare falls on every beat, so the tempo is 160."""
    estimate = detect_bpm(groove("rock", 160.0, 4, SR), SR, is_loop=False)
    assert _within(estimate, 160.0) and estimate.evidence.backbeat_beats == 2


# --- excerpts: the onset grid ---------------------------------------------------------------------------


@pytest.mark.parametrize(("style", "tempo", "start", "bars"), [
    ("rock", 95.0, 0.37, 4.6), ("house", 124.0, 0.8, 3.3), ("hiphop", 150.0, 0.5, 6.25), ("stabs", 100.0, 0.3, 3.6),
    ("twostep", 172.0, 0.6, 7.3),
])
def test_excerpt_cut_off_the_bar_lines(style, tempo, start, bars):
    estimate = detect_bpm(groove(style, tempo, bars, SR, loop=False, start_bars=start), SR)
    assert _within(estimate, tempo)
    assert estimate.method == "onset-grid" and estimate.bars is None
    assert estimate.evidence.grid.coverage >= 0.5


# --- no tempo -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ONE_SHOTS)
def test_one_shot_has_no_tempo(kind):
    estimate = detect_bpm(one_shot(kind, SR, seed=3), SR)
    assert estimate.bpm is None and estimate.method == "none" and estimate.bars is None


@pytest.mark.parametrize("kind", ["snare", "piano", "stab"])
def test_one_shot_with_reverb_and_silence_has_no_tempo(kind):
    audio = lead_in(with_reverb(one_shot(kind, SR, seed=4), SR, 1.5)[np.newaxis].astype(np.float32), SR, 0.2, 0.4)
    assert detect_bpm(audio, SR).bpm is None


def test_noise_silence_and_a_sliver_have_no_tempo():
    noise = (0.1 * np.random.default_rng(5).standard_normal((2, 8 * SR))).astype(np.float32)
    estimate = detect_bpm(noise, SR)
    assert estimate.bpm is None and estimate.confidence < MIN_CONFIDENCE
    assert detect_bpm(np.zeros((2, SR), np.float32), SR).bpm is None
    assert detect_bpm(groove("rock", 120.0, 1, SR)[:, :10_000], SR).bpm is None


# --- contract -------------------------------------------------------------------------------------------


def test_estimate_evidence_json_and_determinism():
    audio = groove("hiphop", 95.0, 2, SR)
    first = detect_bpm(audio, SR)
    assert first == detect_bpm(audio.copy(), SR)
    mono = audio.mean(axis=0)
    assert detect_bpm(mono, SR) == detect_bpm(mono[np.newaxis], SR)
    reply = json.loads(json.dumps(first.to_dict(), allow_nan=False))
    assert set(reply) == {"bpm", "confidence", "bars", "method", "evidence"}
    assert set(reply["evidence"]) == {"start", "end", "onsets", "bar_hypothesis", "grid", "autocorrelation_bpm",
                                      "backbeat_beats"}
    assert reply["evidence"]["onsets"] >= 8 and reply["evidence"]["grid"]["bpm"] == pytest.approx(95.0, abs=0.01)
    with pytest.raises(AttributeError):
        first.bpm = 1.0  # frozen


def test_range_limits_the_answer():
    audio = groove("rock", 160.0, 4, SR)
    assert detect_bpm(audio, SR, low=60.0, high=100.0).bpm == pytest.approx(80.0, abs=0.01)
    assert detect_bpm(audio, SR, low=60.0, high=100.0, is_loop=False).bpm == pytest.approx(80.0, abs=0.2)


def test_three_bar_loop_is_measured_unless_said_to_be_a_loop():
    audio = groove("rock", 120.0, 3, SR)
    assert detect_bpm(audio, SR).method == "onset-grid"
    looped = detect_bpm(audio, SR, is_loop=True)
    assert looped.method == "loop-length" and looped.bars == 3 and _within(looped, 120.0, 0.01)


@pytest.mark.parametrize(("low", "high", "field"), [
    (0.0, 180.0, "low"), (float("nan"), 180.0, "low"), (70.0, float("inf"), "high"), (150.0, 100.0, "high"),
    ("70", 180.0, "low"), (70.0, True, "high"),
])
def test_bad_range_names_the_field(low, high, field):
    with pytest.raises(InvalidInputError) as error:
        detect_bpm(groove("rock", 120.0, 1, SR), SR, low=low, high=high)
    assert error.value.field == field


def test_bad_audio_and_rate_name_the_field():
    with pytest.raises(InvalidInputError) as error:
        detect_bpm(np.full((1, SR), np.nan, np.float32), SR)
    assert error.value.field == "audio"
    with pytest.raises(InvalidInputError) as error:
        detect_bpm(groove("rock", 120.0, 1, SR), 0)
    assert error.value.field == "sample_rate"
