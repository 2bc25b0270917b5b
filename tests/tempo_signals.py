"""Audio of known tempo, or of none, built from code for the tempo tests and the tempo benchmark.

Grooves: two drum kits playing rock, house, hip-hop, two-step and half-time patterns, and bass+chord loops,
with swing, humanized timing and velocity, a noise floor, gain steps, a silent lead-in, cuts on and off bar
lines and an mp3 round trip. One-shots: drum hits, single notes (decaying and sustained), chords and noise
bursts, some with a reverb tail. A loop's hits that ring past its end wrap round to its start, as when it
repeats; a cut's do not.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import av
import numpy as np
import scipy.signal

TEMPI = (70.0, 80.0, 87.5, 95.0, 100.0, 110.0, 120.0, 128.0, 135.0, 140.0, 150.0, 160.0, 174.0, 180.0)
BARS = (1, 2, 4, 8)
STYLES = ("rock", "house", "hiphop", "twostep", "keys", "stabs")
RATES = (44_100, 48_000)


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


def _noise(rng: np.random.Generator, rate: int, seconds: float, decay: float, brightness: int,
           attack: float = 0.0005) -> np.ndarray:
    n = round(seconds * rate)
    x = rng.standard_normal(n)
    for _ in range(brightness):  # each difference tilts the spectrum up by 6 dB/octave
        x = np.diff(x, prepend=0.0) * 0.5
    return x * _envelope(n, rate, decay, attack=attack)


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


#: Drum patterns: (sound, sixteenth steps of a 4/4 bar, gain). The half-time ones put the snare on beat 3.
DRUMS = {
    "rock": [("kick", [0, 8], 1.0), ("snare", [4, 12], 0.8), ("hat", range(0, 16, 2), 0.35)],
    "house": [("kick", [0, 4, 8, 12], 1.0), ("snare", [4, 12], 0.6), ("open", [2, 6, 10, 14], 0.35),
              ("hat", range(16), 0.12)],
    "hiphop": [("kick", [0, 7, 10], 1.0), ("snare", [4, 12], 0.9), ("hat", range(0, 16, 2), 0.35)],
    "twostep": [("kick", [0, 10], 1.0), ("snare", [4, 12], 0.9), ("hat", range(0, 16, 2), 0.3),
                ("snare", [7, 15], 0.2)],
    "halftime": [("kick", [0, 3], 1.0), ("snare", [8], 0.9), ("hat", range(0, 16, 2), 0.35)],
    "halftime16": [("kick", [0, 6], 1.0), ("snare", [8], 0.9), ("hat", range(16), 0.3), ("kick", [11], 0.7)],
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
           swing: float = 0.0, start_bars: float = 0.0) -> np.ndarray:
    """``bars`` bars of ``style`` at ``bpm``: a loop (hits wrap round), or cut after ``bars`` (may be fractional).

    ``swing``: the off-beat eighths are late by this fraction of a beat (1/6: triplet swing).
    ``start_bars``: the cut starts this far into the groove (off the bar line when fractional).
    """
    rng = np.random.default_rng(seed)
    human = np.random.default_rng(seed + 1)
    step = 60.0 / bpm / 4
    offset = round(start_bars * 16 * step * rate)
    total = round(bars * 16 * step * rate)
    out = np.zeros((2, offset + total))
    hits: list[tuple[int, np.ndarray, str]] = []
    for bar in range(int(np.ceil(bars + start_bars))):
        if style in DRUMS:
            sounds = _kit(rate, rng, variant)
            hits += [(bar * 16 + s, gain * sounds[name], name) for name, steps, gain in DRUMS[style] for s in steps]
        else:
            chords, basses = HARMONY[style]
            root = ROOTS[bar % 4]
            hits += [(bar * 16 + s, 0.5 * _tone(rate, 3 * step, [root * 4, root * 5, root * 6], 0.2, 0.004), "chord")
                     for s in chords]
            hits += [(bar * 16 + s, 0.8 * _tone(rate, 4 * step, [root], 0.3, 0.002), "bass") for s in basses]
    length = out.shape[1]
    for position, sound, name in hits:
        late = swing * 4 if position % 4 == 2 else 0.0
        start = round((position + late) * step * rate)
        if position:
            start = max(0, start + round(human.normal(0.0, jitter_ms / 1000) * rate))
        if start >= length:
            continue
        sound = sound * 10 ** (human.normal(0.0, velocity_db) / 20) if velocity_db else sound
        left, right = np.cos((PANS[name] + 1) * np.pi / 4), np.sin((PANS[name] + 1) * np.pi / 4)
        while sound.size:
            take = min(sound.size, length - start)
            out[0, start : start + take] += left * sound[:take]
            out[1, start : start + take] += right * sound[:take]
            sound = sound[take:] if loop and not start_bars else sound[:0]
            start = 0
    out = out[:, offset:]
    out *= 0.5 / np.max(np.abs(out))
    if noise_db is not None:
        out += 10 ** (noise_db / 20) * human.standard_normal(out.shape)
    if channels == 1:
        out = out.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(out, dtype=np.float32)


# --- one-shots ------------------------------------------------------------------------------------------

ONE_SHOTS = ("kick", "808", "snare", "clap", "hat", "open-hat", "crash", "tom", "pluck", "piano", "pad", "organ",
             "bass", "stab", "noise-burst", "long-noise", "riser", "reverse-cymbal")


def one_shot(kind: str, rate: int, seed: int = 0) -> np.ndarray:
    """One sound of ``kind`` (see :data:`ONE_SHOTS`), mono float64, peak 0.5."""
    rng = np.random.default_rng(seed)
    vary = 1.0 + 0.2 * (rng.random() - 0.5)
    kit = _kit(rate, rng, seed % 2)
    if kind in ("kick", "snare", "hat"):
        sound = kit[kind]
    elif kind == "open-hat":
        sound = kit["open"]
    elif kind == "808":
        sound = _sweep(rate, 1.6 * vary, 90, 45, 0.02, 0.6)
    elif kind == "clap":
        sound = _kit(rate, rng, 1)["snare"]
    elif kind == "crash":
        sound = _noise(rng, rate, 2.5 * vary, 0.8, 2)
    elif kind == "tom":
        sound = _sweep(rate, 0.6, 220 * vary, 110 * vary, 0.05, 0.2)
    elif kind == "pluck":
        sound = _tone(rate, 1.2, [220.0 * vary], 0.25, 0.001)
    elif kind == "piano":
        sound = _tone(rate, 3.0, [261.6 * vary, 329.6 * vary, 392.0 * vary], 0.9, 0.002)
    elif kind == "pad":  # slow attack, vibrato, held
        n = round(4.0 * rate)
        t = np.arange(n) / rate
        phase = 2 * np.pi * np.cumsum(220.0 * vary * (1 + 0.004 * np.sin(2 * np.pi * 5.0 * t))) / rate
        sound = (np.sin(phase) + 0.3 * np.sin(2 * phase)) * np.minimum(1.0, t / 0.4) * np.minimum(1.0, (4.0 - t) / 0.5)
    elif kind == "organ":
        sound = _tone(rate, 3.0 * vary, [196.0, 293.7], 1e9, 0.01)
    elif kind == "bass":
        sound = _tone(rate, 1.5, [55.0 * vary], 0.5, 0.003)
    elif kind == "stab":
        sound = _tone(rate, 0.5, [261.6, 311.1, 392.0], 0.12, 0.002) + 0.3 * _noise(rng, rate, 0.5, 0.02, 1)
    elif kind == "noise-burst":
        sound = _noise(rng, rate, 0.5 * vary, 1e9, 0, attack=0.002)
    elif kind == "long-noise":
        sound = _noise(rng, rate, 4.0 * vary, 1e9, 1, attack=0.05)
    elif kind == "riser":
        n = round(3.0 * rate)
        sound = _noise(rng, rate, 3.0, 1e9, 2, attack=0.01) * np.linspace(0.05, 1.0, n) ** 2
    elif kind == "reverse-cymbal":
        sound = _noise(rng, rate, 2.0 * vary, 0.5, 2)[::-1].copy()
    else:
        raise ValueError(kind)
    return 0.5 * sound / np.max(np.abs(sound))


def with_reverb(audio: np.ndarray, rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """``audio`` (mono) convolved with a decaying noise tail of ``seconds``, the tail appended."""
    rng = np.random.default_rng(seed)
    n = round(seconds * rate)
    impulse = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.25 * n)) * 0.03
    impulse[0] = 1.0
    wet = scipy.signal.fftconvolve(audio, impulse)
    return 0.5 * wet / np.max(np.abs(wet))


# --- alterations ----------------------------------------------------------------------------------------


def lead_in(audio: np.ndarray, rate: int, seconds: float, tail: float = 0.0) -> np.ndarray:
    """Silence of ``seconds`` before ``audio`` and of ``tail`` after it."""
    channels = audio.shape[0]
    return np.ascontiguousarray(np.concatenate([np.zeros((channels, round(seconds * rate)), audio.dtype), audio,
                                                np.zeros((channels, round(tail * rate)), audio.dtype)], axis=1))


def gain_steps(audio: np.ndarray, steps_db: tuple[float, ...]) -> np.ndarray:
    """``audio`` cut into ``len(steps_db)`` equal parts, each at its own gain (a fader moved in steps)."""
    out = audio.copy()
    edges = np.linspace(0, audio.shape[1], len(steps_db) + 1).astype(int)
    for (a, b), db in zip(itertools.pairwise(edges), steps_db, strict=True):
        out[:, a:b] *= 10 ** (db / 20)
    return out


def mp3_round_trip(audio: np.ndarray, rate: int, kbps: int = 128) -> np.ndarray:
    """``audio`` encoded by LAME (through PyAV) without a gapless header and decoded: encoder delay and padding
    included, as a player without gapless support gives them."""
    channels = audio.shape[0]
    encoded = io.BytesIO()
    with av.open(encoded, "w", format="mp3", options={"write_xing": "0"}) as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="stereo" if channels == 2 else "mono")
        stream.bit_rate = kbps * 1000
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, dtype=np.float32), format="fltp",
                                           layout=stream.layout.name)
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    encoded.seek(0)
    blocks = []
    with av.open(encoded, format="mp3") as container:
        for decoded in container.decode(audio=0):
            block = decoded.to_ndarray()
            blocks.append(block.reshape(channels, -1) if decoded.format.is_planar else block.reshape(-1, channels).T)
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)


# --- cases ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One test signal: ``bpm`` is the true tempo, ``None`` for a one-shot."""

    name: str
    audio: np.ndarray
    rate: int
    bpm: float | None


def tempo_cases(count: int, seed: int) -> list[Case]:
    """``count`` grooves of known tempo, each with a seeded mix of the alterations above."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        kind = ("loop", "offgrid", "leadin", "noisy", "gain", "mp3", "swing", "halftime")[i % 8]
        rate = RATES[int(rng.integers(2))]
        style = STYLES[int(rng.integers(len(STYLES)))]
        tempo = float(rng.choice(TEMPI)) if rng.random() < 0.5 else round(float(rng.uniform(70, 180)), 2)
        bars: float = float(BARS[int(rng.integers(len(BARS)))])
        options: dict = {"variant": int(rng.integers(2)), "seed": i, "channels": 1 + int(rng.integers(2))}
        if kind == "offgrid":
            bars = max(1.3, bars + float(rng.uniform(0.1, 0.9)))
            options |= {"start_bars": float(rng.uniform(0.05, 0.95)), "loop": False}
        elif kind == "swing":
            style = ("rock", "hiphop", "twostep", "house")[int(rng.integers(4))]
            options |= {"swing": float(rng.uniform(0.08, 1 / 6))}
            tempo = min(tempo, 140.0)
        elif kind == "halftime":
            style = ("halftime", "halftime16")[int(rng.integers(2))]
            tempo = round(float(rng.uniform(70, 90)), 2)
            bars = max(2.0, bars)
        elif kind == "noisy":
            options |= {"noise_db": float(rng.uniform(-40, -24)), "jitter_ms": 4.0, "velocity_db": 2.0}
        audio = groove(style, tempo, bars, rate, **options)
        if kind == "leadin":
            audio = lead_in(audio, rate, float(rng.uniform(0.05, 1.0)), float(rng.choice([0.0, 0.5])))
        elif kind == "gain":
            audio = gain_steps(audio, tuple(float(g) for g in rng.uniform(-12, 0, 3)))
        elif kind == "mp3":
            audio = mp3_round_trip(audio, rate)
        cases.append(Case(f"{kind}-{style}-{tempo:g}bpm-{bars:g}bars-{i}", audio, rate, tempo))
    return cases


def one_shot_cases(count: int, seed: int) -> list[Case]:
    """``count`` one-shots: every kind in turn, some with reverb, lead-in silence, stereo or an mp3 trip."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        kind = ONE_SHOTS[i % len(ONE_SHOTS)]
        rate = RATES[int(rng.integers(2))]
        sound = one_shot(kind, rate, seed=seed * 1000 + i)
        if rng.random() < 0.3:
            sound = with_reverb(sound, rate, float(rng.uniform(0.5, 2.0)), seed=i)
        audio = np.ascontiguousarray(np.repeat(sound[np.newaxis], 1 + int(rng.integers(2)), axis=0), np.float32)
        if rng.random() < 0.3:
            audio = lead_in(audio, rate, float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.0, 1.0)))
        if rng.random() < 0.2:
            audio = mp3_round_trip(audio, rate)
        cases.append(Case(f"one-shot-{kind}-{i}", audio, rate, None))
    return cases
