"""Sample-rate conversion with soxr (very high quality), the engine's one resampler."""

from __future__ import annotations

import numpy as np
import soxr

from mixdown.engine.audio import as_audio, check_sample_rate


def resampled_length(frames: int, from_rate: int, to_rate: int) -> int:
    """Frames after conversion: ``round(frames * to_rate / from_rate)``, computed exactly in integers."""
    return (2 * frames * to_rate + from_rate) // (2 * from_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int, *, quality: str = "VHQ") -> np.ndarray:
    """Convert ``audio`` from ``from_rate`` to ``to_rate`` Hz.

    The result has exactly :func:`resampled_length` frames (soxr's output is trimmed or zero-padded by at
    most a frame to that count), so lengths stay predictable to the sample.
    """
    audio = as_audio(audio)
    from_rate = check_sample_rate(from_rate, field="from_rate")
    to_rate = check_sample_rate(to_rate, field="to_rate")
    if from_rate == to_rate:
        return audio.copy()
    frames = resampled_length(audio.shape[1], from_rate, to_rate)
    converted = soxr.resample(audio.T, from_rate, to_rate, quality=quality).T
    out = np.zeros((audio.shape[0], frames), dtype=np.float32)
    n = min(frames, converted.shape[1])
    out[:, :n] = converted[:, :n]
    return out
