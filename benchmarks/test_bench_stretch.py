"""Time-stretch speed on 60 s of stereo 44.1 kHz music-like audio, every engine in the same run.

Targets: mixdown ``high`` >= 150x realtime on one core and >= 8x faster than pedalboard's R3; ``draft``
>= 400x realtime. Ratios 0.8 (slower, more output) and 1.25.
"""

from __future__ import annotations

import pytest

from benchmarks.signals import SAMPLE_RATE, music_like
from benchmarks.stretch_peers import engines

ENGINES = engines()
SECONDS = 60.0
#: Every engine is timed the same number of times and reported by its best (``PeerReport.from_benchmark``),
#: so a ratio compares like with like: fewer rounds for a peer would give it fewer chances at a quiet moment.
ROUNDS = 3


@pytest.fixture(scope="module")
def music():
    return music_like(SECONDS)


@pytest.mark.parametrize("ratio", [0.8, 1.25])
@pytest.mark.parametrize("engine", list(ENGINES))
def test_stretch_speed(benchmark, peer_report, music, engine, ratio):
    run = ENGINES[engine]
    run(music[:, : SAMPLE_RATE * 2], SAMPLE_RATE, ratio, 0.0)
    benchmark.pedantic(run, args=(music, SAMPLE_RATE, ratio, 0.0), rounds=ROUNDS, iterations=1)
    peer_report.from_benchmark(benchmark, f"stretch 60 s stereo 44.1 kHz, ratio {ratio}", engine, SECONDS)


@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "librosa"])
def test_pitch_speed(benchmark, peer_report, music, engine):
    run = ENGINES[engine]
    run(music[:, : SAMPLE_RATE * 2], SAMPLE_RATE, 1.0, 3.0)
    benchmark.pedantic(run, args=(music, SAMPLE_RATE, 1.0, 3.0), rounds=ROUNDS, iterations=1)
    peer_report.from_benchmark(benchmark, "pitch +3 semitones, 60 s stereo 44.1 kHz", engine, SECONDS)
