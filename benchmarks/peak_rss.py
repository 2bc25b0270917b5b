"""Run the mixdown command line in this process, then print its own peak resident memory (MB) on stderr.

``python -m benchmarks.peak_rss render PROJECT.json --library DIR -o OUT``: the last stderr line is
``peak_rss_mb=N``.
"""

from __future__ import annotations

import resource
import sys

from mixdown.cli import main

if __name__ == "__main__":
    status = main(sys.argv[1:])
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}", file=sys.stderr)
    sys.exit(status)
