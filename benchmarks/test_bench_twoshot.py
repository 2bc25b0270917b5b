"""A 16-track, 3-minute TwoShot project (~1,700 clips) rendered end to end, against a pedalboard renderer.

mixdown runs as the command line (``mixdown render``, process start included, ``high`` stretch); the peer
runs in-process (no start-up cost). Targets: mixdown >= 60x realtime and >= 3x faster than the peer. A
60-minute version checks that peak memory stays bounded (the render streams).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import pytest
import soundfile

from benchmarks.pedalboard_renderer import render_with_pedalboard
from benchmarks.twoshot_project import project, write_library

GROUP = "TwoShot project, 16 tracks, 3 min, ~1,700 clips, to 24-bit WAV"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("twoshot")
    write_library(folder / "library")
    for minutes in (3, 60):
        (folder / f"project{minutes}.json").write_text(json.dumps(project(minutes)))
    return folder


def _cli(workspace, minutes):
    output = workspace / f"mixdown{minutes}.wav"
    command = [sys.executable, "-m", "mixdown.cli", "render", str(workspace / f"project{minutes}.json"),
               "--library", str(workspace / "library"), "-o", str(output), "--quality", "high", "--json",
               "--jobs", str(workspace / "jobs")]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(result.stdout), output


def test_mixdown_cli_end_to_end(benchmark, peer_report, workspace):
    _cli(workspace, 3)
    _, reply, output = benchmark.pedantic(_cli, args=(workspace, 3), rounds=3, iterations=1)
    best = peer_report.from_benchmark(benchmark, GROUP, "mixdown render (CLI, process start included)",
                                      reply["duration"], f"{reply['clips']} clips")
    assert soundfile.info(str(output)).frames == reply["frames"] == 180 * 44_100
    assert reply["duration"] / best >= 60


def test_pedalboard_renderer(benchmark, peer_report, workspace):
    document = json.loads((workspace / "project3.json").read_text())
    output = workspace / "pedalboard.wav"
    frames = benchmark.pedantic(render_with_pedalboard, args=(document, workspace / "library", output), rounds=1,
                                iterations=1)
    peer_report.from_benchmark(benchmark, GROUP, "pedalboard R3 + numpy (in-process)", frames / 44_100)


def test_sixty_minutes_stream_in_bounded_memory(peer_report, workspace):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, reply, output = _cli(workspace, 60)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert soundfile.info(str(output)).frames == reply["frames"]
    note = f"{reply['clips']} clips, peak RSS {peak_mb:.0f} MB (children's peak before: {before / 1024:.0f} MB)"
    peer_report.record("TwoShot project, 60 min (streamed)", "mixdown render (CLI)", seconds, reply["duration"], note)
    assert peak_mb < 1024
