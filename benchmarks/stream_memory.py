"""Peak memory of streaming a long multi-track render to a WAV file, beyond the decoded sources.

Run as a script (a fresh process, so the peak RSS is this job's alone):
``python -m benchmarks.stream_memory --minutes 60 --tracks 16 OUT.wav``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.peak_rss import peak_rss_mb
from benchmarks.workloads import SAMPLE_RATE, arrangement
from mixdown.engine import render, render_blocks
from mixdown.formats import write_blocks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--tracks", type=int, default=16)
    args = parser.parse_args()
    seconds = args.minutes * 60
    clips = round(1000 * seconds / 180)
    timeline = arrangement(seconds, tracks=args.tracks, clips=clips)
    render(timeline, 0, 1000)
    baseline = peak_rss_mb()
    started = time.perf_counter()
    frames = write_blocks(args.output, render_blocks(timeline), SAMPLE_RATE, timeline.channels, subtype="PCM_24")
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "minutes": args.minutes,
        "tracks": args.tracks,
        "clips": clips,
        "frames": frames,
        "expected_frames": timeline.length,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "beyond_sources_mb": round(peak_rss_mb() - baseline, 1),
        "seconds": round(elapsed, 2),
        "x_realtime": round(timeline.length / SAMPLE_RATE / elapsed, 1),
    }))


if __name__ == "__main__":
    main()
