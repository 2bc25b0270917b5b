"""The time-stretch engines benchmarked beside mixdown, behind one signature.

Each takes float32 ``(channels, frames)``, a rate, a speed ratio (2.0 = twice as fast) and semitones, and
returns float32 ``(channels, n)``. Peers that are not installed are skipped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

from mixdown.engine import stretch

Engine = Callable[[np.ndarray, int, float, float], np.ndarray]


def mixdown_engine(quality: str, formants: float | bool | None = None) -> Engine:
    return lambda audio, sr, ratio, semitones: stretch(audio, sr, ratio, semitones, quality=quality,
                                                       formants=formants)


def _pedalboard(high_quality: bool) -> Engine:
    def run(audio, sr, ratio, semitones):
        import pedalboard

        return pedalboard.time_stretch(audio, sr, ratio, semitones, high_quality=high_quality)

    return run


def _librosa(audio, sr, ratio, semitones):
    import librosa

    out = librosa.effects.time_stretch(audio, rate=ratio) if ratio != 1 else audio
    if semitones:
        out = librosa.effects.pitch_shift(out, sr=sr, n_steps=semitones)
    return np.ascontiguousarray(out, dtype=np.float32)


def _signalsmith(audio, sr, ratio, semitones):
    import python_stretch

    processor = python_stretch.Signalsmith.Stretch(0)
    processor.preset(audio.shape[0], sr)
    processor.timeFactor = ratio
    if semitones:
        processor.setTransposeSemitones(semitones)
    return np.asarray(processor.process(np.ascontiguousarray(audio)), dtype=np.float32)


def _bungee(audio, sr, ratio, semitones):
    from bungee_python import bungee

    processor = bungee.Bungee(sr, audio.shape[0], speed=ratio, pitch=2 ** (semitones / 12))
    return np.ascontiguousarray(np.asarray(processor.process(np.ascontiguousarray(audio.T)), np.float32).T)


def engines() -> dict[str, Engine]:
    """Every engine available here, mixdown's presets first."""
    found: dict[str, Engine] = {f"mixdown {q}": mixdown_engine(q) for q in ("high", "standard", "draft")}
    if importlib.util.find_spec("pedalboard"):
        found["pedalboard R3"] = _pedalboard(True)
        found["pedalboard R2"] = _pedalboard(False)
    if importlib.util.find_spec("python_stretch"):
        found["Signalsmith Stretch"] = _signalsmith
    if importlib.util.find_spec("bungee_python"):
        found["Bungee"] = _bungee
    if importlib.util.find_spec("librosa"):
        found["librosa"] = _librosa
    return found
