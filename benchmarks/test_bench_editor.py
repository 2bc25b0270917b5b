"""The offline editor's DSP on 60 s of stereo 44.1 kHz, side by side with its peers in the same run.

- EQ: a 10-band graphic equaliser (octave bands, RBJ peaks) against SoX's chain of 10 ``equalizer``
  effects (same centres, gains and one-octave widths) and against ``scipy.signal.sosfilt`` running
  mixdown's own cascade (the library the kernel had to beat). SoX reads and writes float WAV files on
  the tmp folder; the "sox copy" row is that file I/O alone, for scale.
- Denoise: a tone in white noise, the noise profile learnt from 2 s of the same noise, against SoX's
  ``noisered`` (default amount 0.5 and 0.21, its documented starting point) and ``noisereduce``
  (stationary, the noise clip given, ``n_jobs=1``). Each row's note has its SNR gain and the tone's level
  change, measured by the same least-squares fit (``tests/denoise_measure.py``).

Targets: EQ >= 2x SoX, denoise >= 2x noisereduce, mixdown's SNR gain at least SoX's.
Run: ``python -m pytest benchmarks/test_bench_editor.py --benchmark-only -s -p no:xdist``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy import signal

from mixdown.engine.denoise import denoise, learn_noise
from mixdown.engine.eq import design, equalize, graphic_bands
from tests.denoise_measure import tone_fit, tone_plus_noise

RATE = 44_100
SECONDS = 60.0
GAINS = (3.0, -2.0, 4.0, -1.0, 2.0, -3.0, 1.0, 5.0, -4.0, 2.0)
TONE_HZ = 1000.3
EQ_GROUP = f"editor EQ: 10-band graphic, {SECONDS:g} s stereo 44.1 kHz"
DENOISE_GROUP = f"editor denoise: tone in white noise, {SECONDS:g} s stereo 44.1 kHz"
_BEST: dict[str, float] = {}
_QUALITY: dict[str, tuple[float, float]] = {}

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def _record(benchmark, peer_report, group: str, engine: str, note: str = "") -> float:
    benchmark.group = group
    best = peer_report.from_benchmark(benchmark, group, engine, SECONDS, note)
    _BEST[f"{group}/{engine}"] = best
    ours = next((value for key, value in _BEST.items() if key.startswith(f"{group}/mixdown")), None)
    if ours and not engine.startswith("mixdown"):
        benchmark.extra_info["mixdown_is_x_faster"] = best / ours
        print(f"\n{group}: mixdown is {best / ours:.1f}x faster than {engine}")
    return best


def _quality(name: str, out: np.ndarray, mixed: np.ndarray) -> str:
    level_in, snr_in = tone_fit(mixed[:, :out.shape[1]], TONE_HZ, RATE)
    level_out, snr_out = tone_fit(out, TONE_HZ, RATE)
    _QUALITY[name] = (snr_out - snr_in, 20 * math.log10(level_out / level_in))
    gain, moved = _QUALITY[name]
    return f"SNR gain {gain:.1f} dB, tone {moved:+.2f} dB"


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> tuple[np.ndarray, Path]:
    rng = np.random.default_rng(7)
    frames = round(SECONDS * RATE)
    b, a = signal.butter(1, 4000 / (RATE / 2))
    audio = (0.1 * signal.lfilter(b, a, rng.standard_normal((2, frames)), axis=1)).astype(np.float32)
    path = tmp_path_factory.mktemp("eq") / "in.wav"
    soundfile.write(path, audio.T, RATE, subtype="FLOAT")
    equalize(audio[:, :RATE], RATE, graphic_bands(GAINS))  # numba compilation or cache load
    return audio, path


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> tuple[np.ndarray, np.ndarray, Path]:
    mixed, alone = tone_plus_noise(SECONDS, RATE, frequency=TONE_HZ)
    folder = tmp_path_factory.mktemp("denoise")
    soundfile.write(folder / "in.wav", mixed.T, RATE, subtype="FLOAT")
    soundfile.write(folder / "noise.wav", alone.T, RATE, subtype="FLOAT")
    denoise(mixed[:, :RATE], RATE, learn_noise(alone, RATE))  # numba compilation or cache load
    return mixed, alone, folder


def test_eq_mixdown(benchmark, music, peer_report):
    audio, _ = music
    out = benchmark.pedantic(equalize, args=(audio, RATE, graphic_bands(GAINS)), rounds=5, warmup_rounds=1)
    best = _record(benchmark, peer_report, EQ_GROUP, "mixdown equalize (numba SOS kernel)")
    print(f"\n{EQ_GROUP}: mixdown {best * 1e3:.1f} ms, {SECONDS / best:,.0f}x realtime")
    assert out.shape == audio.shape


def test_eq_mixdown_zero_phase(benchmark, music, peer_report):
    audio, _ = music
    benchmark.pedantic(equalize, args=(audio, RATE, graphic_bands(GAINS)), kwargs={"zero_phase": True},
                       rounds=3, warmup_rounds=1)
    _record(benchmark, peer_report, EQ_GROUP, "mixdown equalize zero_phase (two passes)")


def test_eq_scipy_sosfilt(benchmark, music, peer_report):
    audio, _ = music
    sos = design(list(graphic_bands(GAINS)), RATE)
    out = benchmark.pedantic(signal.sosfilt, args=(sos, audio), kwargs={"axis": 1}, rounds=3, warmup_rounds=1)
    _record(benchmark, peer_report, EQ_GROUP, "scipy.signal.sosfilt (same cascade)")
    ours = equalize(audio, RATE, graphic_bands(GAINS))
    assert np.abs(out[:, RATE:] - ours[:, RATE:]).max() < 1e-5  # same filter once the start-up has decayed


def _sox(*arguments: str) -> None:
    subprocess.run(["sox", "-V1", *arguments], check=True)


@needs_sox
def test_eq_sox(benchmark, music, peer_report):
    _, path = music
    chain = [part for centre, gain in zip((31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000), GAINS, strict=True)
             for part in ("equalizer", f"{centre:g}", "1o", f"{gain:g}")]
    out = path.with_name("sox_eq.wav")
    benchmark.pedantic(_sox, args=(str(path), str(out), *chain), rounds=3, warmup_rounds=1)
    _record(benchmark, peer_report, EQ_GROUP, "SoX 14.4 equalizer x10 (float WAV in and out)")


@needs_sox
def test_eq_sox_copy(benchmark, music, peer_report):
    _, path = music
    benchmark.pedantic(_sox, args=(str(path), str(path.with_name("sox_copy.wav"))), rounds=3, warmup_rounds=1)
    _record(benchmark, peer_report, EQ_GROUP, "SoX copy, no effect (its file I/O alone)")


def _learn_and_denoise(mixed: np.ndarray, alone: np.ndarray) -> np.ndarray:
    return denoise(mixed, RATE, learn_noise(alone, RATE), reduction_db=12.0)


def test_denoise_mixdown(benchmark, noisy, peer_report):
    mixed, alone, _ = noisy
    out = benchmark.pedantic(_learn_and_denoise, args=(mixed, alone), rounds=3, warmup_rounds=1)
    note = _quality("mixdown", out, mixed)
    best = _record(benchmark, peer_report, DENOISE_GROUP, "mixdown learn_noise + denoise (12 dB)", note)
    print(f"\n{DENOISE_GROUP}: mixdown {best * 1e3:.0f} ms, {SECONDS / best:,.0f}x realtime, {note}")


@needs_sox
@pytest.mark.parametrize("amount", [0.5, 0.21])
def test_denoise_sox(benchmark, noisy, peer_report, amount):
    mixed, _, folder = noisy
    profile, out_path = folder / "noise.prof", folder / f"sox_{amount}.wav"

    def run() -> None:
        _sox(str(folder / "noise.wav"), "-n", "noiseprof", str(profile))
        _sox(str(folder / "in.wav"), str(out_path), "noisered", str(profile), f"{amount:g}")

    benchmark.pedantic(run, rounds=2, warmup_rounds=0)
    out = soundfile.read(out_path, dtype="float32", always_2d=True)[0].T
    note = _quality(f"sox {amount}", out, mixed) + f" ({mixed.shape[1] - out.shape[1]} frames short)"
    _record(benchmark, peer_report, DENOISE_GROUP, f"SoX 14.4 noiseprof + noisered {amount:g} (float WAV)", note)
    if "mixdown" in _QUALITY:
        assert _QUALITY["mixdown"][0] >= _QUALITY[f"sox {amount}"][0]


def test_denoise_noisereduce(benchmark, noisy, peer_report):
    noisereduce = pytest.importorskip("noisereduce")
    mixed, alone, _ = noisy

    def run() -> np.ndarray:
        return noisereduce.reduce_noise(y=mixed, sr=RATE, y_noise=alone, stationary=True, n_jobs=1)

    out = benchmark.pedantic(run, rounds=2, warmup_rounds=1).astype(np.float32)
    note = _quality("noisereduce", out, mixed)
    _record(benchmark, peer_report, DENOISE_GROUP, f"noisereduce {version('noisereduce')} stationary", note)
