"""The timeline renderer: placement, fades, pan law, solo/mute, exact lengths, determinism, streaming."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixdown.engine import Clip, Fade, Source, Timeline, Track, apply_fades, fade_envelope, render, render_blocks
from mixdown.errors import InvalidInputError
from tests.conftest import noise, tone

SR = 48_000


def impulse(frames: int = 64, channels: int = 1, at: int = 0) -> Source:
    audio = np.zeros((channels, frames), dtype=np.float32)
    audio[:, at] = 1.0
    return Source(audio, SR, "impulse")


def single(clip: Clip, **track) -> Timeline:
    return Timeline(SR, [Track([clip], **track)])


@pytest.mark.parametrize("position", [0, 1, 4_095, 16_383, 16_384, 16_385, 123_457])
def test_clip_starts_exactly_at_its_position(position):
    timeline = single(Clip(impulse(), position))
    out = render(timeline, 0, position + 100)
    nonzero = np.flatnonzero(out[0])
    assert nonzero.tolist() == [position]
    for block_frames in (1, 1000, 16_384):
        streamed = np.concatenate(list(render_blocks(timeline, 0, position + 100, block_frames=block_frames)), axis=1)
        assert np.flatnonzero(streamed[0]).tolist() == [position]


def test_source_range_and_reverse_read_the_right_samples():
    ramp = Source(np.arange(1, 101, dtype=np.float32)[np.newaxis] / 100, SR)
    forward = render(Timeline(SR, [Track([Clip(ramp, 10, source_start=20, source_end=30)])], channels=1))
    assert forward.shape == (1, 20)
    np.testing.assert_array_equal(forward[0, 10:], np.arange(21, 31, dtype=np.float32) / 100)
    backward = render(Timeline(SR, [Track([Clip(ramp, 0, source_start=20, source_end=30, reverse=True)])], channels=1))
    np.testing.assert_array_equal(backward[0], np.arange(30, 20, -1, dtype=np.float32) / 100)


def reference_curve(curve: str, x: np.ndarray) -> np.ndarray:
    if curve == "linear":
        return x
    if curve == "equal-power":
        return np.sin(x * np.pi / 2)
    return (np.power(1000.0, x) - 1) / 999.0


@pytest.mark.parametrize("curve", ["linear", "equal-power", "exponential"])
@pytest.mark.parametrize("fade_in,fade_out", [(480, 0), (0, 960), (300, 700), (1000, 1000)])
def test_fades_follow_the_exact_curve(curve, fade_in, fade_out):
    frames = 2000
    ones = Source(np.ones((1, frames), dtype=np.float32), SR)
    clip = Clip(ones, 0, fade_in=Fade(fade_in, curve), fade_out=Fade(fade_out, curve))
    out = render(Timeline(SR, [Track([clip])], channels=1))[0]
    t = np.arange(frames)
    expected = np.ones(frames)
    if fade_in:
        expected[:fade_in] *= reference_curve(curve, t[:fade_in] / fade_in)
    if fade_out:
        expected[frames - fade_out:] *= reference_curve(curve, (frames - 1 - t[frames - fade_out:]) / fade_out)
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-7)
    assert out[0] == (0.0 if fade_in else 1.0)
    assert out[-1] == (0.0 if fade_out else 1.0)
    np.testing.assert_allclose(fade_envelope(frames, Fade(fade_in, curve), Fade(fade_out, curve)), expected, atol=1e-12)


@pytest.mark.parametrize("curve", ["linear", "equal-power", "exponential"])
def test_fade_out_mirrors_fade_in_and_reverse_commutes_with_fades(curve):
    audio = noise(0.1, SR, channels=2)
    faded_in = apply_fades(audio, fade_in=Fade(1234, curve))
    faded_out_reversed = apply_fades(audio[:, ::-1], fade_out=Fade(1234, curve))
    np.testing.assert_array_equal(faded_in, faded_out_reversed[:, ::-1])
    source = Source(audio, SR)
    clip = Clip(source, 0, reverse=True, fade_out=Fade(1234, curve))
    unfaded = render(single(Clip(source, 0, reverse=True)))
    faded = apply_fades(unfaded, fade_out=Fade(1234, curve))
    np.testing.assert_allclose(render(single(clip)), faded, rtol=0, atol=1e-7)


def test_fade_out_envelope_is_the_fade_in_envelope_reversed():
    for curve in ("linear", "equal-power", "exponential"):
        envelope_in = fade_envelope(1000, fade_in=Fade(1000, curve))
        envelope_out = fade_envelope(1000, fade_out=Fade(1000, curve))
        assert envelope_out[::-1].tolist() == envelope_in.tolist()
        assert np.all(np.diff(envelope_in) > 0)


def db(x: float) -> float:
    return 20 * math.log10(x)


def test_mono_source_at_centre_is_minus_3_db_per_side():
    out = render(single(Clip(impulse(), 0)))
    assert db(out[0].max()) == pytest.approx(-3.0103, abs=1e-4)
    assert db(out[1].max()) == pytest.approx(-3.0103, abs=1e-4)


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.25, 1.0])
def test_mono_placement_keeps_constant_power(pan):
    out = render(single(Clip(impulse(), 0, pan=pan)))
    left, right = out[0].max(), out[1].max()
    assert left**2 + right**2 == pytest.approx(1.0, abs=1e-6)
    angle = (pan + 1) * math.pi / 4
    assert left == pytest.approx(math.cos(angle), abs=1e-7)
    assert right == pytest.approx(math.sin(angle), abs=1e-7)


def test_stereo_source_is_balanced_unity_at_centre_and_silent_far_side():
    src = impulse(channels=2)
    centre = render(single(Clip(src, 0)))
    assert centre[0].max() == 1.0 and centre[1].max() == 1.0
    hard_left = render(single(Clip(src, 0, pan=-1.0)))
    assert hard_left[0].max() == 1.0 and hard_left[1].max() == pytest.approx(0.0, abs=1e-7)
    half_right = render(single(Clip(src, 0, pan=0.5)))
    assert half_right[1].max() == 1.0
    assert half_right[0].max() == pytest.approx(math.sqrt(2) * math.cos(0.75 * math.pi / 2), abs=1e-7)


def test_track_pan_balances_the_clip_result_and_gains_multiply():
    out = render(single(Clip(impulse(), 0, pan=-1.0, gain=0.5), pan=1.0, gain=0.5))
    assert out[0].max() == pytest.approx(0.0, abs=1e-7)
    assert out[1].max() == pytest.approx(0.0, abs=1e-7)
    out = render(single(Clip(impulse(), 0, pan=-1.0, gain=0.5), pan=-0.5, gain=0.8))
    assert out[0].max() == pytest.approx(0.4, abs=1e-7)
    assert out[1].max() == 0.0


def test_mono_output_sums_stereo_sources_to_their_mean():
    audio = np.zeros((2, 4), dtype=np.float32)
    audio[0, 0], audio[1, 0] = 1.0, 0.5
    out = render(Timeline(SR, [Track([Clip(Source(audio, SR), 0, pan=1.0)])], channels=1))
    assert out.shape == (1, 4) and out[0, 0] == pytest.approx(0.75)


def marks(timeline: Timeline) -> set[int]:
    """Which clips sound: each clip is an impulse at a distinct position."""
    return set(np.flatnonzero(render(timeline, 0, 1000)[0]).tolist())


def build(track_flags, clip_flags):
    tracks = []
    for t, (track_mute, track_solo) in enumerate(track_flags):
        clips = [Clip(impulse(), 100 * t + 10 * c, mute=m, solo=s) for c, (m, s) in enumerate(clip_flags[t])]
        tracks.append(Track(clips, mute=track_mute, solo=track_solo))
    return Timeline(SR, tracks)


def test_mute_silences_tracks_and_clips():
    timeline = build([(False, False), (True, False)], [[(False, False), (True, False)], [(False, False)]])
    assert marks(timeline) == {0}


def test_track_solo_sounds_that_track_alone_except_its_muted_clips():
    timeline = build([(False, True), (False, False)], [[(False, False), (True, False)], [(False, False)]])
    assert marks(timeline) == {0}


def test_clip_solo_sounds_that_clip_alone_even_on_a_muted_track():
    timeline = build([(False, False), (True, False)], [[(False, False)], [(False, False), (False, True)]])
    assert marks(timeline) == {110}


def test_solo_on_two_tracks_sounds_both():
    plain = [(False, False)]
    timeline = build([(False, True), (False, True), (False, False)], [plain, plain, plain])
    assert marks(timeline) == {0, 100}


def test_length_is_the_end_of_the_last_sounding_clip():
    src = Source(np.ones((1, 100), dtype=np.float32), SR)
    timeline = Timeline(SR, [Track([Clip(src, 0)]), Track([Clip(src, 5000)], mute=True)])
    assert timeline.length == 100
    assert render(timeline).shape == (2, 100)
    assert Timeline(SR).length == 0 and render(Timeline(SR)).shape == (2, 0)


def random_timeline(seed: int, clips: int = 40, tracks: int = 4) -> Timeline:
    rng = np.random.default_rng(seed)
    sources = [Source(noise(rng.uniform(0.01, 0.2), SR, channels=int(rng.integers(1, 3)), seed=i), SR)
               for i in range(6)]
    curves = ["linear", "equal-power", "exponential"]
    lanes = []
    for _ in range(tracks):
        lane = []
        for _ in range(clips // tracks):
            src = sources[int(rng.integers(len(sources)))]
            start = int(rng.integers(0, src.frames - 1))
            end = int(rng.integers(start + 1, src.frames + 1))
            n = end - start
            lane.append(Clip(
                src, int(rng.integers(-2000, 40_000)), start, end, gain=float(rng.uniform(0, 1.5)),
                pan=float(rng.uniform(-1, 1)), reverse=bool(rng.integers(2)),
                fade_in=Fade(int(rng.integers(0, n + 1)), curves[int(rng.integers(3))]),
                fade_out=Fade(int(rng.integers(0, n + 1)), curves[int(rng.integers(3))]),
                mute=bool(rng.random() < 0.1),
            ))
        lanes.append(Track(lane, gain=float(rng.uniform(0.2, 1)), pan=float(rng.uniform(-1, 1))))
    return Timeline(SR, lanes)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.integers(-5_000, 60_000), span=st.integers(0, 30_000),
       block=st.integers(1, 20_000))
def test_render_range_has_exact_length_and_streaming_matches(seed, a, span, block):
    timeline = random_timeline(seed, clips=12)
    b = a + span
    whole = render(timeline, a, b)
    assert whole.shape == (2, b - a) and whole.dtype == np.float32 and whole.flags.c_contiguous
    blocks = list(render_blocks(timeline, a, b, block_frames=block))
    assert all(x.shape[1] == block for x in blocks[:-1])
    streamed = np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), np.float32)
    assert streamed.tobytes() == whole.tobytes()


def test_sub_ranges_tile_the_full_render():
    timeline = random_timeline(7)
    full = render(timeline)
    cut = [0, 1, 999, 17_000, 17_001, full.shape[1]]
    pieces = [render(timeline, lo, hi) for lo, hi in itertools.pairwise(cut)]
    assert np.concatenate(pieces, axis=1).tobytes() == full.tobytes()


def test_two_renders_are_byte_identical():
    first = render(random_timeline(3))
    second = render(random_timeline(3))
    assert first.tobytes() == second.tobytes()


def test_mix_is_the_sum_of_its_clips():
    a = Source(tone(440, 0.05, SR), SR)
    b = Source(tone(660, 0.05, SR, channels=2), SR)
    both = render(Timeline(SR, [Track([Clip(a, 0, gain=0.5)]), Track([Clip(b, 300, pan=0.3)])]), 0, 3000)
    only_a = render(single(Clip(a, 0, gain=0.5)), 0, 3000)
    only_b = render(single(Clip(b, 300, pan=0.3)), 0, 3000)
    np.testing.assert_allclose(both, only_a + only_b, atol=1e-7)


def test_treated_clips_render_at_exact_length_once_per_treatment(monkeypatch):
    from mixdown.engine import materials

    calls = []
    real_stretch = materials.stretch

    def counting_stretch(*args, **kwargs):
        calls.append(kwargs)
        return real_stretch(*args, **kwargs)

    monkeypatch.setattr(materials, "stretch", counting_stretch)
    src = Source(tone(440, 0.3, SR), SR)
    clips = [Clip(src, 20_000 * i, speed_ratio=1.5, pitch_semitones=-2, fade_out=Fade(100)) for i in range(12)]
    clips.append(Clip(src, 250_000, speed_ratio=0.75, reverse=True))
    timeline = Timeline(SR, [Track(clips)], stretch_quality="standard")
    assert clips[0].length == round(src.frames / 1.5)
    assert timeline.length == 250_000 + round(src.frames / 0.75)
    whole = render(timeline)
    assert len(calls) == 2 and all(call["quality"] == "standard" for call in calls)
    streamed = np.concatenate(list(render_blocks(timeline, block_frames=7_777)), axis=1)
    assert streamed.tobytes() == whole.tobytes()
    first = whole[0, : clips[0].length]
    assert np.abs(first).max() > 0.1 and first[-1] == 0.0


def test_treated_clip_plays_the_stretched_source_range():
    from mixdown.engine import stretch

    src = Source(noise(0.5, SR, channels=2), SR)
    clip = Clip(src, 100, source_start=1_000, source_end=20_000, speed_ratio=1.25, reverse=True, pitch_semitones=1)
    out = render(single(clip), 100, 100 + clip.length)
    expected = stretch(src.audio[:, 1_000:20_000][:, ::-1], SR, 1.25, 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_varispeed_timeline_resamples_and_refuses_pitch():
    src = Source(tone(1000, 0.2, SR), SR)
    out = render(Timeline(SR, [Track([Clip(src, 0, speed_ratio=2.0)])], channels=1, varispeed=True))
    assert out.shape == (1, src.frames // 2)
    spectrum = np.abs(np.fft.rfft(out[0, 1000:-1000]))
    assert abs(np.argmax(spectrum) * SR / (out.shape[1] - 2000) - 2000) < 30
    with pytest.raises(InvalidInputError) as info:
        render(Timeline(SR, [Track([Clip(src, 0, pitch_semitones=2)])], varispeed=True))
    assert info.value.field == "tracks[0].clips[0].pitch_semitones"
    with pytest.raises(InvalidInputError):
        Timeline(SR, stretch_quality="ultra")


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"position": 1.5}, "clip.position"),
        ({"source_start": -1}, "clip.source_start"),
        ({"source_end": 10_000}, "clip.source_end"),
        ({"source_start": 10, "source_end": 10}, "clip.source_end"),
        ({"gain": float("nan")}, "clip.gain"),
        ({"gain": -0.1}, "clip.gain"),
        ({"pan": 1.5}, "clip.pan"),
        ({"speed_ratio": 0.0}, "clip.speed_ratio"),
        ({"source_end": 1, "speed_ratio": 4.0}, "clip.speed_ratio"),
        ({"pitch_semitones": float("inf")}, "clip.pitch_semitones"),
        ({"fade_in": Fade(5000)}, "clip.fade_in.length"),
    ],
)
def test_bad_clip_values_name_their_field(kwargs, field):
    src = Source(np.zeros((1, 4800), dtype=np.float32), SR)
    with pytest.raises(InvalidInputError) as info:
        Clip(src, **{"position": 0, **kwargs})
    assert info.value.field == field


def test_bad_sources_and_timelines_are_refused():
    with pytest.raises(InvalidInputError, match="NaN"):
        Source(np.array([[0.0, np.nan]], dtype=np.float32), SR)
    with pytest.raises(InvalidInputError, match="curve"):
        Fade(10, "cubic")
    with pytest.raises(InvalidInputError, match="resample"):
        Timeline(SR, [Track([Clip(Source(np.zeros((1, 10), np.float32), 44_100), 0)])])
    with pytest.raises(InvalidInputError) as info:
        render(Timeline(SR), 10, 5)
    assert info.value.field == "end"
    with pytest.raises(InvalidInputError):
        list(render_blocks(Timeline(SR), 0, 10, block_frames=0))
