"""BPM detection for the TwoShot adapter: synthesized loops and grooves of known tempo.

Every signal is built here from its tempo: drum kits (two of them, different kicks, snares/claps and hats)
playing rock, house, hip-hop and two-step patterns, and bass+chord loops with syncopation (straight, no
swing). A loop's hits that ring past its end wrap round to its start, as when it repeats.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixdown.api_compat.twoshot.bpm import BpmEstimate, detect_bpm
from mixdown.api_compat.twoshot.bpm_command import add_command
from mixdown.errors import AudioReadError, InvalidInputError
from mixdown.formats import write

TEMPI = (80.0, 87.5, 95.0, 100.0, 110.0, 120.0, 128.0, 135.0, 140.0, 150.0, 160.0, 174.0, 175.0)
BARS = (1, 2, 4, 8)
STYLES = ("rock", "house", "hiphop", "twostep", "keys", "stabs")

# --- synthesis ------------------------------------------------------------------------------------------


def _envelope(n: int, rate: int, decay: float, attack: float = 0.0005, release: float = 0.01) -> np.ndarray:
    t = np.arange(n) / rate
    env = np.exp(-t / decay) * np.minimum(1.0, t / attack)
    tail = min(n, round(release * rate))
    env[n - tail :] *= np.linspace(1.0, 0.0, tail)
    return env


def _sweep(rate: int, seconds: float, start_hz: float, end_hz: float, bend: float, decay: float) -> np.ndarray:
    n = round(seconds * rate)
    freq = end_hz + (start_hz - end_hz) * np.exp(-np.arange(n) / rate / bend)
    return np.sin(2 * np.pi * np.cumsum(freq) / rate) * _envelope(n, rate, decay)


def _noise(rng: np.random.Generator, rate: int, seconds: float, decay: float, brightness: int) -> np.ndarray:
    n = round(seconds * rate)
    x = rng.standard_normal(n)
    for _ in range(brightness):  # each difference tilts the spectrum up by 6 dB/octave
        x = np.diff(x, prepend=0.0) * 0.5
    return x * _envelope(n, rate, decay)


def _kit(rate: int, rng: np.random.Generator, variant: int) -> dict[str, np.ndarray]:
    if variant == 0:  # punchy kick, noise+tone snare, short hats
        return {"kick": _sweep(rate, 0.35, 160, 50, 0.04, 0.12),
                "snare": 0.7 * _noise(rng, rate, 0.25, 0.06, 1) + 0.5 * _sweep(rate, 0.25, 200, 185, 0.02, 0.05),
                "hat": 0.6 * _noise(rng, rate, 0.06, 0.015, 2),
                "open": 0.5 * _noise(rng, rate, 0.3, 0.09, 2)}
    clap = _noise(rng, rate, 0.2, 0.05, 1)
    for k in range(3):  # three quick bursts
        start = round(k * 0.011 * rate)
        clap[start : start + round(0.004 * rate)] *= 3.0
    return {"kick": _sweep(rate, 0.6, 120, 42, 0.03, 0.3),  # long 808-like kick
            "snare": 0.8 * clap,
            "hat": 0.5 * _noise(rng, rate, 0.04, 0.008, 3),
            "open": 0.4 * _noise(rng, rate, 0.35, 0.12, 3)}


#: Drum patterns: (sound, sixteenth steps of a 4/4 bar, gain).
DRUMS = {
    "rock": [("kick", [0, 8], 1.0), ("snare", [4, 12], 0.8), ("hat", range(0, 16, 2), 0.35)],
    "house": [("kick", [0, 4, 8, 12], 1.0), ("snare", [4, 12], 0.6), ("open", [2, 6, 10, 14], 0.35),
              ("hat", range(16), 0.12)],
    "hiphop": [("kick", [0, 7, 10], 1.0), ("snare", [4, 12], 0.9), ("hat", range(0, 16, 2), 0.35)],
    "twostep": [("kick", [0, 10], 1.0), ("snare", [4, 12], 0.9), ("hat", range(0, 16, 2), 0.3),
                ("snare", [7, 15], 0.2)],
}
#: Bass+chord loops: (chord steps, bass steps). "keys": chords on the beats over a syncopated bass; "stabs":
#: sixteenth-note syncopated stabs over a bass on the beats; "skank": stabs on every off-beat over a bass on
#: the beats, which reads as well at twice the tempo.
HARMONY = {"keys": ([0, 4, 8, 12], [0, 3, 6, 10, 12]), "stabs": ([0, 3, 6, 11], [0, 4, 8, 12]),
           "skank": ([2, 6, 10, 14], [0, 4, 8, 12])}
PANS = {"kick": 0.0, "snare": 0.1, "hat": 0.6, "open": -0.5, "bass": 0.0, "chord": -0.3}
ROOTS = (55.0, 43.65, 49.0, 41.2)


def _tone(rate: int, seconds: float, freqs: list[float], decay: float, attack: float) -> np.ndarray:
    n = round(seconds * rate)
    t = np.arange(n) / rate
    wave = sum(a * np.sin(2 * np.pi * f * (h + 1) * t) for f in freqs for h, a in enumerate((1.0, 0.35, 0.15)))
    return wave / len(freqs) * _envelope(n, rate, decay, attack=attack)


def groove(style: str, bpm: float, bars: float, rate: int, *, channels: int = 2, variant: int = 0, seed: int = 0,
           loop: bool = True, jitter_ms: float = 0.0, velocity_db: float = 0.0, noise_db: float | None = None,
           ) -> np.ndarray:
    """``bars`` bars of ``style`` at ``bpm``: a loop (hits wrap round), or cut after ``bars`` (may be fractional)."""
    rng = np.random.default_rng(seed)
    human = np.random.default_rng(seed + 1)
    step = 60.0 / bpm / 4
    total = round(bars * 16 * step * rate)
    out = np.zeros((2, total))
    hits: list[tuple[int, np.ndarray, str]] = []
    for bar in range(int(np.ceil(bars))):
        if style in DRUMS:
            sounds = _kit(rate, rng, variant)
            hits += [(bar * 16 + s, gain * sounds[name], name) for name, steps, gain in DRUMS[style] for s in steps]
        else:
            chords, basses = HARMONY[style]
            root = ROOTS[bar % 4]
            hits += [(bar * 16 + s, 0.5 * _tone(rate, 3 * step, [root * 4, root * 5, root * 6], 0.2, 0.004), "chord")
                     for s in chords]
            hits += [(bar * 16 + s, 0.8 * _tone(rate, 4 * step, [root], 0.3, 0.002), "bass") for s in basses]
    for position, sound, name in hits:
        start = round(position * step * rate)
        if position:
            start = max(0, start + round(human.normal(0.0, jitter_ms / 1000) * rate))
        if start >= total:
            continue
        sound = sound * 10 ** (human.normal(0.0, velocity_db) / 20) if velocity_db else sound
        left, right = np.cos((PANS[name] + 1) * np.pi / 4), np.sin((PANS[name] + 1) * np.pi / 4)
        while sound.size:
            take = min(sound.size, total - start)
            out[0, start : start + take] += left * sound[:take]
            out[1, start : start + take] += right * sound[:take]
            sound = sound[take:] if loop else sound[:0]
            start = 0
    out *= 0.5 / np.max(np.abs(out))
    if noise_db is not None:
        out += 10 ** (noise_db / 20) * human.standard_normal(out.shape)
    if channels == 1:
        out = out.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(out, dtype=np.float32)


def _cases(count: int, seed: int) -> list[tuple[str, float, int, int, int, int]]:
    """A seeded sample of (style, tempo, bars, channels, rate, kit): every tempo and bar count, styles spread."""
    rng = np.random.default_rng(seed)
    grid = [(tempo, bars) for tempo in TEMPI for bars in BARS]
    chosen = [grid[i] for i in sorted(rng.choice(len(grid), size=count, replace=False))]
    return [(STYLES[(i + seed) % len(STYLES)], tempo, bars, 1 + i % 2, (44_100, 48_000)[(i // 2) % 2], (i // 4) % 2)
            for i, (tempo, bars) in enumerate(chosen)]


# --- loops ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("style", "tempo", "bars", "channels", "rate", "kit"), _cases(52, 0) + _cases(24, 1))
def test_loop_tempo_comes_from_its_length(style, tempo, bars, channels, rate, kit):
    audio = groove(style, tempo, bars, rate, channels=channels, variant=kit, seed=bars)
    estimate = detect_bpm(audio, rate)
    assert abs(estimate.bpm - tempo) <= 0.5
    assert estimate.method == "loop-length"
    assert estimate.bars == bars
    assert 0.5 <= estimate.confidence <= 1.0


@settings(max_examples=10, deadline=None, derandomize=True)
@given(tempo=st.floats(80.0, 175.0), bars=st.sampled_from(BARS), style=st.sampled_from(STYLES))
def test_loop_at_any_tempo(tempo, bars, style):
    audio = groove(style, tempo, bars, 44_100, seed=3)
    estimate = detect_bpm(audio, 44_100)
    assert abs(estimate.bpm - tempo) <= 0.5
    assert estimate.bars == bars


@pytest.mark.parametrize(("style", "tempo", "bars"), [
    ("rock", 87.5, 2), ("house", 160.0, 4), ("hiphop", 140.0, 2), ("twostep", 174.0, 1), ("keys", 80.0, 8),
    ("stabs", 150.0, 4), ("rock", 120.0, 1), ("house", 95.0, 2),
])
def test_humanized_loop_over_a_noise_floor(style, tempo, bars):
    """Hits up to ~10 ms early or late (5 ms standard deviation), +-2 dB velocity, white noise at -30 dBFS."""
    audio = groove(style, tempo, bars, 44_100, seed=bars, jitter_ms=5.0, velocity_db=2.0, noise_db=-30.0)
    estimate = detect_bpm(audio, 44_100)
    assert abs(estimate.bpm - tempo) <= 0.5
    assert estimate.method == "loop-length"


@pytest.mark.parametrize(("tempo", "bars"), [(80.0, 2), (87.5, 4), (160.0, 2), (175.0, 1)])
def test_off_beat_stabs_are_octave_ambiguous(tempo, bars):
    """Bass on the beats, chords on every "and": 80 BPM or 160 make the same onsets, so only an octave of the
    tempo is promised (stabs louder than the beats may also fail the loop's downbeat test: then measured)."""
    estimate = detect_bpm(groove("skank", tempo, bars, 44_100), 44_100)
    assert min(abs(estimate.bpm - tempo * f) for f in (0.5, 1.0, 2.0)) <= 0.5


def test_three_bar_loop_is_measured_unless_said_to_be_a_loop():
    audio = groove("rock", 120.0, 3, 44_100)
    measured = detect_bpm(audio, 44_100)  # two bars of 80 BPM fit the length and the eighth notes; not the beat
    assert measured.method == "autocorrelation" and abs(measured.bpm - 120.0) <= 0.5
    looped = detect_bpm(audio, 44_100, is_loop=True)
    assert looped.method == "loop-length" and looped.bars == 3 and abs(looped.bpm - 120.0) <= 0.01


def test_sixteen_bar_loop():
    estimate = detect_bpm(groove("keys", 128.0, 16, 44_100), 44_100)
    assert estimate.bars == 16 and abs(estimate.bpm - 128.0) <= 0.01


def test_is_loop_false_measures_a_loop():
    estimate = detect_bpm(groove("house", 128.0, 4, 48_000), 48_000, is_loop=False)
    assert estimate.method == "autocorrelation" and estimate.bars is None
    assert abs(estimate.bpm - 128.0) <= 0.2


def test_padding_after_a_loop_is_measured_not_trusted():
    """Encoder padding (50 ms of silence) would put the loop-length answer 0.4 BPM off; it is measured."""
    audio = groove("house", 128.0, 4, 44_100)
    padded = np.concatenate([audio, np.zeros((2, 2_205), np.float32)], axis=1)
    estimate = detect_bpm(padded, 44_100)
    assert estimate.method == "autocorrelation" and abs(estimate.bpm - 128.0) <= 0.2


# --- not loops ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tempo", TEMPI)
def test_cut_mid_bar_is_measured_within_one_bpm(tempo):
    """7.3 bars from the downbeat: no bar count fits, the autocorrelation measures it."""
    style = STYLES[TEMPI.index(tempo) % len(STYLES)]
    estimate = detect_bpm(groove(style, tempo, 7.3, 44_100, loop=False), 44_100)
    assert estimate.method == "autocorrelation"
    assert abs(estimate.bpm - tempo) <= 1.0
    assert estimate.confidence >= 0.5


@pytest.mark.parametrize(("style", "tempo"), [("rock", 95.0), ("house", 128.0), ("hiphop", 150.0), ("keys", 174.0)])
def test_cut_starting_off_the_beat_is_within_one_bpm_of_an_octave(style, tempo):
    """Started on the "and" of a beat, the octave can go either way (documented): the beat is still found."""
    audio = groove(style, tempo, 9.0, 44_100, loop=False)
    start = round(60.0 / tempo / 2 * 44_100)
    end = start + round(5.6 * 4 * 60.0 / tempo * 44_100)
    estimate = detect_bpm(np.ascontiguousarray(audio[:, start:end]), 44_100)
    assert estimate.method == "autocorrelation"
    assert min(abs(estimate.bpm - tempo * f) for f in (0.5, 1.0, 2.0)) <= 1.0


def test_noise_has_low_confidence():
    noise = (0.1 * np.random.default_rng(5).standard_normal((2, 8 * 44_100))).astype(np.float32)
    assert detect_bpm(noise, 44_100).confidence < 0.3


# --- contract -------------------------------------------------------------------------------------------


def test_estimate_shape_mono_input_and_determinism():
    audio = groove("hiphop", 95.0, 2, 44_100)
    first = detect_bpm(audio, 44_100)
    assert isinstance(first, BpmEstimate)
    assert first == detect_bpm(audio.copy(), 44_100)
    mono = audio.mean(axis=0)
    assert detect_bpm(mono, 44_100) == detect_bpm(mono[np.newaxis], 44_100)
    with pytest.raises(AttributeError):
        first.bpm = 1.0  # frozen


def test_range_limits_the_answer():
    audio = groove("rock", 160.0, 4, 44_100)
    assert detect_bpm(audio, 44_100, low=60.0, high=100.0).bpm == pytest.approx(80.0, abs=0.01)
    assert detect_bpm(audio, 44_100, low=60.0, high=100.0, is_loop=False).bpm == pytest.approx(80.0, abs=0.2)


def test_thirty_seconds_of_stereo_well_under_a_second():
    audio = groove("house", 123.0, 15.4, 44_100, loop=False)
    assert audio.shape == (2, round(15.4 * 4 * 60 / 123.0 * 44_100))
    detect_bpm(audio[:, : 44_100 * 3], 44_100)  # compiled kernels load once
    started = time.perf_counter()
    estimate = detect_bpm(audio, 44_100)
    assert time.perf_counter() - started < 1.0
    assert abs(estimate.bpm - 123.0) <= 0.5


@pytest.mark.parametrize(("audio", "message"), [
    (np.zeros((2, 44_100), np.float32), "silent"),
    (groove("rock", 120.0, 1, 44_100)[:, :10_000], "shorter than one beat"),
    ((0.3 * np.sin(2 * np.pi * 440 * np.arange(88_200) / 44_100)).astype(np.float32), "no onsets"),
    (np.full((1, 44_100), np.nan, np.float32), "NaN"),
])
def test_bad_audio_names_the_field(audio, message):
    with pytest.raises(InvalidInputError, match=message) as error:
        detect_bpm(audio, 44_100)
    assert error.value.field == "audio"


@pytest.mark.parametrize(("low", "high", "field"), [
    (0.0, 180.0, "low"), (-70.0, 180.0, "low"), (float("nan"), 180.0, "low"), (70.0, float("inf"), "high"),
    (120.0, 120.0, "high"), (150.0, 100.0, "high"), ("70", 180.0, "low"), (70.0, True, "high"),
])
def test_bad_range_names_the_field(low, high, field):
    with pytest.raises(InvalidInputError) as error:
        detect_bpm(groove("rock", 120.0, 1, 44_100), 44_100, low=low, high=high)
    assert error.value.field == field


def test_bad_sample_rate_names_the_field():
    with pytest.raises(InvalidInputError) as error:
        detect_bpm(groove("rock", 120.0, 1, 44_100), 0)
    assert error.value.field == "sample_rate"


# --- the command ----------------------------------------------------------------------------------------


def _command(*argv: str) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="mixdown")
    add_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv)), parser


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bpm") / "loop.wav"
    write(path, groove("rock", 87.5, 2, 48_000), 48_000, subtype="PCM_24")
    return path


def test_command_prints_one_decimal(capsys, loop_file):
    args, _ = _command("bpm", str(loop_file))
    assert args.run(args) == 0
    assert capsys.readouterr().out == "87.5\n"


def test_command_json(capsys, loop_file):
    args, _ = _command("bpm", str(loop_file), "--json")
    assert args.run(args) == 0
    reply = json.loads(capsys.readouterr().out)
    assert set(reply) == {"bpm", "confidence", "bars", "method", "path"}
    assert reply["bpm"] == pytest.approx(87.5, abs=0.01)
    assert reply["bars"] == 2 and reply["method"] == "loop-length" and reply["path"] == str(loop_file)
    assert 0.0 <= reply["confidence"] <= 1.0


def test_command_loop_flags(capsys, loop_file):
    args, _ = _command("bpm", str(loop_file), "--no-loop", "--json")
    assert args.loop is False and args.run(args) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["method"] == "autocorrelation" and reply["bars"] is None
    assert abs(reply["bpm"] - 87.5) <= 0.5
    args, _ = _command("bpm", str(loop_file), "--loop")
    assert args.loop is True
    assert _command("bpm", str(loop_file))[0].loop is None
    with pytest.raises(SystemExit):
        _command("bpm", str(loop_file), "--loop", "--no-loop")


def test_command_errors_name_their_field(tmp_path):
    args, _ = _command("bpm", str(tmp_path / "missing.wav"))
    with pytest.raises(AudioReadError) as error:
        args.run(args)
    assert error.value.field == "path" and error.value.exit_code == 2
    silent = tmp_path / "silent.wav"
    write(silent, np.zeros((2, 48_000), np.float32), 48_000)
    args, _ = _command("bpm", str(silent))
    with pytest.raises(InvalidInputError) as error:
        args.run(args)
    assert error.value.field == "audio" and error.value.exit_code == 2
