"""Independent decoders (ffprobe, ffmpeg, wvunpack, oggdec, flac) and the signals the format tests share.

Nothing here imports mixdown's decoders: every output is read back by a program mixdown does not run.
The tests at the bottom pin the helpers themselves (an aligner that could not find a delay would make
every lossy check meaningless).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import correlate

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None,
                                  reason="ffmpeg/ffprobe not installed")


def tool(name: str):
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} not installed")


def ffprobe(path: Path) -> dict:
    """ffprobe's view of the first stream, plus the container's name."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(result.stdout)
    return {**data["streams"][0], "format_name": data["format"]["format_name"]}


def ffmpeg_decode(path: Path, channels: int) -> np.ndarray:
    """Every sample ffmpeg decodes from ``path``, float32 ``(channels, frames)``."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-acodec", "pcm_f32le", "-"],
        capture_output=True, check=True,
    )
    return np.frombuffer(result.stdout, np.float32).reshape(-1, channels).T


def ffmpeg_decode_int(path: Path, channels: int) -> np.ndarray:
    """ffmpeg's decode as signed 32-bit integers (a 16-bit sample ``v`` comes out as ``v << 16``)."""
    result = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s32le", "-acodec", "pcm_s32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, np.int32).reshape(-1, channels).T


def wvunpack_bits(path: Path) -> int:
    """The stored bit depth libwavpack reports ("source: 20-bit ints")."""
    text = subprocess.run(["wvunpack", "-s", str(path)], capture_output=True, text=True, check=True).stdout
    line = next(line for line in text.splitlines() if line.startswith("source:"))
    return int(line.split()[1].split("-")[0])


def oggdec_frames(path: Path, folder: Path) -> int:
    """Frames the reference Vorbis decoder writes for ``path``."""
    out = folder / f"{path.stem}.oggdec.wav"
    subprocess.run(["oggdec", "-Q", "-o", str(out), str(path)], check=True)
    return soundfile.info(str(out)).frames


def tonal(seconds: float, rate: int, channels: int = 2) -> np.ndarray:
    """A chirp (200 to 700 Hz) over a 97 Hz tone, the same in every channel at falling level.

    Lossy codecs at their lowest bitrates keep it, and its autocorrelation has one peak, so a decoder's
    delay is found without ambiguity.
    """
    n = round(seconds * rate)
    t = np.arange(n) / rate
    phase = 2 * np.pi * (200.0 * t + 500.0 * t * t / (2 * seconds))
    wave = 0.35 * np.sin(phase) + 0.15 * np.sin(2 * np.pi * 97 * t)
    return np.stack([(1 - 0.2 * c) * wave for c in range(channels)]).astype(np.float32)


def align(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> tuple[int, float]:
    """``(lag, correlation)``: where ``reference`` sits in ``decoded`` (positive: decoded is late), and the
    lowest per-channel correlation over the overlap at that lag."""
    a = reference[0].astype(np.float64)
    b = decoded[0].astype(np.float64)
    full = correlate(b, a, mode="full", method="fft")
    middle = a.size - 1
    low = max(0, middle - max_lag)
    lag = int(np.argmax(full[low:middle + max_lag + 1])) + low - middle
    if lag >= 0:
        n = min(a.size, b.size - lag)
        x, y = reference[:, :n], decoded[:, lag:lag + n]
    else:
        n = min(a.size + lag, b.size)
        x, y = reference[:, -lag:-lag + n], decoded[:, :n]
    return lag, min(float(np.corrcoef(x[k], y[k])[0, 1]) for k in range(reference.shape[0]))


@pytest.mark.parametrize("delay", [-300, 0, 481])
def test_align_finds_a_known_delay_and_nothing_else(delay):
    source = tonal(0.25, 16_000)
    padded = np.zeros((2, source.shape[1] + 1000), np.float32)
    padded[:, 300 + delay:300 + delay + source.shape[1]] = source
    lag, correlation = align(source, padded[:, 300:], 1000)
    assert lag == delay
    assert correlation > 0.9999
    rng = np.random.default_rng(3)
    assert align(source, rng.standard_normal(source.shape).astype(np.float32), 1000)[1] < 0.2


@needs_ffmpeg
def test_ffmpeg_decode_reads_what_soundfile_wrote(tmp_path):
    source = tonal(0.1, 8000)
    path = tmp_path / "ref.wav"
    soundfile.write(str(path), source.T, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(ffmpeg_decode(path, 2), source)
    assert ffprobe(path)["codec_name"] == "pcm_f32le"
