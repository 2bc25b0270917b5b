"""Every offline editor command on synthesized audio, checked sample by sample, with its markers."""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.api_compat.twistedwave.edits import Take, apply, replace_region
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.models import COMMANDS, EDITOR_ONLY, parse_command
from mixdown.engine import edit_kernels, edits, measure_loudness, resample, stretch
from mixdown.errors import InvalidInputError
from tests.conftest import noise, tone

RATE = 8_000


def ramp(frames: int = 1_000, channels: int = 2) -> np.ndarray:
    """Distinct, non-zero samples: channel c, frame k holds (c + 1) * (k + 1) / 4096."""
    k = np.arange(1, frames + 1, dtype=np.float64)
    return np.stack([(c + 1) * k / 4096 for c in range(channels)]).astype(np.float32)


def run(take: Take, *commands: dict) -> Take:
    for index, raw in enumerate(commands):
        take = apply(parse_command(raw, index), take, index)
    return take


def marked(audio: np.ndarray, *positions: int) -> Take:
    return Take(audio, RATE, [[p, f"m{p}"] for p in positions])


def test_every_command_has_a_model_and_the_editor_only_names_are_refused():
    assert set(COMMANDS) >= {
        "amplify", "normalize", "fade-in", "fade-out", "reverse", "crop", "cut", "delete", "delete-crossfade",
        "insert-silence", "silence", "invert-polarity", "remove-dc", "convert-to-mono", "convert-to-stereo",
        "convert-sampling-rate", "pitch-speed", "trim-silences", "loop-crossfade", "add-marker", "clear-markers"}
    assert not set(COMMANDS) & EDITOR_ONLY
    for name, words in (("zoom-in", "no offline meaning"), ("sparkle", "unknown command")):
        with pytest.raises(TwistedWaveError, match=words) as info:
            parse_command({"command": name}, 4)
        assert info.value.param == "edit.commands[4].command"


def test_amplify_scales_the_selection_only():
    audio = ramp()
    out = run(Take(audio, RATE), {"command": "amplify", "gain": 6.0, "selection": [100, 200]}).audio
    gain = np.float32(10 ** (6 / 20))
    np.testing.assert_array_equal(out[:, 100:200], audio[:, 100:200] * gain)
    np.testing.assert_array_equal(out[:, :100], audio[:, :100])
    np.testing.assert_array_equal(out[:, 200:], audio[:, 200:])
    whole = run(Take(audio, RATE), {"command": "amplify", "gain": -20}).audio
    np.testing.assert_allclose(whole, audio * 0.1, rtol=1e-6)


def test_normalize_peak_default_level_and_selection():
    audio = ramp() * np.float32(0.5)
    out = run(Take(audio, RATE), {"command": "normalize"}).audio
    assert np.abs(out).max() <= 1.0 and np.abs(out).max() > 1.0 - 1e-6
    part = run(Take(audio, RATE), {"command": "normalize", "level": -6, "selection": [0, 500]}).audio
    assert abs(np.abs(part[:, :500]).max() - 10 ** (-6 / 20)) < 1e-6
    np.testing.assert_array_equal(part[:, 500:], audio[:, 500:])


def test_normalize_to_lufs():
    audio = noise(2.0, RATE, amplitude=0.05)
    out = run(Take(audio, RATE), {"command": "normalize", "lufs": -20, "true_peak": -1}).audio
    assert abs(measure_loudness(out, RATE).integrated_lufs + 20) < 0.1
    with pytest.raises(TwistedWaveError) as info:
        run(Take(np.zeros((1, RATE * 2), np.float32), RATE), {"command": "normalize", "lufs": -20})
    assert info.value.param == "edit.commands[0].selection" and "normalize" in info.value.message


@pytest.mark.parametrize("curve", ["linear", "equal-power", "exponential"])
def test_fade_in_and_out_follow_the_curve_over_the_selection(curve):
    audio = ramp()
    shapes = {"linear": lambda x: x, "equal-power": lambda x: np.sin(x * np.pi / 2),
              "exponential": lambda x: (1000.0**x - 1) / 999}
    n = 400
    t = np.arange(n)
    fade_in = run(Take(audio, RATE), {"command": "fade-in", "selection": [100, 500], "curve": curve}).audio
    np.testing.assert_allclose(fade_in[:, 100:500], audio[:, 100:500] * shapes[curve](t / n), rtol=1e-5, atol=1e-9)
    assert np.all(fade_in[:, 100] == 0)
    np.testing.assert_array_equal(fade_in[:, :100], audio[:, :100])
    np.testing.assert_array_equal(fade_in[:, 500:], audio[:, 500:])
    fade_out = run(Take(audio, RATE), {"command": "fade-out", "selection": [600, 1000], "curve": curve}).audio
    np.testing.assert_allclose(fade_out[:, 600:], audio[:, 600:] * shapes[curve]((n - 1 - t) / n), rtol=1e-5,
                               atol=1e-9)
    assert np.all(fade_out[:, -1] == 0)


def test_fade_in_default_is_linear_over_the_whole_document():
    audio = np.ones((1, 10), np.float32)
    out = run(Take(audio, RATE), {"command": "fade-in"}).audio
    np.testing.assert_allclose(out[0], np.arange(10) / 10, rtol=1e-6)


def test_reverse_selection_and_its_markers():
    audio = ramp()
    out = run(marked(audio, 50, 100, 199, 200), {"command": "reverse", "selection": [100, 200]})
    np.testing.assert_array_equal(out.audio[:, 100:200], audio[:, 199:99:-1])
    np.testing.assert_array_equal(out.audio[:, 200:], audio[:, 200:])
    assert out.markers == [[50, "m50"], [100, "m199"], [199, "m100"], [200, "m200"]]


def test_crop_keeps_exactly_the_selection():
    audio = ramp()
    out = run(marked(audio, 99, 100, 250, 300), {"command": "crop", "selection": [100, 300]})
    np.testing.assert_array_equal(out.audio, audio[:, 100:300])
    assert out.frames == 200 and out.markers == [[0, "m100"], [150, "m250"]]


@pytest.mark.parametrize("name", ["cut", "delete"])
def test_cut_and_delete_remove_the_selection(name):
    audio = ramp()
    out = run(marked(audio, 10, 150, 300, 999), {"command": name, "selection": [100, 300]})
    assert out.frames == 800
    np.testing.assert_array_equal(out.audio, np.concatenate([audio[:, :100], audio[:, 300:]], axis=1))
    assert out.markers == [[10, "m10"], [100, "m300"], [799, "m999"]]


def test_delete_crossfade_keeps_the_length_of_a_delete_and_blends_the_join():
    audio = ramp()
    out = run(Take(audio, RATE), {"command": "delete-crossfade", "selection": [100, 300], "length": 50,
                                  "curve": "linear"}).audio
    assert out.shape[1] == 800
    np.testing.assert_array_equal(out[:, :100], audio[:, :100])
    np.testing.assert_array_equal(out[:, 150:], audio[:, 350:])
    x = np.arange(50) / 50
    np.testing.assert_allclose(out[:, 100:150], audio[:, 100:150] * (1 - x) + audio[:, 300:350] * x, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 100], audio[:, 100])  # the join starts on the left side's next frame
    powered = run(Take(audio, RATE), {"command": "delete-crossfade", "selection": [100, 300], "length": 50}).audio
    np.testing.assert_allclose(powered[:, 100:150], audio[:, 100:150] * np.cos(x * np.pi / 2)
                               + audio[:, 300:350] * np.sin(x * np.pi / 2), rtol=1e-6)


def test_delete_crossfade_default_is_10_ms_and_shrinks_to_fit():
    audio = ramp(1_000)
    out = run(Take(audio, RATE), {"command": "delete-crossfade", "selection": [100, 300]}).audio
    np.testing.assert_array_equal(out[:, 180:], audio[:, 380:])  # 80 frames = 10 ms at 8 kHz
    assert not np.array_equal(out[:, 179], audio[:, 379])
    end = run(Take(audio, RATE), {"command": "delete-crossfade", "selection": [900, 1_000]}).audio
    np.testing.assert_array_equal(end, audio[:, :900])  # nothing after the region: a plain delete
    with pytest.raises(TwistedWaveError, match="at most 100 frames") as info:
        run(Take(audio, RATE), {"command": "delete-crossfade", "selection": [800, 900], "length": 101})
    assert info.value.param == "edit.commands[0].length"


def test_insert_silence_in_samples_and_seconds():
    audio = ramp()
    out = run(marked(audio, 99, 100, 500), {"command": "insert-silence", "position": 100, "length": 250})
    assert out.frames == 1_250
    assert np.all(out.audio[:, 100:350] == 0)
    np.testing.assert_array_equal(out.audio[:, :100], audio[:, :100])
    np.testing.assert_array_equal(out.audio[:, 350:], audio[:, 100:])
    assert out.markers == [[99, "m99"], [350, "m100"], [750, "m500"]]
    seconds = run(Take(audio, RATE), {"command": "insert-silence", "position": 0.0625, "length": 0.0125,
                                      "unit": "seconds"}).audio
    assert seconds.shape[1] == 1_100 and np.all(seconds[:, 500:600] == 0)  # at frame 500, 100 frames
    np.testing.assert_array_equal(seconds[:, 600:], audio[:, 500:])
    appended = run(Take(audio, RATE), {"command": "insert-silence", "position": 1_000, "length": 1}).audio
    assert appended.shape[1] == 1_001 and np.all(appended[:, -1] == 0)
    with pytest.raises(TwistedWaveError) as info:
        run(Take(audio, RATE), {"command": "amplify", "gain": 1}, {"command": "insert-silence", "position": 1_001,
                                                                   "length": 1})
    assert info.value.param == "edit.commands[1].position"


def test_silence_and_invert_polarity_touch_the_selection_only():
    audio = ramp()
    quiet = run(Take(audio, RATE), {"command": "silence", "selection": [10, 20]}).audio
    assert np.all(quiet[:, 10:20] == 0) and np.array_equal(quiet[:, 20:], audio[:, 20:])
    np.testing.assert_array_equal(quiet[:, :10], audio[:, :10])
    flipped = run(Take(audio, RATE), {"command": "invert-polarity", "selection": [10, 20]}).audio
    np.testing.assert_array_equal(flipped[:, 10:20], -audio[:, 10:20])
    np.testing.assert_array_equal(flipped[:, 20:], audio[:, 20:])
    np.testing.assert_array_equal(run(Take(audio, RATE), {"command": "invert-polarity"}).audio, -audio)


def test_remove_dc_subtracts_each_channels_mean():
    wave = tone(200, 0.5, RATE, channels=2)
    offset = np.array([[0.25], [-0.125]], np.float32)
    out = run(Take(wave + offset, RATE), {"command": "remove-dc"}).audio
    assert np.abs(out.mean(axis=1, dtype=np.float64)).max() < 1e-7
    np.testing.assert_allclose(out, wave - wave.mean(axis=1, keepdims=True, dtype=np.float64), atol=1e-6)
    part = run(Take(wave + offset, RATE), {"command": "remove-dc", "selection": [0, 2_000]}).audio
    np.testing.assert_array_equal(part[:, 2_000:], (wave + offset)[:, 2_000:])
    assert abs(part[0, :2_000].mean(dtype=np.float64)) < 1e-7


def test_channel_conversions():
    audio = ramp(100)
    mono = run(Take(audio, RATE), {"command": "convert-to-mono"}).audio
    assert mono.shape == (1, 100)
    np.testing.assert_allclose(mono[0], (audio[0] + audio[1]) / 2, rtol=1e-7)
    stereo = run(Take(mono, RATE), {"command": "convert-to-stereo"}).audio
    assert stereo.shape == (2, 100) and np.array_equal(stereo[0], mono[0]) and np.array_equal(stereo[1], mono[0])
    for take, name in ((Take(mono, RATE), "convert-to-mono"), (Take(audio, RATE), "convert-to-stereo")):
        with pytest.raises(TwistedWaveError) as info:
            run(take, {"command": name})
        assert info.value.param == "edit.commands[0].command"


def test_convert_sampling_rate_resamples_and_moves_the_markers():
    audio = tone(300, 0.5, RATE, channels=2)
    out = run(marked(audio, 0, 1_001, 3_999), {"command": "convert-sampling-rate", "sample_rate": 12_000})
    assert out.sample_rate == 12_000 and out.frames == 6_000
    np.testing.assert_array_equal(out.audio, resample(audio, RATE, 12_000))
    assert out.markers == [[0, "m0"], [1_502, "m1001"], [5_999, "m3999"]]  # round half up of 1501.5, 5998.5


def _peak_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio[0] * np.hanning(audio.shape[1])))
    return float(np.argmax(spectrum) * rate / audio.shape[1])


def test_pitch_speed_on_a_selection_changes_its_length_and_pitch():
    audio = tone(400, 1.0, RATE)
    out = run(marked(audio, 100, 3_000, 7_000), {"command": "pitch-speed", "selection": [2_000, 6_000],
                                                 "speed": 2.0, "quality": "draft"})
    assert out.frames == 8_000 - 2_000
    np.testing.assert_array_equal(out.audio[:, :2_000], audio[:, :2_000])
    np.testing.assert_array_equal(out.audio[:, 4_000:], audio[:, 6_000:])
    np.testing.assert_array_equal(out.audio[:, 2_000:4_000],
                                  stretch(audio[:, 2_000:6_000], RATE, 2.0, quality="draft"))
    assert out.markers == [[100, "m100"], [2_500, "m3000"], [5_000, "m7000"]]
    shifted = run(Take(audio, RATE), {"command": "pitch-speed", "semitones": 12, "quality": "draft"}).audio
    assert shifted.shape[1] == 8_000 and abs(_peak_hz(shifted, RATE) - 800) < 10
    tape = run(Take(audio, RATE), {"command": "pitch-speed", "speed": 0.5, "varispeed": True}).audio
    assert tape.shape[1] == 16_000 and abs(_peak_hz(tape, RATE) - 200) < 5


def test_trim_silences_keeps_from_the_first_to_the_last_sound():
    wave = tone(300, 0.1, RATE)
    audio = np.concatenate([np.zeros((1, 300), np.float32), wave, np.full((1, 200), 1e-4, np.float32)], axis=1)
    out = run(marked(audio, 10, 400, 1_150), {"command": "trim-silences"})  # -60 dBFS = 1e-3: 1e-4 is silence
    first = 300 + int(np.argmax(np.abs(wave[0]) > 1e-3))
    last = 300 + wave.shape[1] - int(np.argmax(np.abs(wave[0, ::-1]) > 1e-3))
    np.testing.assert_array_equal(out.audio, audio[:, first:last])
    assert out.markers == [[400 - first, "m400"]]
    loose = run(Take(audio, RATE), {"command": "trim-silences", "threshold": -90}).audio
    np.testing.assert_array_equal(loose, audio[:, 301:])  # wave[0] is 0; the 1e-4 tail (-80 dBFS) is sound
    silent = run(Take(np.zeros((2, 50), np.float32), RATE), {"command": "trim-silences"})
    assert silent.audio.shape == (2, 0)


def test_loop_crossfade_makes_the_loop_point_continuous():
    audio = ramp()
    out = run(marked(audio, 150, 700, 850, 950), {"command": "loop-crossfade", "selection": [100, 900], "length": 100,
                                              "curve": "linear"})
    assert out.frames == 900
    x = np.arange(100) / 100
    np.testing.assert_allclose(out.audio[:, 100:200], audio[:, 800:900] * (1 - x) + audio[:, 100:200] * x,
                               rtol=1e-6)
    np.testing.assert_array_equal(out.audio[:, 100], audio[:, 800])  # the loop starts where the tail began
    np.testing.assert_array_equal(out.audio[:, 200:800], audio[:, 200:800])
    np.testing.assert_array_equal(out.audio[:, 799], audio[:, 799])  # ... and ends on the frame before it
    np.testing.assert_array_equal(out.audio[:, 800:], audio[:, 900:])
    assert out.markers == [[150, "m150"], [150, "m850"], [700, "m700"], [850, "m950"]]
    default = run(Take(audio, RATE), {"command": "loop-crossfade"}).audio
    assert default.shape[1] == 1_000 - 400  # 50 ms at 8 kHz
    with pytest.raises(TwistedWaveError) as info:
        run(Take(audio, RATE), {"command": "loop-crossfade", "selection": [0, 100], "length": 51})
    assert info.value.param == "edit.commands[0].length"


def test_markers_add_and_clear():
    take = run(Take(ramp(), RATE), {"command": "add-marker", "position": 500},
               {"command": "add-marker", "position": 0.025, "unit": "seconds", "name": "intro"},
               {"command": "add-marker", "position": 900})
    assert take.markers == [[200, "intro"], [500, "Marker 1"], [900, "Marker 3"]]
    assert run(take, {"command": "clear-markers", "selection": [400, 900]}).markers == [[200, "intro"],
                                                                                         [900, "Marker 3"]]
    assert run(take, {"command": "clear-markers"}).markers == []
    with pytest.raises(TwistedWaveError) as info:
        run(take, {"command": "add-marker", "position": 1_001})
    assert info.value.param == "edit.commands[0].position"


def test_a_selection_outside_the_audio_names_the_command():
    take = Take(ramp(), RATE)
    for index, selection in ((0, [0, 1_001]), (1, [1_000, 1_200])):
        commands = [{"command": "silence", "selection": [0, 1]}] * index + [{"command": "reverse",
                                                                              "selection": selection}]
        with pytest.raises(TwistedWaveError, match="1000 frames") as info:
            run(take, *commands)
        assert info.value.param == f"edit.commands[{index}].selection"
    with pytest.raises(TwistedWaveError) as info:
        run(take, {"command": "crop", "selection": [0.5, 0.2], "unit": "seconds"})
    assert info.value.param == "edit.commands[0].selection"
    with pytest.raises(TwistedWaveError) as info:
        run(Take(np.zeros((2, 0), np.float32), RATE), {"command": "fade-in"})
    assert info.value.param == "edit.commands[0].selection"


def test_seconds_round_half_up_once_at_the_documents_rate():
    audio = ramp()
    out = run(Take(audio, 2), {"command": "silence", "selection": [0.25, 0.75], "unit": "seconds"}).audio
    assert np.all(out[:, 1] == 0) and out[0, 0] != 0 and out[0, 2] != 0  # 0.5 frames -> 1, 1.5 -> 2


def test_commands_do_not_touch_their_input():
    audio = ramp()
    copy = audio.copy()
    for raw in ({"command": "silence"}, {"command": "invert-polarity"}, {"command": "remove-dc"},
                {"command": "delete-crossfade", "selection": [0, 100]}, {"command": "loop-crossfade"}):
        run(Take(audio, RATE), raw)
    np.testing.assert_array_equal(audio, copy)


def test_engine_edit_regions_and_kernels():
    audio = ramp(10)
    with pytest.raises(InvalidInputError) as info:
        edits.silence(audio, 5, 5)
    assert info.value.field == "selection"
    with pytest.raises(InvalidInputError):
        edits.crop(audio, -1, 3)
    assert edit_kernels.active_range(np.zeros((2, 7), np.float32), 0.0) == (0, 0)
    spike = np.zeros((2, 7), np.float32)
    spike[1, 3] = 0.5
    assert edit_kernels.active_range(spike, 0.1) == (3, 4)
    out = np.empty((1, 4), np.float32)
    edit_kernels.crossfade(np.ones((1, 4), np.float32), np.zeros((1, 4), np.float32), 0, out)
    np.testing.assert_allclose(out[0], [1, 0.75, 0.5, 0.25])
    assert edits.to_mono(np.ones((3, 2), np.float32)).shape == (1, 2)


def test_replace_region_moves_markers_by_the_change_in_length():
    markers = [[0, "a"], [10, "b"], [15, "c"], [20, "d"], [30, "e"]]
    assert replace_region(markers, 10, 20, 5) == [[0, "a"], [10, "b"], [12, "c"], [15, "d"], [25, "e"]]
    assert replace_region(markers, 10, 20, 0) == [[0, "a"], [10, "d"], [20, "e"]]
    assert replace_region(markers, 20, 20, 3) == [[0, "a"], [10, "b"], [15, "c"], [23, "d"], [33, "e"]]
    assert replace_region(markers, 0, 31, 0) == []
