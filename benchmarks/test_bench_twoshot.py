"""A 16-track, 3-minute TwoShot project (~1,700 clips) rendered end to end, against a pedalboard renderer.

mixdown runs as the command line (``mixdown render``, process start included, ``high`` stretch); the peer
runs in-process (no start-up cost). Targets: mixdown >= 60x realtime and >= 3x faster than the peer. A
60-minute version checks that peak memory stays bounded (the render streams).
"""

from __future__ import annotations

import json
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


def _cli(workspace, minutes, module="mixdown.cli"):
    output = workspace / f"mixdown{minutes}.wav"
    command = [sys.executable, "-m", module, "render", str(workspace / f"project{minutes}.json"),
               "--library", str(workspace / "library"), "-o", str(output), "--quality", "high", "--json",
               "--jobs", str(workspace / "jobs")]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = [line for line in result.stderr.splitlines() if line.startswith("peak_rss_mb=")]
    reply = json.loads(result.stdout)
    if peak:
        reply["peak_rss_mb"] = float(peak[-1].split("=")[1])
    return seconds, reply, output


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
    _, short, _ = _cli(workspace, 3, module="benchmarks.peak_rss")
    seconds, reply, output = _cli(workspace, 60, module="benchmarks.peak_rss")
    assert soundfile.info(str(output)).frames == reply["frames"]
    note = (f"{reply['clips']} clips; peak RSS {reply['peak_rss_mb']:.0f} MB against "
            f"{short['peak_rss_mb']:.0f} MB for the 3-minute project")
    peer_report.record("TwoShot project, 60 min (streamed)", "mixdown render (CLI)", seconds, reply["duration"], note)
    assert reply["peak_rss_mb"] < short["peak_rss_mb"] + 150
