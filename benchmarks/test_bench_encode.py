"""Encode speed: 60 s of stereo 44.1 kHz to WAV, FLAC level 5, MP3 CBR 192 and MP3 VBR V2.

mixdown encodes its float32 array (dither, quantization and the atomic rename included); the command-line
peers (`flac`, `lame`, `ffmpeg`) read the same audio from a 16-bit WAV, process start included; the
in-process peers (soundfile, lameenc) get the same array. Every output is checked for its frame count.
"""

from __future__ import annotations

import shutil
import subprocess

import lameenc
import numpy as np
import pytest
import soundfile
from scipy.signal import lfilter

from mixdown.formats import encode, probe

SECONDS = 60.0
RATE = 44_100
ROUNDS = 3
GROUPS = {
    "wav": "encode: 60 s stereo 44.1 kHz to 16-bit WAV",
    "flac": "encode: 60 s stereo 44.1 kHz to FLAC level 5",
    "cbr": "encode: 60 s stereo 44.1 kHz to MP3 CBR 192 kbps (quality 2)",
    "vbr": "encode: 60 s stereo 44.1 kHz to MP3 VBR V2 (quality 2)",
}
MIXDOWN_SPECS = {
    "wav": {"format": "wav"},
    "flac": {"format": "flac", "compression_level": 5},
    "cbr": {"format": "mp3", "bit_rate": 192},
    "vbr": {"format": "mp3", "vbr": True, "vbr_quality": 2},
}
EXTENSIONS = {"wav": "wav", "flac": "flac", "cbr": "mp3", "vbr": "mp3"}
COMMANDS = {
    ("flac", "flac"): lambda src, out: ["flac", "-s", "-f", "-5", str(src), "-o", str(out)],
    ("lame", "cbr"): lambda src, out: ["lame", "--quiet", "-b", "192", "-q", "2", str(src), str(out)],
    ("lame", "vbr"): lambda src, out: ["lame", "--quiet", "-V", "2", "-q", "2", str(src), str(out)],
    ("ffmpeg", "wav"): lambda src, out: ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "pcm_s16le", str(out)],
    ("ffmpeg", "flac"): lambda src, out: ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "flac",
                                          "-compression_level", "5", str(out)],
    ("ffmpeg", "cbr"): lambda src, out: ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "libmp3lame",
                                         "-b:a", "192k", "-compression_level", "2", str(out)],
    ("ffmpeg", "vbr"): lambda src, out: ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "libmp3lame",
                                         "-q:a", "2", "-compression_level", "2", str(out)],
}


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """Tones and low-passed noise with a slow level change: 60 s, stereo, peak below full scale."""
    frames = int(SECONDS * RATE)
    t = np.arange(frames) / RATE
    noise = lfilter([0.1], [1.0, -0.9], np.random.default_rng(11).standard_normal((2, frames)), axis=1)
    noise *= 0.1 / noise.std()
    tones = 0.3 * np.sin(2 * np.pi * np.outer([220.0, 330.0], t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.2 * t))
    return np.ascontiguousarray(np.clip(tones + noise, -0.95, 0.95), dtype=np.float32)


@pytest.fixture(scope="module")
def wav16(music, tmp_path_factory):
    path = tmp_path_factory.mktemp("encode") / "input.wav"
    soundfile.write(str(path), music.T, RATE, subtype="PCM_16")
    return path


@pytest.mark.parametrize("kind", list(GROUPS))
def test_encode_mixdown(benchmark, peer_report, music, tmp_path, kind):
    out = tmp_path / f"out.{EXTENSIONS[kind]}"
    benchmark.pedantic(encode, args=(out, music, RATE, MIXDOWN_SPECS[kind]), rounds=ROUNDS, warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUPS[kind], "mixdown encode", SECONDS,
                               note=f"{out.stat().st_size / 1e6:.2f} MB")
    assert probe(out).frames == music.shape[1]


@pytest.mark.parametrize("tool,kind", list(COMMANDS))
def test_encode_command_line(benchmark, peer_report, wav16, tmp_path, tool, kind):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed")
    out = tmp_path / f"out.{EXTENSIONS[kind]}"
    command = COMMANDS[tool, kind](wav16, out)
    benchmark.pedantic(subprocess.run, args=(command,), kwargs={"check": True}, rounds=ROUNDS, warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUPS[kind], f"{tool} (command line, from 16-bit WAV)", SECONDS,
                               note=f"{out.stat().st_size / 1e6:.2f} MB")
    assert abs(probe(out).frames - int(SECONDS * RATE)) <= (1152 if kind in ("cbr", "vbr") else 0)


@pytest.mark.parametrize("kind", ["wav", "flac"])
def test_encode_soundfile(benchmark, peer_report, music, tmp_path, kind):
    out = tmp_path / f"out.{kind}"
    options = {"subtype": "PCM_16"} if kind == "wav" else {"subtype": "PCM_16", "compression_level": 5 / 8}
    benchmark.pedantic(soundfile.write, args=(str(out), music.T, RATE), kwargs=options, rounds=ROUNDS,
                       warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUPS[kind], "soundfile.write (in-process, no dither)", SECONDS,
                               note=f"{out.stat().st_size / 1e6:.2f} MB")


def test_encode_lameenc(benchmark, peer_report, music):
    pcm = np.ascontiguousarray((music.T * 32767).astype(np.int16))

    def run() -> bytes:
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(192)
        encoder.set_in_sample_rate(RATE)
        encoder.set_channels(2)
        encoder.set_quality(2)
        return encoder.encode(pcm.tobytes()) + encoder.flush()

    data = benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1)
    peer_report.from_benchmark(benchmark, GROUPS["cbr"], "lameenc (in-process; plain stereo, no info frame)", SECONDS,
                               note=f"{len(data) / 1e6:.2f} MB")
    assert len(data) > 0
