"""Streaming a 60-minute, 16-track render to WAV: peak memory beyond the decoded sources (< 300 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parent.parent


def test_stream_60_minutes_to_wav(tmp_path, peer_report):
    output = tmp_path / "hour.wav"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream_memory", str(output), "--minutes", "60", "--tracks", "16"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    figures = json.loads(result.stdout)
    print(figures)
    assert figures["frames"] == figures["expected_frames"] == soundfile.info(str(output)).frames
    peer_report.record(
        "stream 60 min x 16 tracks to 24-bit WAV", "mixdown render_blocks + write_blocks", figures["seconds"],
        figures["minutes"] * 60, f"peak memory beyond sources: {figures['beyond_sources_mb']} MB",
    )
    assert figures["beyond_sources_mb"] < 300
