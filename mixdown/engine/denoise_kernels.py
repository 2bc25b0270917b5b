"""numba kernels of :mod:`mixdown.engine.denoise`: neighbourhood averages and the gate's mask, over
``(frames, bins)`` float32 spectrogram arrays (bins contiguous, so every pass walks memory in order).

Windows at the edges are clipped to the array (an average divides by the cells it covers).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def box_mean(values: np.ndarray, time_radius: int, bin_radius: int) -> np.ndarray:
    """The mean of ``values`` over ``(2 * time_radius + 1) x (2 * bin_radius + 1)`` cells around each cell."""
    frames, bins = values.shape
    along_time = np.empty((frames, bins), dtype=np.float32)
    total = np.zeros(bins, dtype=np.float64)
    for f in range(frames + time_radius):
        if f < frames:
            for b in range(bins):
                total[b] += values[f, b]
        gone = f - 2 * time_radius - 1
        if gone >= 0:
            for b in range(bins):
                total[b] -= values[gone, b]
        centre = f - time_radius
        if centre >= 0:
            count = min(f, frames - 1) - max(gone + 1, 0) + 1
            for b in range(bins):
                along_time[centre, b] = total[b] / count
    out = np.empty((frames, bins), dtype=np.float32)
    for f in range(frames):
        row = along_time[f]
        running = 0.0
        for b in range(bins + bin_radius):
            if b < bins:
                running += row[b]
            gone = b - 2 * bin_radius - 1
            if gone >= 0:
                running -= row[gone]
            centre = b - bin_radius
            if centre >= 0:
                count = min(b, bins - 1) - max(gone + 1, 0) + 1
                out[f, centre] = running / count
    return out


@numba.njit(cache=True)
def solid_mask(levels: np.ndarray, threshold: np.ndarray, min_run: int) -> np.ndarray:
    """1 where ``levels[f, b] > threshold[b]`` and the cell is in a run of at least ``min_run`` such cells
    along time or along bins (a binary opening by both lines), else 0."""
    frames, bins = levels.shape
    out = np.zeros((frames, bins), dtype=np.float32)
    run = np.zeros(bins, dtype=np.int64)
    for f in range(frames):
        for b in range(bins):
            if levels[f, b] > threshold[b]:
                run[b] += 1
                if run[b] == min_run:
                    for back in range(f - min_run + 1, f + 1):
                        out[back, b] = 1.0
                elif run[b] > min_run:
                    out[f, b] = 1.0
            else:
                run[b] = 0
        across = 0
        for b in range(bins):
            if levels[f, b] > threshold[b]:
                across += 1
                if across == min_run:
                    for back in range(b - min_run + 1, b + 1):
                        out[f, back] = 1.0
                elif across > min_run:
                    out[f, b] = 1.0
            else:
                across = 0
    return out


@numba.njit(cache=True)
def box_max(mask: np.ndarray, time_radius: int, bin_radius: int) -> np.ndarray:
    """1 where any cell of ``mask`` within the window around it is 1 (a binary dilation by a box)."""
    frames, bins = mask.shape
    along_time = np.zeros((frames, bins), dtype=np.float32)
    last = np.full(bins, -(1 << 40), dtype=np.int64)
    for f in range(frames + time_radius):
        if f < frames:
            for b in range(bins):
                if mask[f, b] > 0:
                    last[b] = f
        centre = f - time_radius
        if centre >= 0:
            for b in range(bins):
                if last[b] >= centre - time_radius:
                    along_time[centre, b] = 1.0
    out = np.zeros((frames, bins), dtype=np.float32)
    for f in range(frames):
        row = along_time[f]
        seen = -(1 << 40)
        for b in range(bins + bin_radius):
            if b < bins and row[b] > 0:
                seen = b
            centre = b - bin_radius
            if centre >= 0 and seen >= centre - bin_radius:
                out[f, centre] = 1.0
    return out


@numba.njit(cache=True)
def apply_gate(spectra: np.ndarray, openness: np.ndarray, floor: float) -> None:
    """``spectra *= floor + (1 - floor) * openness``, in place."""
    frames, bins = spectra.shape
    for f in range(frames):
        for b in range(bins):
            spectra[f, b] *= floor + (1.0 - floor) * openness[f, b]
