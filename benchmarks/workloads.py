"""Synthesized timelines the benchmarks render, with a plain-numpy mixer as the peer."""

from __future__ import annotations

import numpy as np

from mixdown.engine import Clip, Fade, Source, Timeline, Track, fade_envelope
from mixdown.engine.pan import mix_matrix

SAMPLE_RATE = 44_100


def source_pool(count: int = 24, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> list[Source]:
    """Loops and one-shots of 0.25 to 4 s, mono and stereo, as a sample library would hold."""
    rng = np.random.default_rng(seed)
    pool = []
    for i in range(count):
        seconds = float(rng.uniform(0.25, 4.0))
        channels = 1 + i % 2
        audio = (0.2 * rng.standard_normal((channels, round(seconds * sample_rate)))).astype(np.float32)
        pool.append(Source(audio, sample_rate, f"source {i}"))
    return pool


def arrangement(
    seconds: float, tracks: int = 16, clips: int = 1000, seed: int = 1, sample_rate: int = SAMPLE_RATE
) -> Timeline:
    """``tracks`` lanes filled end to end for ``seconds`` with ``clips`` clips drawn from a shared pool.

    A third of the clips have fades (every curve), a tenth are reversed, pans and gains vary.
    """
    rng = np.random.default_rng(seed)
    pool = source_pool(seed=seed, sample_rate=sample_rate)
    total = round(seconds * sample_rate)
    per_track = clips // tracks
    curves = ["linear", "equal-power", "exponential"]
    lanes = []
    for t in range(tracks):
        count = per_track + (1 if t < clips - per_track * tracks else 0)
        slot = total / count
        lane = []
        for k in range(count):
            source = pool[int(rng.integers(len(pool)))]
            length = min(source.frames, max(64, round(slot * rng.uniform(0.8, 1.1))))
            start = int(rng.integers(0, source.frames - length + 1))
            fades = {}
            if rng.random() < 0.33:
                fades = {
                    "fade_in": Fade(int(rng.integers(0, length // 4)), curves[k % 3]),
                    "fade_out": Fade(int(rng.integers(0, length // 4)), curves[(k + 1) % 3]),
                }
            lane.append(
                Clip(source, round(k * slot), start, start + length, gain=float(rng.uniform(0.3, 1.0)),
                     pan=float(rng.uniform(-1, 1)), reverse=bool(rng.random() < 0.1), **fades)
            )
        lanes.append(Track(lane, gain=float(rng.uniform(0.5, 1.0)), pan=float(rng.uniform(-0.5, 0.5))))
    return Timeline(sample_rate, lanes)


def numpy_mix(timeline: Timeline) -> np.ndarray:
    """The same mix by plain numpy slicing and summing: one matrix product and slice-add per clip."""
    out = np.zeros((timeline.channels, timeline.length), dtype=np.float32)
    for t, _, clip in timeline.audible_clips():
        track = timeline.tracks[t]
        segment = clip.source.audio[:, clip.source_start : clip.source_end]
        if clip.reverse:
            segment = segment[:, ::-1]
        matrix = mix_matrix(clip.source.channels, timeline.channels, clip.gain * track.gain, clip.pan, track.pan)
        mixed = matrix @ segment
        if clip.fade_in.length or clip.fade_out.length:
            mixed *= fade_envelope(clip.length, clip.fade_in, clip.fade_out).astype(np.float32)
        out[:, clip.position : clip.end] += mixed
    return out
