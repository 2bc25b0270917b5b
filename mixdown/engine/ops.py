"""Whole-array operations on ``(channels, frames)`` audio: fades, reverse, gain.

Each returns a new C-contiguous float32 array and leaves its input untouched.
"""

from __future__ import annotations

import numpy as np

from mixdown.engine import mix_kernels
from mixdown.engine.audio import as_audio
from mixdown.engine.timeline import Fade
from mixdown.errors import InvalidInputError


def apply_fades(audio: np.ndarray, fade_in: Fade | None = None, fade_out: Fade | None = None) -> np.ndarray:
    """Fade the start and end of ``audio`` with the same curves and frame rule the renderer uses.

    Raises
    ------
    InvalidInputError
        If a fade is longer than the audio.
    """
    out = as_audio(audio).copy()
    fade_in = fade_in or Fade()
    fade_out = fade_out or Fade()
    frames = out.shape[1]
    for name, fade in (("fade_in", fade_in), ("fade_out", fade_out)):
        if fade.length > frames:
            raise InvalidInputError(f"{fade.length} frames is longer than the audio's {frames}", field=name)
    mix_kernels.apply_envelope(out, frames, fade_in.length, fade_in.curve.code, fade_out.length, fade_out.curve.code)
    return out


def fade_envelope(frames: int, fade_in: Fade | None = None, fade_out: Fade | None = None) -> np.ndarray:
    """The float64 gain curve a clip of ``frames`` frames gets from its fades (1 between them)."""
    envelope = np.ones((1, frames), dtype=np.float64)
    fade_in = fade_in or Fade()
    fade_out = fade_out or Fade()
    mix_kernels.apply_envelope(
        envelope, frames, fade_in.length, fade_in.curve.code, fade_out.length, fade_out.curve.code
    )
    return envelope[0]


def reverse(audio: np.ndarray) -> np.ndarray:
    """``audio`` played backwards."""
    return np.ascontiguousarray(as_audio(audio)[:, ::-1])


def apply_gain(audio: np.ndarray, gain: float) -> np.ndarray:
    """``audio`` times a finite, non-negative linear ``gain``."""
    if not np.isfinite(gain) or gain < 0:
        raise InvalidInputError(f"must be finite and >= 0, got {gain}", field="gain")
    return np.ascontiguousarray(as_audio(audio) * np.float32(gain))
