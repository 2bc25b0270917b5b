"""numba kernels of the phase vocoder: framing, identity phase locking, overlap-add, onset envelopes."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def _multiply_into(dst: np.ndarray, src: np.ndarray, weights: np.ndarray) -> None:
    for j in range(dst.shape[0]):
        dst[j] = src[j] * weights[j]


@numba.njit(cache=True)
def _accumulate(dst: np.ndarray, src: np.ndarray, weights: np.ndarray, scale: np.float32) -> None:
    for j in range(dst.shape[0]):
        dst[j] += src[j] * (weights[j] * scale)


@numba.njit(cache=True)
def gather_frames(audio: np.ndarray, centres: np.ndarray, window: np.ndarray, out: np.ndarray) -> None:
    """``out[c, f, j] = audio[c, centres[f] - n/2 + j] * window[j]``, zero outside the audio."""
    channels, length = audio.shape
    n = window.shape[0]
    half = n // 2
    for c in range(channels):
        for f in range(centres.shape[0]):
            start = centres[f] - half
            lo = min(max(0, -start), n)
            hi = max(min(n, length - start), lo)
            row = out[c, f]
            row[:lo] = 0.0
            row[hi:] = 0.0
            if hi > lo:
                _multiply_into(row[lo:hi], audio[c, start + lo : start + hi], window[lo:hi])


@numba.njit(cache=True)
def mono_mix(audio: np.ndarray, mono: np.ndarray, half_rate: np.ndarray) -> None:
    """``mono``: the mean of ``audio``'s channels (as ``audio.mean(axis=0)`` computes it in float32);
    ``half_rate[i]``: the mean of ``mono[2 i]`` and ``mono[2 i + 1]``."""
    channels, n = audio.shape
    mono[:] = audio[0]
    for c in range(1, channels):
        row = audio[c]
        for i in range(n):
            mono[i] += row[i]
    count = np.float32(channels)
    for i in range(n):
        mono[i] /= count
    for i in range(half_rate.shape[0]):
        half_rate[i] = np.float32(0.5) * (mono[2 * i] + mono[2 * i + 1])


@numba.njit(cache=True)
def overlap_add(frames: np.ndarray, starts: np.ndarray, window: np.ndarray, scale: float, out: np.ndarray) -> None:
    """Add ``frames[c, f] * window * scale`` into ``out[c]`` at ``starts[f]`` (clipped to ``out``)."""
    channels, count, n = frames.shape
    length = out.shape[1]
    gain = np.float32(scale)
    for c in range(channels):
        for f in range(count):
            start = starts[f]
            lo = min(max(0, -start), n)
            hi = max(min(n, length - start), lo)
            if hi > lo:
                _accumulate(out[c, start + lo : start + hi], frames[c, f, lo:hi], window[lo:hi], gain)


@numba.njit(cache=True)
def _add_power(power: np.ndarray, row: np.ndarray) -> None:
    for k in range(row.shape[0]):
        v = row[k]
        power[k] += v.real * v.real + v.imag * v.imag


@numba.njit(cache=True)
def _rotate(out: np.ndarray, row: np.ndarray, turns: np.ndarray) -> None:
    for k in range(row.shape[0]):
        out[k] = row[k] * turns[k]


@numba.njit(cache=True)
def lock_phases(
    spectra: np.ndarray,
    lagged: np.ndarray,
    lag_index: np.ndarray,
    synth: np.ndarray,
    resets: np.ndarray,
    masks: np.ndarray,
    prev_y: np.ndarray,
    powers: np.ndarray,
    peaks: np.ndarray,
    rotations: np.ndarray,
) -> None:
    """Fill ``synth`` with the synthesis spectra of the analysis ``spectra`` (identity phase locking).

    ``lagged[:, lag_index[f]]`` is the analysis of the input one synthesis hop before ``spectra[:, f]``, so a
    bin's phase change over that pair is exactly the advance it needs in the output: a peak's synthesis phase
    is its previous synthesis phase plus that change, with no frequency estimate, no phase unwrapping
    and no trigonometry. Peaks are bins whose power (summed over channels) exceeds both neighbours on
    each side; every bin in a peak's region (up to the power minimum between neighbouring peaks) turns
    by the peak's rotation, on every channel, measured on the channel loudest at the peak, so partials
    keep their shape and channels their phase relations. A frame with ``resets[f] >= 0`` keeps the
    analysis phases of the bins set in ``masks[resets[f]]`` (a transient's bins: the attack is reproduced
    as it was, while what sustains through it keeps turning smoothly). ``prev_y`` holds the synthesis
    spectrum of the frame before the first, and on return that of the last. ``powers[f]`` receives frame
    ``f``'s power summed over channels (the formants' envelope reads it too).
    """
    channels, frames, bins = spectra.shape
    turns = np.empty(bins, dtype=np.complex64)
    for f in range(frames):
        power = powers[f]
        power[:] = 0.0
        for c in range(channels):
            _add_power(power, spectra[c, f])
        mask = masks[resets[f]] if resets[f] >= 0 else masks[0]
        if resets[f] >= 0 and mask.all():
            synth[:, f, :] = spectra[:, f, :]
            continue
        top = power.max()
        floor = max(top * np.float32(1e-12), np.float32(1e-30))
        count = 0
        for k in range(2, bins - 2):
            p = power[k]
            peaks[count] = k
            count += (p > floor) & (p > power[k - 1]) & (p > power[k - 2]) & (p >= power[k + 1]) & (p >= power[k + 2])
        if count == 0:
            synth[:, f, :] = spectra[:, f, :]
            continue
        for i in range(count):
            k = peaks[i]
            loudest = 0
            best = np.float32(-1.0)
            for c in range(channels):
                v = spectra[c, f, k]
                m = v.real * v.real + v.imag * v.imag
                if m > best:
                    best = m
                    loudest = c
            xl = complex(lagged[loudest, lag_index[f], k])
            yp = complex(prev_y[loudest, k] if f == 0 else synth[loudest, f - 1, k])
            turn = yp * xl.conjugate()
            size = turn.real * turn.real + turn.imag * turn.imag
            rotations[i] = 1.0 if size == 0.0 else turn / math.sqrt(size)
        lo = 0
        for i in range(count):
            if i + 1 < count:
                hi = peaks[i]
                low_power = power[hi]
                for k in range(peaks[i] + 1, peaks[i + 1]):
                    if power[k] < low_power:
                        low_power = power[k]
                        hi = k
                hi += 1
            else:
                hi = bins
            turns[lo:hi] = np.complex64(rotations[i])
            lo = hi
        if resets[f] >= 0:
            for k in range(bins):
                if mask[k]:
                    turns[k] = 1.0
        for c in range(channels):
            _rotate(synth[c, f], spectra[c, f], turns)
    prev_y[:, :] = synth[:, frames - 1]


@numba.njit(cache=True)
def approx_log(values: np.ndarray, out: np.ndarray) -> None:
    """Natural log of positive float32 ``values`` to about 0.4%: exponent bits plus a quadratic in the
    mantissa. It vectorises, which ``math.log`` does not; onset detection needs no more precision."""
    ints = values.view(np.int32)
    for k in range(values.shape[0]):
        b = ints[k]
        exponent = np.float32((b >> 23) - 127)
        m = np.float32(1.0) + np.float32(b & 0x7FFFFF) * np.float32(1.0 / 8388608.0)
        log2 = exponent + (np.float32(-0.34484843) * m + np.float32(2.02466578)) * m - np.float32(0.67487759)
        out[k] = log2 * np.float32(0.6931471805599453)


@numba.njit(cache=True)
def spectral_flux(spectra: np.ndarray, compression: float) -> np.ndarray:
    """Half-wave rectified change of ``log(1 + compression |X|)`` from frame to frame, summed over bins."""
    frames, bins = spectra.shape
    flux = np.zeros(frames, dtype=np.float64)
    previous = np.zeros(bins, dtype=np.float32)
    compressed = np.empty(bins, dtype=np.float32)
    levels = np.empty(bins, dtype=np.float32)
    gain = np.float32(compression)
    for f in range(frames):
        for k in range(bins):
            v = spectra[f, k]
            compressed[k] = np.float32(1.0) + gain * np.sqrt(v.real * v.real + v.imag * v.imag)
        approx_log(compressed, levels)
        total = np.float32(0.0)
        for k in range(bins):
            total += max(levels[k] - previous[k], np.float32(0.0))
            previous[k] = levels[k]
        flux[f] = total
    return flux


@numba.njit(cache=True)
def moving_peak(signal: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = max(|signal[i : i + width]|)``: a fast envelope for placing onsets to the sample."""
    n = signal.shape[0]
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        top = 0.0
        for j in range(i, min(n, i + width)):
            a = abs(signal[j])
            if a > top:
                top = a
        out[i] = top
    return out
