"""Mixing throughput: a 16-track, 3-minute, 1,000-clip stereo timeline, mixdown against plain numpy.

Target: >= 1,000x realtime on one core (numba runs single-threaded here).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.workloads import arrangement, numpy_mix
from mixdown.engine import render, render_blocks

SECONDS = 180.0
GROUP = "mix: 16 tracks, 3 min, 1,000 clips, stereo 44.1 kHz"


@pytest.fixture(scope="module")
def timeline():
    timeline = arrangement(SECONDS, tracks=16, clips=1000)
    render(timeline, 0, 10_000)
    return timeline


def test_mix_mixdown_streaming(benchmark, timeline, peer_report):
    def stream():
        for _ in render_blocks(timeline):
            pass

    benchmark.pedantic(stream, rounds=5, warmup_rounds=1)
    best = peer_report.from_benchmark(benchmark, GROUP, "mixdown render_blocks", timeline.length / 44_100)
    assert best > 0


def test_mix_mixdown_one_shot(benchmark, timeline, peer_report):
    out = benchmark.pedantic(render, args=(timeline,), rounds=5, warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUP, "mixdown render (whole array)", timeline.length / 44_100)
    np.testing.assert_allclose(out, numpy_mix(timeline), atol=1e-5)


def test_mix_numpy_slicing(benchmark, timeline, peer_report):
    benchmark.pedantic(numpy_mix, args=(timeline,), rounds=5, warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUP, "numpy slice-and-sum", timeline.length / 44_100)
