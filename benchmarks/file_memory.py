"""Peak memory and time of ``loudness``, ``export`` (FLAC -> MP3) and ``normalize`` on one long stereo file:
the streaming commands against the whole-file path they replaced (decode it all with ``read``, then measure,
export or normalize the array), each in a fresh process so its peak is its own.

``python -m benchmarks.file_memory --minutes 60 FOLDER`` synthesizes FOLDER/long.flac (44.1 kHz stereo,
24-bit) once and prints one JSON object: per operation and path, ``peak_rss_mb``, ``seconds`` and
``x_realtime``. ``python -m benchmarks.file_memory --whole OP IN OUT`` runs the whole-file path of OP alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.peak_rss import peak_rss_mb

RATE = 44_100
BLOCK = 1 << 20

#: The command line's arguments per operation, after the input file.
OPERATIONS = {
    "loudness": lambda out: ["--json"],
    "export": lambda out: ["-o", str(out / "long.mp3"), "--spec", '{"format": "mp3", "bit_rate": 192}'],
    "normalize": lambda out: ["-o", str(out / "long-normalized.flac"), "--lufs", "-23"],
}


def _programme(frames: int) -> Iterator[np.ndarray]:
    """Music-like stereo: a chord whose level drifts, with noise bursts, block by block (never all at once)."""
    rng = np.random.default_rng(7)
    for start in range(0, frames, BLOCK):
        n = min(BLOCK, frames - start)
        t = (start + np.arange(n)) / RATE
        level = 0.15 * (1.2 + np.sin(2 * np.pi * t / 47.0))
        chord = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 220.5, 331.0, 441.5)) / 4
        noisy = rng.standard_normal((2, n)) * 0.05 * (np.sin(2 * np.pi * t / 3.1) > 0.6)
        yield (level * chord + noisy).astype(np.float32)


def make_input(folder: Path, minutes: float) -> Path:
    from mixdown.formats import write_blocks

    path = folder / "long.flac"
    frames = round(minutes * 60 * RATE)
    if not path.exists() or _frames(path) != frames:
        write_blocks(path, _programme(frames), RATE, 2, subtype="PCM_24")
    return path


def _frames(path: Path) -> int:
    import soundfile

    return soundfile.info(str(path)).frames


def whole(operation: str, source: Path, out: Path) -> None:
    """The whole-file path of each command as it was: decode everything, then work on the array. The
    command line's parser is built first, so both paths start from the same imports."""
    from mixdown.cli import _parser
    from mixdown.engine import measure_loudness, normalize_loudness
    from mixdown.formats import read, write
    from mixdown.formats.export import export

    _parser()
    audio, rate = read(source)
    if operation == "loudness":
        print(json.dumps(measure_loudness(audio, rate).to_dict()))
    elif operation == "export":
        export(audio, rate, {"format": "mp3", "bit_rate": 192}, out / "long.mp3")
    else:
        write(out / "long-normalized.flac", normalize_loudness(audio, rate, -23.0).audio, rate, subtype="PCM_24")


def baseline() -> float:
    """Peak memory of the command line's process on a one-second file: its imports and compiled kernels."""
    return _run(["-m", "benchmarks.peak_rss", "loudness", str(_tiny()), "--json"])["peak_rss_mb"]


def _tiny() -> Path:
    import tempfile

    from mixdown.formats import write

    path = Path(tempfile.mkdtemp()) / "second.flac"
    write(path, np.zeros((2, RATE), dtype=np.float32), RATE)
    return path


def _run(arguments: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = float(result.stderr.strip().splitlines()[-1].split("=")[1])
    return {"peak_rss_mb": round(peak, 1), "seconds": round(seconds, 2)}


def measure(folder: Path, minutes: float, operations: list[str]) -> dict:
    source = make_input(folder, minutes)
    audio_seconds = _frames(source) / RATE
    figures: dict = {"minutes": minutes, "frames": _frames(source), "baseline_rss_mb": baseline(),
                     "operations": {}}
    for operation in operations:
        streamed = _run(["-m", "benchmarks.peak_rss", operation, str(source), *OPERATIONS[operation](folder)])
        loaded = _run(["-m", "benchmarks.file_memory", "--whole", operation, str(source), str(folder)])
        for row in (streamed, loaded):
            row["x_realtime"] = round(audio_seconds / row["seconds"], 1)
        figures["operations"][operation] = {"streaming": streamed, "whole_file": loaded}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--only", action="append", choices=sorted(OPERATIONS))
    parser.add_argument("--whole", nargs=3, metavar=("OPERATION", "IN", "FOLDER"))
    args = parser.parse_args()
    if args.whole:
        operation, source, out = args.whole
        whole(operation, Path(source), Path(out))
        print(f"peak_rss_mb={peak_rss_mb():.1f}", file=sys.stderr)
        return
    print(json.dumps(measure(Path(args.folder), args.minutes, args.only or list(OPERATIONS))))


if __name__ == "__main__":
    main()
