"""Tempo detection: accuracy over a large synthesized set and the time of one detection, every detector side by
side in the same run; the accuracy table is written to ``benchmarks/results/tempo.md``.

The set (``tests.tempo_signals``, seeded): grooves of known tempo in 70-180 BPM, 1-8 bars, as whole loops,
excerpts cut off the bar lines, with a silent lead-in (and sometimes a silent tail), a noise floor with
humanized timing, gain steps, an mp3 round trip without a gapless header, swing, and half-time feels; and
one-shots (drum hits, single notes decaying or held, chords, noise bursts, risers, some with reverb, silence or
an mp3 trip). A tempo is right within 0.5 BPM; a one-shot is right when the detector says "no tempo" (librosa
and essentia's Percival estimator always answer a tempo; essentia's LoopBpmEstimator answers 0 when unsure).
Targets: mixdown right on at least 95% of the tempo cases and 95% of the one-shots; one detection on an 8 s
loop under 50 ms.

Run: ``python -m pytest benchmarks/test_bench_tempo.py -s -p no:xdist``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import pytest
import soxr

from mixdown.engine.tempo import detect_bpm
from tests.tempo_signals import Case, groove, one_shot_cases, tempo_cases

RESULTS = Path(__file__).resolve().parent / "results"
TEMPO_CASES = 240
ONE_SHOT_CASES = 108
SEED = 23
LOW, HIGH = 70.0, 180.0
TOLERANCE = 0.5
ESSENTIA_RATE = 44_100

Detector = Callable[[np.ndarray, int], float | None]


def _mono(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio.mean(axis=0), dtype=np.float32)


def _mixdown(audio: np.ndarray, rate: int) -> float | None:
    return detect_bpm(audio, rate, low=LOW, high=HIGH).bpm


def _librosa_tempo(audio: np.ndarray, rate: int) -> float | None:
    return float(librosa.feature.tempo(y=_mono(audio), sr=rate, max_tempo=HIGH)[0])


def _librosa_beat_track(audio: np.ndarray, rate: int) -> float | None:
    tempo, _ = librosa.beat.beat_track(y=_mono(audio), sr=rate)
    return float(np.atleast_1d(tempo)[0])


def _essentia(name: str) -> Detector | None:
    try:
        import essentia
        import essentia.standard as es
    except ImportError:
        return None
    essentia.log.infoActive = False
    algorithm = (es.PercivalBpmEstimator(minBPM=int(LOW), maxBPM=int(HIGH), sampleRate=ESSENTIA_RATE)
                 if name == "percival" else es.LoopBpmEstimator())

    def detect(audio: np.ndarray, rate: int) -> float | None:
        mono = _mono(audio)
        if rate != ESSENTIA_RATE:
            mono = soxr.resample(mono, rate, ESSENTIA_RATE).astype(np.float32)
        # Its standard-mode network keeps the last answer: without a reset it returns it for any new input.
        algorithm.reset()
        bpm = float(algorithm(mono))
        return bpm if bpm > 0.0 else None

    return detect


def detectors() -> dict[str, Detector]:
    found: dict[str, Detector | None] = {
        "mixdown detect_bpm": _mixdown,
        "librosa feature.tempo": _librosa_tempo,
        "librosa beat.beat_track": _librosa_beat_track,
        "essentia PercivalBpmEstimator": _essentia("percival"),
        "essentia LoopBpmEstimator": _essentia("loop"),
    }
    return {name: detect for name, detect in found.items() if detect is not None}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return tempo_cases(TEMPO_CASES, SEED) + one_shot_cases(ONE_SHOT_CASES, SEED)


def _kind(case: Case) -> str:
    return "one-shot" if case.bpm is None else case.name.split("-")[0]


def _right(case: Case, bpm: float | None, octaves: tuple[float, ...] = (1.0,)) -> bool:
    if case.bpm is None:
        return bpm is None
    return bpm is not None and min(abs(bpm - case.bpm * k) for k in octaves) <= TOLERANCE


def _evaluate(detect: Detector, cases: list[Case]) -> tuple[dict[str, float], float]:
    """Percent right per kind (and over all tempo cases, strict and octave-tolerant), and median ms."""
    detect(cases[0].audio, cases[0].rate)  # compilation, caches
    right: dict[str, list[bool]] = {}
    times = []
    for case in cases:
        started = time.perf_counter()
        bpm = detect(case.audio, case.rate)
        times.append(time.perf_counter() - started)
        right.setdefault(_kind(case), []).append(_right(case, bpm))
        if case.bpm is not None:
            right.setdefault("tempo", []).append(_right(case, bpm))
            right.setdefault("tempo, any octave", []).append(_right(case, bpm, (0.5, 1.0, 2.0)))
    return {kind: 100.0 * sum(v) / len(v) for kind, v in right.items()}, 1000.0 * statistics.median(times)


def test_accuracy_side_by_side(cases):
    table = {name: _evaluate(detect, cases) for name, detect in detectors().items()}
    kinds = ["tempo", "tempo, any octave", "loop", "offgrid", "leadin", "noisy", "gain", "mp3", "swing",
             "halftime", "one-shot"]
    counts = {kind: sum(1 for c in cases if _kind(c) == kind) for kind in kinds[2:]}
    counts |= {"tempo": TEMPO_CASES, "tempo, any octave": TEMPO_CASES}
    lines = [
        "# Tempo detection, every detector side by side (same run)", "",
        f"{TEMPO_CASES} grooves of known tempo ({LOW:g}-{HIGH:g} BPM) and {ONE_SHOT_CASES} one-shots, synthesized "
        f"by `tests/tempo_signals.py` (seed {SEED}). Percent right: a tempo within {TOLERANCE} BPM (\"any "
        "octave\": of the tempo, half or double it); a one-shot answered \"no tempo\". Median time of one "
        "detection over the whole set (files of 0.3-16 s), this machine.", "",
        "| detector | " + " | ".join(f"{k} ({counts[k]})" for k in kinds) + " | median ms |",
        "|---|" + "---:|" * (len(kinds) + 1)]
    for name, (percent, ms) in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{percent.get(k, 0.0):.1f}" for k in kinds) + f" | {ms:.1f} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tempo.md").write_text(text)
    print("\n" + text)
    ours, _ = table["mixdown detect_bpm"]
    assert ours["tempo"] >= 95.0
    assert ours["one-shot"] >= 95.0


# --- one detection on an 8 s loop -----------------------------------------------------------------------

LOOP_SECONDS = 8.0
GROUP = "tempo: one detection, 8 s stereo 44.1 kHz drum loop (120 BPM, 4 bars)"
_BEST: dict[str, float] = {}


@pytest.fixture(scope="module")
def loop() -> np.ndarray:
    return groove("hiphop", 120.0, 4, 44_100)


@pytest.mark.parametrize("name", list(detectors()))
def test_detection_speed(benchmark, peer_report, loop, name):
    detect = detectors()[name]
    detect(loop, 44_100)
    benchmark.group = GROUP
    bpm = benchmark.pedantic(detect, args=(loop, 44_100), rounds=10 if name.startswith("mixdown") else 3,
                             iterations=1, warmup_rounds=1)
    best = peer_report.from_benchmark(benchmark, GROUP, name, LOOP_SECONDS, note=f"answered {bpm}")
    _BEST[name] = best
    ours = _BEST.get("mixdown detect_bpm")
    if ours and not name.startswith("mixdown"):
        benchmark.extra_info["mixdown_is_x_faster"] = best / ours
        print(f"\n{GROUP}: mixdown is {best / ours:.1f}x faster than {name}")
    if name.startswith("mixdown"):
        cpu = min(_cpu_seconds(detect, loop) for _ in range(10))
        benchmark.extra_info["cpu_seconds"] = cpu
        print(f"\n{GROUP}: mixdown best {best * 1000:.1f} ms wall, {cpu * 1000:.1f} ms of CPU")
        # The target is the work one detection takes; wall time on a shared machine adds other processes'.
        assert cpu < 0.05


def _cpu_seconds(detect: Detector, audio: np.ndarray) -> float:
    started = time.process_time()
    detect(audio, 44_100)
    return time.process_time() - started
