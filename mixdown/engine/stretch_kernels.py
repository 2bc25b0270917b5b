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
def _set_power(power: np.ndarray, level: np.ndarray, loudest: np.ndarray, row: np.ndarray) -> None:
    """``power`` and ``level``: the powers of the first channel's ``row`` (``level`` stays -1 where it is
    NaN, so any power beats it); ``loudest``: channel 0."""
    for k in range(row.shape[0]):
        v = row[k]
        m = v.real * v.real + v.imag * v.imag
        power[k] = m
        louder = m > -1.0
        level[k] = m if louder else -1.0
        loudest[k] = 0


@numba.njit(cache=True)
def _add_power(power: np.ndarray, level: np.ndarray, loudest: np.ndarray, row: np.ndarray, c: int) -> None:
    """Add the powers of channel ``c``'s ``row`` to ``power`` (in the row's precision, then rounded to
    float32); where they exceed ``level`` (the loudest so far: a tie keeps the first), channel ``c`` becomes
    the ``loudest``. Per bin, in the pass that reads the row anyway, rather than per peak from scattered reads."""
    channel = np.uint16(c)
    for k in range(row.shape[0]):
        v = row[k]
        m = v.real * v.real + v.imag * v.imag
        power[k] += m
        louder = m > level[k]
        level[k] = m if louder else level[k]
        loudest[k] = channel if louder else loudest[k]


@numba.njit(cache=True)
def _rotate(out: np.ndarray, row: np.ndarray, turns: np.ndarray) -> None:
    for k in range(row.shape[0]):
        out[k] = row[k] * turns[k]


@numba.njit(cache=True)
def _largest(values: np.ndarray, scratch: np.ndarray) -> np.float32:
    """The largest of the non-negative float32 ``values``, through a maximum over their bits (which order
    as the floats do): an integer maximum vectorises where ``ndarray.max`` (minding NaN) does not.
    ``scratch``: one int32, to read the bits back as a float."""
    bits = values.view(np.int32)
    top = np.int32(0)
    for k in range(bits.shape[0]):
        top = max(top, bits[k])
    scratch[0] = top
    return scratch.view(np.float32)[0]


@numba.njit(cache=True)
def _peaks_and_bounds(power: np.ndarray, peak: np.ndarray, peaks: np.ndarray, bounds: np.ndarray) -> int:
    """List the bins set in ``peak`` (from 2 to ``bins - 3``) in ``peaks`` and return their count; for each
    peak after the first, ``bounds[i]`` is the first bin of its region: one past the first power minimum
    from the peak before up to the bin before this one.

    One pass with a running minimum of a key ordering (peaks seen, descending; power; bin), so each peak
    restarts the search without a reset: a reset is a select on the running minimum's dependency chain,
    which LLVM turns into a branch that mispredicts at every new minimum (twice as slow). The bits of a
    non-negative float32 order as it does and take 31 bits; the counts and bins take 16 each. Indices are
    unsigned where numba cannot prove them non-negative: a signed one costs a wrap-around test and select
    on every access (a third of this loop's time)."""
    bits = power.view(np.int32)
    count = 0
    running = np.int64(0x7FFFFFFFFFFFFFFF)
    for k in range(2, peak.shape[0] - 2):
        at = np.uint64(k)
        bounds[count] = running
        peaks[count] = k
        count += peak[at]
        running = min(running, (np.int64(0xFFFF - count) << 47) | (np.int64(bits[at]) << 16) | k)
    for i in range(count):
        bounds[i] = (bounds[i] & 0xFFFF) + 1
    return count


@numba.njit(cache=True, error_model="numpy")
def _unit_turns(later: np.ndarray, earlier: np.ndarray, count: int, out: np.ndarray) -> None:
    """``out[i] = later[i] * conj(earlier[i]) / |.|`` (1 where that is 0) for ``i < count``, in float64
    and each operation as numba's complex ones do it. Apart from the gathers, so that it vectorises (the
    numpy error model drops the zero-division check, a branch; a zero norm is never divided by)."""
    for i in range(count):
        y = later[i]
        x = earlier[i]
        re = np.float64(y.real) * np.float64(x.real) - np.float64(y.imag) * -np.float64(x.imag)
        im = np.float64(y.real) * -np.float64(x.imag) + np.float64(y.imag) * np.float64(x.real)
        size = re * re + im * im
        still = size == 0.0
        norm = 1.0 if still else math.sqrt(size)
        out[i] = np.complex64(complex(1.0 if still else (re + im * 0.0) / norm,
                                      0.0 if still else (im - re * 0.0) / norm))


@numba.njit(cache=True)
def _each_its_own(owner: np.ndarray) -> None:
    for k in range(owner.shape[0]):
        owner[k] = k


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
    owners: np.ndarray,
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
    ``f``'s power summed over channels (the formants' envelope reads it too), and ``owners[f, k]`` the peak
    whose region bin ``k`` is in (``k`` itself in a frame with no peak or kept whole), so that a gain read at
    each peak can scale its whole region alike; an ``owners`` with no rows asks for none.
    """
    channels, frames, bins = spectra.shape
    if bins > 0xFFFF or channels > 0xFFFF:
        raise ValueError("lock_phases keys bins and channels in 16 bits")
    turns = np.empty(bins, dtype=np.complex64)
    # Branch-free passes over the bins (peaks and regions change every few bins, which a branch mispredicts).
    peak = np.zeros(bins, dtype=np.bool_)
    bounds = np.empty(bins, dtype=np.int64)
    region_starts = np.zeros(bins + 1, dtype=np.int64)
    earlier = np.empty(bins, dtype=np.complex64)
    later = np.empty(bins, dtype=np.complex64)
    scratch = np.empty(1, dtype=np.int32)
    level = np.empty(bins, dtype=np.float64)
    loudest = np.empty(bins, dtype=np.uint16)
    unowned = np.empty(0, dtype=owners.dtype)
    one = np.complex64(1.0)
    for f in range(frames):
        power = powers[f]
        # ``spectra`` may be a slice of frames, typed as of any layout: as C-contiguous rows (a view, after a
        # check at run time) the passes over them vectorise.
        _set_power(power, level, loudest, np.ascontiguousarray(spectra[0, f]))
        for c in range(1, channels):
            _add_power(power, level, loudest, np.ascontiguousarray(spectra[c, f]), c)
        mask = masks[resets[f]] if resets[f] >= 0 else masks[0]
        if resets[f] >= 0 and mask.all():
            synth[:, f, :] = spectra[:, f, :]
            if owners.shape[0]:
                _each_its_own(owners[f])
            continue
        floor = max(_largest(power, scratch) * np.float32(1e-12), np.float32(1e-30))
        for k in range(2, bins - 2):
            p = power[k]
            peak[k] = (p > floor) & (p > power[k - 1]) & (p > power[k - 2]) & (p >= power[k + 1]) & (p >= power[k + 2])
        count = _peaks_and_bounds(power, peak, peaks, bounds)
        if count == 0:
            synth[:, f, :] = spectra[:, f, :]
            if owners.shape[0]:
                _each_its_own(owners[f])
            continue
        lag = lag_index[f]
        # Gathered apart from the arithmetic on them, which then vectorises.
        for i in range(count):
            k = np.uint64(peaks[i])
            c = loudest[k]
            earlier[i] = lagged[c, lag, k]
            later[i] = prev_y[c, k] if f == 0 else synth[c, f - 1, k]
        _unit_turns(later, earlier, count, rotations)
        for i in range(1, count):
            region_starts[np.uint64(bounds[i])] += 1
        region = 0
        owned = owners.shape[0] > 0
        owner = owners[f] if owned else unowned
        for k in range(bins):
            region += region_starts[k]
            region_starts[k] = 0
            turns[k] = rotations[np.uint64(region)]
            if owned:
                owner[k] = peaks[np.uint64(region)]
        if resets[f] >= 0:
            for k in range(bins):
                turns[k] = one if mask[k] else turns[k]
        for c in range(channels):
            _rotate(synth[c, f], np.ascontiguousarray(spectra[c, f]), turns)
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
