"""Peak memory and speed of ``loudness``, ``export`` (FLAC -> MP3) and ``normalize`` on a 60-minute stereo file,
streaming against the whole-file path they replaced, measured in the same run (``benchmarks/file_memory.py``).

``MIXDOWN_BENCH_MINUTES`` shortens the file for a quick run and ``MIXDOWN_BENCH_ROUNDS`` alternates more runs
of each path (best time kept); ``results/file_memory.md`` holds the figures of both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINUTES = float(os.environ.get("MIXDOWN_BENCH_MINUTES", "60"))
ROUNDS = int(os.environ.get("MIXDOWN_BENCH_ROUNDS", "1"))
#: The whole process's peak, its imports and compiled kernels included, of each streaming command.
BUDGET_MB = 200


def test_long_file_commands_stream_in_bounded_memory(tmp_path, peer_report):
    result = subprocess.run([sys.executable, "-m", "benchmarks.file_memory", str(tmp_path), "--minutes", str(MINUTES),
                             "--rounds", str(ROUNDS)],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout)
    print(json.dumps(figures, indent=1))
    audio_seconds = figures["frames"] / 44_100
    baseline = figures["baseline_rss_mb"]
    for operation, rows in figures["operations"].items():
        group = f"{operation} of a {MINUTES:g}-minute stereo FLAC: time and peak memory"
        for path, row in ((k, v) for k, v in rows.items() if k != "speed_ratio"):
            peer_report.record(group, f"mixdown {operation} ({path.replace('_', ' ')})", row["seconds"], audio_seconds,
                               f"peak RSS {row['peak_rss_mb']} MB (process baseline {baseline} MB)")
        assert rows["streaming"]["peak_rss_mb"] < BUDGET_MB
        assert rows["streaming"]["peak_rss_mb"] < rows["whole_file"]["peak_rss_mb"]
        assert rows["speed_ratio"] >= 1.0, f"{operation}: streaming slower than decoding the whole file"
