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
    ``half_rate[i]``: the mean of ``mono[2 i]`` and ``mono[2 i + 1]``. Stereo takes one fused pass."""
    channels, n = audio.shape
    count = np.float32(channels)
    first = audio[0]
    if channels == 1:
        mono[:] = first
    elif channels == 2:
        second = audio[1]
        for i in range(n):
            mono[i] = (first[i] + second[i]) / count
    else:
        mono[:] = first
        for c in range(1, channels):
            row = audio[c]
            for i in range(n):
                mono[i] += row[i]
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
    # Branch-free passes over the bins (peaks and regions change every few bins, which a branch mispredicts).
    peak = np.zeros(bins, dtype=np.bool_)
    region_end = np.empty(bins, dtype=np.int64)
    region_starts = np.zeros(bins + 1, dtype=np.int64)
    one = np.complex64(1.0)
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
        for k in range(2, bins - 2):
            p = power[k]
            peak[k] = (p > floor) & (p > power[k - 1]) & (p > power[k - 2]) & (p >= power[k + 1]) & (p >= power[k + 2])
        count = 0
        for k in range(2, bins - 2):
            peaks[count] = k
            count += peak[k]
        if count == 0:
            synth[:, f, :] = spectra[:, f, :]
            continue
        lag = lag_index[f]
        for i in range(count):
            k = peaks[i]
            loudest = 0
            best = np.float32(-1.0)
            for c in range(channels):
                v = spectra[c, f, k]
                m = v.real * v.real + v.imag * v.imag
                louder = m > best
                best = m if louder else best
                loudest = c if louder else loudest
            xl = lagged[loudest, lag, k]
            yp = prev_y[loudest, k] if f == 0 else synth[loudest, f - 1, k]
            # yp * conj(xl) / |yp * conj(xl)| in float64, each operation as numba's complex ones do it.
            re = np.float64(yp.real) * np.float64(xl.real) - np.float64(yp.imag) * -np.float64(xl.imag)
            im = np.float64(yp.real) * -np.float64(xl.imag) + np.float64(yp.imag) * np.float64(xl.real)
            size = re * re + im * im
            still = size == 0.0
            norm = 1.0 if still else math.sqrt(size)
            rotations[i] = np.complex64(complex(1.0 if still else (re + im * 0.0) / norm,
                                                0.0 if still else (im - re * 0.0) / norm))
        # A peak's region ends at the first power minimum before the next peak: region_end[k] is one past
        # the first minimum from the last peak up to bin k - 1 (the bits of non-negative floats order as
        # the floats do; a peak's key is below every power, so it restarts the search).
        bits = power.view(np.int32)
        low = np.int32(0)
        at = 0
        for k in range(2, bins - 2):
            level = bits[k]
            key = np.int32(-2147483648) if peak[k] else level
            region_end[k] = at + 1
            lower = key < low
            low = level if lower else low
            at = k if lower else at
        for i in range(1, count):
            region_starts[region_end[peaks[i]]] += 1
        region = 0
        reset = resets[f] >= 0
        for k in range(bins):
            region += region_starts[k]
            region_starts[k] = 0
            turns[k] = one if reset and mask[k] else rotations[region]
        for c in range(channels):
            _rotate(synth[c, f], spectra[c, f], turns)
    prev_y[:, :] = synth[:, frames - 1]


@numba.njit(cache=True)
def approx_log(values: np.ndarray, out: np.ndarray) -> None:
    """``ln(values) + ln 2`` for positive float32 ``values``, to about 0.4% of the log: exponent bits plus a
    quadratic in the mantissa (which approximates ``1 + log2`` of it). It vectorises, which ``math.log``
    does not; spectral flux compares levels, so the constant cancels, and needs no more precision."""
    ints = values.view(np.int32)
    for k in range(values.shape[0]):
        b = ints[k]
        exponent = np.float32((b >> 23) - 127)
        m = np.float32(1.0) + np.float32(b & 0x7FFFFF) * np.float32(1.0 / 8388608.0)
        log2 = exponent + (np.float32(-0.34484843) * m + np.float32(2.02466578)) * m - np.float32(0.67487759)
        out[k] = log2 * np.float32(0.6931471805599453)


@numba.njit(cache=True)
def spectral_flux(spectra: np.ndarray, compression: float, previous: np.ndarray) -> np.ndarray:
    """Half-wave rectified change of ``log(1 + compression |X|)`` from frame to frame, summed over bins.
    ``previous`` holds the levels of the frame before the first (zeros at the start), and on return those
    of the last, so a long signal can be read in blocks."""
    frames, bins = spectra.shape
    flux = np.zeros(frames, dtype=np.float64)
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
    out = np.zeros(n, dtype=np.float32)
    for j in range(min(width, n)):
        # One pass per offset: each vectorises, where a window per sample would not.
        for i in range(n - j):
            out[i] = max(out[i], abs(signal[i + j]))
    return out
