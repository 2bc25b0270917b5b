"""numba kernel of a cascade of biquads (second-order sections), the core of :mod:`mixdown.engine.eq`."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def sos_filter(audio: np.ndarray, sos: np.ndarray, state: np.ndarray, reverse: bool) -> None:
    """Run every channel of float32 ``audio`` through the cascade ``sos``, in place.

    ``sos`` is ``(sections, 6)`` float64 ``[b0, b1, b2, 1, a1, a2]`` (normalised); ``state`` is
    ``(channels, sections, 2)`` float64, the transposed direct form II memory, read as the initial state
    and left holding the final one. With ``reverse`` the frames are visited last to first. The
    arithmetic is float64 throughout; only the result is rounded to float32.
    """
    channels, frames = audio.shape
    sections = sos.shape[0]
    for c in range(channels):
        z = state[c]
        for step in range(frames):
            k = frames - 1 - step if reverse else step
            x = np.float64(audio[c, k])
            for s in range(sections):
                y = sos[s, 0] * x + z[s, 0]
                z[s, 0] = sos[s, 1] * x - sos[s, 4] * y + z[s, 1]
                z[s, 1] = sos[s, 2] * x - sos[s, 5] * y
                x = y
            audio[c, k] = x
