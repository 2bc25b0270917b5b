"""Numba kernels of tempo detection: spectral flux and beat-grid sums over an onset envelope."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def flux(log_mel: np.ndarray, floor: np.ndarray, out: np.ndarray) -> None:
    """``out[t]``: mean over bands of the rise of ``max(log_mel[:, b], floor[b])`` from row ``t`` to ``t + 1``,
    measured from the loudest of bands ``b - 1 .. b + 1`` in row ``t`` (a vibrato's or a noise's flicker
    between neighbouring bands is no rise: SuperFlux's maximum filter)."""
    bands = log_mel.shape[1]
    for t in range(out.shape[0]):
        total = 0.0
        for b in range(bands):
            now = max(log_mel[t + 1, b], floor[b])
            before = log_mel[t, b]
            if b > 0:
                before = max(before, log_mel[t, b - 1])
            if b + 1 < bands:
                before = max(before, log_mel[t, b + 1])
            before = max(before, floor[b])
            if now > before:
                total += now - before
        out[t] = total / bands


@numba.njit(cache=True)
def grid_mean(envelope: np.ndarray, period: float, phase: float) -> float:
    """Mean of ``envelope`` (linearly interpolated) at ``phase + k * period`` for every ``k`` inside it."""
    n = envelope.shape[0]
    k = 0
    if phase < 0.0:
        k = math.ceil(-phase / period)
    total = 0.0
    count = 0
    position = phase + k * period
    while position <= n - 1:
        i = int(position)
        frac = position - i
        upper = envelope[i + 1] if i + 1 < n else envelope[i]
        total += envelope[i] * (1.0 - frac) + upper * frac
        count += 1
        k += 1
        position = phase + k * period
    return total / count if count > 0 else 0.0


@numba.njit(cache=True)
def grid_table(envelope: np.ndarray, periods: np.ndarray, first: np.ndarray, step: np.ndarray,
               out: np.ndarray) -> None:
    """``out[i, j]``: the grid mean for ``periods[i]`` at phase ``first[i] + j * step[i]``."""
    for i in range(periods.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = grid_mean(envelope, periods[i], first[i] + j * step[i])
