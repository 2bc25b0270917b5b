"""Run the mixdown command line in this process, then print its own peak resident memory (MB) on stderr.

``python -m benchmarks.peak_rss render PROJECT.json --library DIR -o OUT``: the last stderr line is
``peak_rss_mb=N``. The peak is the kernel's high-water mark of this process's own memory (``VmHWM``);
``ru_maxrss`` would not do, since Linux carries it over from the parent that forked the process.
"""

from __future__ import annotations

import sys

from mixdown.cli import main


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    status = main(sys.argv[1:])
    print(f"peak_rss_mb={peak_rss_mb():.1f}", file=sys.stderr)
    sys.exit(status)
