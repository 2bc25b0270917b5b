"""numba kernels of the offline editor commands the rest of the engine has no operation for.

Each works on plain float32 arrays (``(channels, frames)``, possibly a strided view of a region) and
knows nothing of selections, markers or files; :mod:`mixdown.engine.edits` validates and plans.
"""

from __future__ import annotations

import numba
import numpy as np

from mixdown.engine.mix_kernels import curve_gain


@numba.njit(cache=True)
def crossfade(tail: np.ndarray, head: np.ndarray, curve: int, out: np.ndarray) -> None:
    """``out[c, k] = tail[c, k] * g(1 - k / n) + head[c, k] * g(k / n)`` for ``n`` frames.

    ``g`` is the fade curve of :mod:`mixdown.engine.mix_kernels`: at ``k = 0`` the result is exactly
    ``tail`` (the head is silent, as the first frame of a fade-in is). Equal-power curves keep the power
    of uncorrelated material; linear ones keep the amplitude of correlated material.
    """
    channels, n = out.shape
    for k in range(n):
        x = k / n
        g_in = curve_gain(curve, x)
        g_out = curve_gain(curve, 1.0 - x)
        for c in range(channels):
            out[c, k] = tail[c, k] * g_out + head[c, k] * g_in


@numba.njit(cache=True)
def remove_mean(region: np.ndarray) -> None:
    """Subtract each channel's mean (summed in float64) from that channel, in place."""
    channels, n = region.shape
    if n == 0:
        return
    for c in range(channels):
        total = 0.0
        for k in range(n):
            total += region[c, k]
        mean = total / n
        for k in range(n):
            region[c, k] = region[c, k] - mean


@numba.njit(cache=True)
def active_range(audio: np.ndarray, threshold: float) -> tuple[int, int]:
    """``(first, stop)``: the frames from the first to the last one where any channel's magnitude is over
    ``threshold``; ``(0, 0)`` when none is."""
    channels, n = audio.shape
    first = n
    for k in range(n):
        for c in range(channels):
            if abs(audio[c, k]) > threshold:
                first = k
                break
        if first < n:
            break
    if first == n:
        return 0, 0
    stop = first + 1
    for k in range(n - 1, first, -1):
        loud = False
        for c in range(channels):
            if abs(audio[c, k]) > threshold:
                loud = True
                break
        if loud:
            stop = k + 1
            break
    return first, stop
