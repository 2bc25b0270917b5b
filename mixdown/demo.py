"""The bundled demo: a synthesized 8-bar, 4-track arrangement on the engine timeline.

Every sound is generated here (no audio files ship with mixdown), and the arrangement exercises what the
engine does: clips reused many times, fades of each curve, a reversed swell, pans and a muted track.
"""

from __future__ import annotations

import numpy as np

from mixdown.engine import Clip, Fade, Source, Timeline, Track

DEMO_SAMPLE_RATE = 44_100
DEMO_BPM = 120.0
DEMO_BARS = 8


def _beats(beats: float, sample_rate: int, bpm: float) -> int:
    return round(beats * 60.0 / bpm * sample_rate)


def _kick(sample_rate: int) -> np.ndarray:
    t = np.arange(int(0.35 * sample_rate)) / sample_rate
    phase = 2 * np.pi * (45 * t + (120 / 18.0) * (1 - np.exp(-18 * t)))
    return (0.9 * np.sin(phase) * np.exp(-9 * t))[np.newaxis].astype(np.float32)


def _hat(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.08 * sample_rate)
    noise = np.diff(rng.standard_normal(n + 1))
    return (0.25 * noise * np.exp(-60 * np.arange(n) / sample_rate))[np.newaxis].astype(np.float32)


def _chord(sample_rate: int, root_hz: float, beats: float, bpm: float) -> np.ndarray:
    n = _beats(beats, sample_rate, bpm)
    t = np.arange(n) / sample_rate
    ratios = (1.0, 5 / 4, 3 / 2, 2.0)
    left = sum(np.sin(2 * np.pi * root_hz * r * t + i) for i, r in enumerate(ratios))
    right = sum(np.sin(2 * np.pi * root_hz * r * 1.003 * t + 2 * i) for i, r in enumerate(ratios))
    return (0.12 * np.stack([left, right])).astype(np.float32)


def _bass(sample_rate: int, hz: float, beats: float, bpm: float) -> np.ndarray:
    t = np.arange(_beats(beats, sample_rate, bpm)) / sample_rate
    wave = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 6))
    return (0.3 * wave * np.exp(-1.5 * t))[np.newaxis].astype(np.float32)


def demo_timeline(sample_rate: int = DEMO_SAMPLE_RATE) -> Timeline:
    """The demo arrangement at ``sample_rate``: 8 bars of 4/4 at 120 BPM (16 s plus the last tails)."""
    rng = np.random.default_rng(2024)
    bpm = DEMO_BPM
    at = lambda beats: _beats(beats, sample_rate, bpm)  # noqa: E731
    kick = Source(_kick(sample_rate), sample_rate, "kick")
    hat = Source(_hat(sample_rate, rng), sample_rate, "hat")
    swell = Source((0.3 * rng.standard_normal((2, at(2)))).astype(np.float32), sample_rate, "swell")
    chords = [
        Source(_chord(sample_rate, hz, 8, bpm), sample_rate, f"chord {hz}") for hz in (220.0, 174.6, 261.6, 196.0)
    ]
    basses = [Source(_bass(sample_rate, hz, 2, bpm), sample_rate, f"bass {hz}") for hz in (55.0, 43.65, 65.4, 49.0)]
    beats = DEMO_BARS * 4

    drums = [Clip(kick, at(b)) for b in range(beats)]
    drums += [Clip(hat, at(b + 0.5), pan=0.35 if b % 2 else -0.35, gain=0.8) for b in range(beats)]
    pads = [
        Clip(chords[i % 4], at(8 * i), fade_in=Fade(at(1), "equal-power"), fade_out=Fade(at(2), "exponential"))
        for i in range(DEMO_BARS // 2)
    ]
    swells = [
        Clip(swell, at(8 * i + 6), reverse=True, fade_in=Fade(at(1.5), "exponential"), fade_out=Fade(64, "linear"))
        for i in range(DEMO_BARS // 2)
    ]
    bass = [Clip(basses[(b // 8) % 4], at(b), fade_out=Fade(at(0.25))) for b in range(0, beats, 2)]
    return Timeline(
        sample_rate,
        [
            Track(drums, gain=0.9, name="drums"),
            Track(pads, gain=0.7, pan=-0.1, name="pads"),
            Track(swells, gain=0.5, pan=0.2, name="swells"),
            Track(bass, gain=0.8, name="bass"),
            Track([Clip(swell, 0)], mute=True, name="muted sketch"),
        ],
    )
