"""Numba kernels of the BS.1770 loudness meter and of the true-peak limiter.

Every kernel works on plain arrays that :mod:`mixdown.engine.loudness` and :mod:`mixdown.engine.normalize`
plan and allocate; none of them allocates per sample.

Two things shape the code:

- numba indexes arrays with signed integers and guards every index against wrap-around, which stops LLVM
  from vectorising a loop such as ``x[n - 3]``, and a slice costs more than a 16-sample loop. The
  vectorised loops therefore index a slice from zero or use unsigned (``uint64``) offsets.
- LLVM will not vectorise a floating-point ``max`` reduction from numba's IR, but it does vectorise an
  integer one. The magnitude of a finite float32 orders exactly like its IEEE bit pattern with the sign
  bit cleared, so peaks are reduced as ``int32`` bit patterns (:func:`_abs_bits`) and turned back into a
  float once (:func:`_float_from_bits`). This is exact, not an approximation.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: Taps of each of the four phases of the BS.1770-4 Annex 2 interpolating filter.
TRUE_PEAK_TAPS = 12

#: Samples per block of the true-peak scan; blocks that cannot raise the peak are skipped.
TRUE_PEAK_BLOCK = 16

#: Longest run of samples the K-weighting filter handles at once (its float64 scratch stays in L1).
FILTER_CHUNK = 2048

# Loops over finite samples whose results do not depend on the order of a max, or where a reassociated
# sum is acceptable: deterministic for one build on one machine, though another CPU's vector width may
# round the last bits differently.
_VECTOR = {"nnan", "ninf", "nsz", "contract", "reassoc"}
# Recursive filters: only fused multiply-add, so that evaluation order (and the critical path) is ours.
_FMA = {"contract"}

_SIGN_MASK = 0x7FFFFFFF
#: Bit pattern of float32 infinity: a magnitude's bits reach it only for an infinity or a NaN.
NON_FINITE_BITS = 0x7F800000
_U = np.uint64


@intrinsic
def _abs_bits(typingctx, value):
    """The IEEE bit pattern of ``abs(value)`` for a float32, as an int32."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], ir.IntType(32))
        return builder.and_(bits, ir.Constant(ir.IntType(32), _SIGN_MASK))

    return sig, codegen


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float32 whose IEEE bit pattern is ``bits``."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


# --------------------------------------------------------------------------------------------- peaks


@numba.njit(cache=True, fastmath=_VECTOR)
def abs_max(x, start, stop):
    """``max(|x[start:stop]|)`` as float32 (0 for an empty range)."""
    xs = x[start:stop]
    m = np.int32(0)
    for i in range(xs.shape[0]):
        m = max(m, _abs_bits(xs[i]))
    return _float_from_bits(m)


@numba.njit(cache=True, fastmath=_VECTOR)
def _inner_interpolated_bits(x, start, stop, taps):
    """Bit pattern of ``max |y_p[n]|`` over the 4 phases and ``n`` in ``[start, stop)``,
    ``11 <= start < stop <= len(x)``, where ``y_p[n] = sum_k taps[p, k] * x[n - k]``.

    Indices are unsigned so that numba emits no wrap-around guard and the loop over ``n`` vectorises.
    """
    base = _U(start - 11)
    m = np.int32(0)
    for i in range(_U(stop - start)):
        j = base + i
        w0, w1, w2, w3 = x[j], x[j + _U(1)], x[j + _U(2)], x[j + _U(3)]
        w4, w5, w6, w7 = x[j + _U(4)], x[j + _U(5)], x[j + _U(6)], x[j + _U(7)]
        w8, w9, w10, w11 = x[j + _U(8)], x[j + _U(9)], x[j + _U(10)], x[j + _U(11)]
        for p in range(4):
            acc = (
                taps[p, 11] * w0 + taps[p, 10] * w1 + taps[p, 9] * w2 + taps[p, 8] * w3
                + taps[p, 7] * w4 + taps[p, 6] * w5 + taps[p, 5] * w6 + taps[p, 4] * w7
                + taps[p, 3] * w8 + taps[p, 2] * w9 + taps[p, 1] * w10 + taps[p, 0] * w11
            )  # fmt: skip
            m = max(m, _abs_bits(acc))
    return m


@numba.njit(cache=True, fastmath=_VECTOR)
def _block_interpolated_bits(x, start, taps):
    """:func:`_inner_interpolated_bits` over one whole block, ``[start, start + TRUE_PEAK_BLOCK)``: a
    fixed trip count compiles to straight vector code with no remainder loop."""
    base = _U(start - 11)
    m = np.int32(0)
    for i in range(_U(TRUE_PEAK_BLOCK)):
        j = base + i
        w0, w1, w2, w3 = x[j], x[j + _U(1)], x[j + _U(2)], x[j + _U(3)]
        w4, w5, w6, w7 = x[j + _U(4)], x[j + _U(5)], x[j + _U(6)], x[j + _U(7)]
        w8, w9, w10, w11 = x[j + _U(8)], x[j + _U(9)], x[j + _U(10)], x[j + _U(11)]
        for p in range(4):
            acc = (
                taps[p, 11] * w0 + taps[p, 10] * w1 + taps[p, 9] * w2 + taps[p, 8] * w3
                + taps[p, 7] * w4 + taps[p, 6] * w5 + taps[p, 5] * w6 + taps[p, 4] * w7
                + taps[p, 3] * w8 + taps[p, 2] * w9 + taps[p, 1] * w10 + taps[p, 0] * w11
            )  # fmt: skip
            m = max(m, _abs_bits(acc))
    return m


@numba.njit(cache=True)
def _interpolated_peak_at(x, n, taps):
    """``max_p |y_p[n]|`` for any ``n`` in ``[0, len(x) + 11)``, reading zeros outside ``x``."""
    frames = x.shape[0]
    peak = np.float32(0.0)
    for p in range(taps.shape[0]):
        acc = np.float32(0.0)
        for k in range(TRUE_PEAK_TAPS):
            j = n - k
            if 0 <= j < frames:
                acc += taps[p, k] * x[j]
        peak = max(peak, abs(acc))
    return peak


@numba.njit(cache=True)
def interpolated_peak(x, start, stop, taps):
    """``max_p |y_p[n]|`` over ``n`` in ``[start, stop)`` (any range within ``[0, len(x) + 11)``)."""
    frames = x.shape[0]
    inner_start = max(start, 11)
    inner_stop = min(stop, frames)
    peak = np.float32(0.0)
    if inner_start < inner_stop:
        peak = _float_from_bits(_inner_interpolated_bits(x, inner_start, inner_stop, taps))
    for n in range(start, min(stop, inner_start)):
        peak = max(peak, _interpolated_peak_at(x, n, taps))
    for n in range(max(start, inner_stop, inner_start), stop):
        peak = max(peak, _interpolated_peak_at(x, n, taps))
    return peak


@numba.njit(cache=True, fastmath=_VECTOR)
def block_peak_bits(x, start, stop, out):
    """``out[j]``: bit pattern of ``max(|x|)`` over block ``j`` of :data:`TRUE_PEAK_BLOCK` frames from
    ``start``; the last block may be short. Returns the number of blocks."""
    xs = x[start:stop]
    full = xs.shape[0] // TRUE_PEAK_BLOCK
    for j in range(full):
        m = np.int32(0)
        for i in range(TRUE_PEAK_BLOCK):
            m = max(m, _abs_bits(xs[j * TRUE_PEAK_BLOCK + i]))
        out[j] = m
    rest = xs.shape[0] - full * TRUE_PEAK_BLOCK
    if rest == 0:
        return full
    m = np.int32(0)
    for i in range(rest):
        m = max(m, _abs_bits(xs[full * TRUE_PEAK_BLOCK + i]))
    out[full] = m
    return full + 1


@numba.njit(cache=True)
def _skip_threshold(peak, gain_bound):
    """Bit pattern of the largest input magnitude that provably cannot interpolate above ``peak``.

    The margin covers float32 rounding in the interpolator, so a skipped block is never one that would
    have read higher.
    """
    return _abs_bits(np.float32(peak / (gain_bound * (1.0 + 1e-5))))


@numba.njit(cache=True)
def scan_peaks(x, start, stop, taps, gain_bound, peaks, previous, bits):
    """Raise ``peaks[0]`` (sample peak) and ``peaks[1]`` (max of true and sample peak) over ``[start, stop)``.

    Covers samples and interpolated outputs ``n`` in ``[start, stop)``, ``0 <= stop <= len(x) + 11``,
    on a grid of :data:`TRUE_PEAK_BLOCK` frames (``start`` a multiple of it). An output block reads its own
    samples and the 11 before it, which lie in the previous block, so its true peak is at most
    ``gain_bound`` (largest L1 norm of a phase) times the larger of the two blocks' peaks. A block whose
    bound cannot beat ``peaks[1]`` is not interpolated; that is exact since the result is a maximum.

    ``previous`` (int32, 2 elements) carries the bit pattern of the last block's peak between calls and
    accumulates that of the sample peak, which is also how non-finite samples show: a NaN or infinity has
    a larger bit pattern than any finite magnitude. ``bits`` is int32 scratch of
    ``FILTER_CHUNK // TRUE_PEAK_BLOCK + 1``.
    """
    frames = x.shape[0]
    piece_start = start
    while piece_start < stop:
        piece_stop = min(piece_start + FILTER_CHUNK, stop)
        real_stop = min(piece_stop, frames)
        blocks = block_peak_bits(x, piece_start, real_stop, bits) if piece_start < real_stop else 0
        total = (piece_stop - piece_start + TRUE_PEAK_BLOCK - 1) // TRUE_PEAK_BLOCK
        for j in range(blocks, total):
            bits[j] = 0
        sample_bits = np.int32(0)
        for j in range(total):
            sample_bits = max(sample_bits, bits[j])
        previous[1] = max(previous[1], sample_bits)
        if sample_bits >= NON_FINITE_BITS:
            return
        sample_peak = _float_from_bits(sample_bits)
        peaks[0] = max(peaks[0], sample_peak)
        peaks[1] = max(peaks[1], sample_peak)
        threshold = _skip_threshold(peaks[1], gain_bound)
        prev = previous[0]
        for j in range(total):
            own = bits[j]
            if max(own, prev) > threshold:
                block = piece_start + j * TRUE_PEAK_BLOCK
                block_stop = min(block + TRUE_PEAK_BLOCK, piece_stop)
                if block >= 11 and block_stop - block == TRUE_PEAK_BLOCK and block_stop <= frames:
                    peak = _float_from_bits(_block_interpolated_bits(x, block, taps))
                else:
                    peak = interpolated_peak(x, block, block_stop, taps)
                if peak > peaks[1]:
                    peaks[1] = peak
                    threshold = _skip_threshold(peak, gain_bound)
            prev = own
        previous[0] = prev
        piece_start = piece_stop


# ------------------------------------------------------------------------------------- K-weighting


@numba.njit(cache=True, fastmath=_VECTOR)
def kweight_feedforward(x, start, stop, b, out):
    """``out[i] = sum_k b[k] * x[start + i - k]`` (zeros before ``x[0]``), in float64."""
    b0, b1, b2, b3, b4 = b[0], b[1], b[2], b[3], b[4]
    head = min(max(4 - start, 0), stop - start)
    for i in range(head):
        acc = 0.0
        for k in range(5):
            j = start + i - k
            if j >= 0:
                acc += b[k] * np.float64(x[j])
        out[i] = acc
    first = start + head
    xs = x[first - 4 : stop] if first < stop else x[0:0]
    tail = out[head:]
    for i in range(stop - first):
        tail[i] = (
            b4 * np.float64(xs[i]) + b3 * np.float64(xs[i + 1]) + b2 * np.float64(xs[i + 2])
            + b1 * np.float64(xs[i + 3]) + b0 * np.float64(xs[i + 4])
        )  # fmt: skip


@numba.njit(cache=True, fastmath=_FMA)
def kweight_recursion(buf, count, a, state):
    """Run the all-pole part ``a`` (``a[0] == 1``) over ``buf[:count]`` in place.

    ``state`` holds the four previous outputs and is updated. The term on the previous output is added
    last so that each sample waits on one fused multiply-add only.
    """
    a1, a2, a3, a4 = a[1], a[2], a[3], a[4]
    y1, y2, y3, y4 = state[0], state[1], state[2], state[3]
    for i in range(count):
        y = buf[i] - a4 * y4 - a3 * y3 - a2 * y2 - a1 * y1
        buf[i] = y
        y4 = y3
        y3 = y2
        y2 = y1
        y1 = y
    state[0], state[1], state[2], state[3] = y1, y2, y3, y4


@numba.njit(cache=True, fastmath=_FMA)
def kweight_recursion_pair(buf_a, buf_b, count, a, state_a, state_b):
    """:func:`kweight_recursion` on two channels at once, interleaved to overlap their latencies."""
    a1, a2, a3, a4 = a[1], a[2], a[3], a[4]
    y1, y2, y3, y4 = state_a[0], state_a[1], state_a[2], state_a[3]
    z1, z2, z3, z4 = state_b[0], state_b[1], state_b[2], state_b[3]
    for i in range(count):
        y = buf_a[i] - a4 * y4 - a3 * y3 - a2 * y2 - a1 * y1
        z = buf_b[i] - a4 * z4 - a3 * z3 - a2 * z2 - a1 * z1
        buf_a[i] = y
        buf_b[i] = z
        y4 = y3
        y3 = y2
        y2 = y1
        y1 = y
        z4 = z3
        z3 = z2
        z2 = z1
        z1 = z
    state_a[0], state_a[1], state_a[2], state_a[3] = y1, y2, y3, y4
    state_b[0], state_b[1], state_b[2], state_b[3] = z1, z2, z3, z4


@numba.njit(cache=True, fastmath=_VECTOR)
def sum_squares(buf, count):
    """``sum(buf[:count] ** 2)`` (vectorised, so summed in a different order than written)."""
    total = 0.0
    for i in range(count):
        total += buf[i] * buf[i]
    return total


@numba.njit(cache=True)
def analyse_span(audio, bounds, b, a, taps, gain_bound, power, peaks, scratch, state, previous, bits, scanned,
                 scan_stop):
    """One step of the meter's single pass over the samples: resumable, so a file can be metered in blocks.

    Each run of at most :data:`FILTER_CHUNK` frames is K-weighted and scanned for peaks while it is in
    cache. Only complete sub-blocks are K-weighted; peaks are scanned up to ``scan_stop``. The state
    arrays carry everything between calls, so calls over consecutive spans of a signal (each buffer
    beginning with enough of the previous one: 4 frames before ``bounds[0]`` for the filter, 16 before
    ``scanned`` for the interpolator, or the signal's start) give exactly the figures of one call over
    the whole signal.

    Parameters
    ----------
    audio : float32 (channels, frames)
        The buffer; index 0 must lie on the :data:`TRUE_PEAK_BLOCK` grid of the signal.
    bounds : int64 (subblocks + 1,)
        Sub-block ``k`` spans ``[bounds[k], bounds[k + 1])`` of the buffer, ``bounds[-1] <= frames``.
    b, a : float64 (5,)
        K-weighting as one 4th-order filter (``a[0] == 1``).
    taps : float32 (4, 12)
        The interpolating filter's phases.
    gain_bound : float
        Largest L1 norm of a phase of ``taps``.
    power : float64 (channels, subblocks)
        Zeroed by the caller; receives each sub-block's sum of squared K-weighted samples.
    peaks : float32 (2,)
        Raised to the sample peak and the true peak (never below the sample peak), linear.
    scratch : float64 (2, FILTER_CHUNK)
    state : float64 (channels, 4)
        Filter state, zero at the signal's start.
    previous : int32 (channels, 2)
        Peak-scan state, zero at the signal's start; ``previous[c, 1]`` ends as the bit pattern of channel
        ``c``'s largest magnitude, at least ``0x7F800000`` if the channel holds a NaN or an infinity (the
        other outputs are then meaningless).
    bits : int32 (FILTER_CHUNK // TRUE_PEAK_BLOCK + 1,)
        Peak-scan scratch.
    scanned, scan_stop : int
        Peaks are known up to ``scanned`` (on the grid) and are scanned up to ``scan_stop``: on the grid,
        or ``frames + 11`` at the signal's end (the interpolator's ringing into the silence after it).

    Returns
    -------
    int
        The new ``scanned``.
    """
    channels = audio.shape[0]
    subblocks = bounds.shape[0] - 1
    for k in range(subblocks):
        start = bounds[k]
        while start < bounds[k + 1]:
            stop = min(start + FILTER_CHUNK, bounds[k + 1])
            count = stop - start
            c = 0
            while c + 1 < channels:
                kweight_feedforward(audio[c], start, stop, b, scratch[0])
                kweight_feedforward(audio[c + 1], start, stop, b, scratch[1])
                kweight_recursion_pair(scratch[0], scratch[1], count, a, state[c], state[c + 1])
                power[c, k] += sum_squares(scratch[0], count)
                power[c + 1, k] += sum_squares(scratch[1], count)
                c += 2
            if c < channels:
                kweight_feedforward(audio[c], start, stop, b, scratch[0])
                kweight_recursion(scratch[0], count, a, state[c])
                power[c, k] += sum_squares(scratch[0], count)
            limit = min(stop - stop % TRUE_PEAK_BLOCK, scan_stop)
            if limit > scanned:
                for c in range(channels):
                    scan_peaks(audio[c], scanned, limit, taps, gain_bound, peaks, previous[c], bits)
                scanned = limit
            start = stop
    if scan_stop > scanned:
        for c in range(channels):
            scan_peaks(audio[c], scanned, scan_stop, taps, gain_bound, peaks, previous[c], bits)
        scanned = scan_stop
    return scanned


# --------------------------------------------------------------------------------------------- limiter


@numba.njit(cache=True)
def true_peak_envelope(audio, taps, scratch, env):
    """``env[m]``: the largest magnitude, over channels, of sample ``m`` and of the signal between it and
    its neighbours as the 4x interpolator sees it.

    Phase outputs at index ``n`` lie between samples ``n - 6`` and ``n - 5``, so sample ``m`` takes the
    outputs at ``m + 5`` and ``m + 6``; the ringing before the first and after the last sample goes to the
    first and last sample.

    Parameters
    ----------
    audio : float32 (channels, frames)
    taps : float32 (4, 12)
    scratch : float32 (frames + 11,)
    env : float32 (frames,)
        Overwritten.
    """
    channels, frames = audio.shape
    outputs = frames + TRUE_PEAK_TAPS - 1
    env[:] = 0.0
    for c in range(channels):
        x = audio[c]
        for start in range(0, outputs, TRUE_PEAK_BLOCK):
            stop = min(start + TRUE_PEAK_BLOCK, outputs)
            for n in range(start, stop):
                scratch[n] = 0.0
            if start >= 11 and stop <= frames:
                _phase_envelope_block(x, start, stop, taps, scratch)
            else:
                for n in range(start, stop):
                    scratch[n] = _interpolated_peak_at(x, n, taps)
        for m in range(frames):
            value = max(abs(x[m]), scratch[m + 5], scratch[m + 6])
            if value > env[m]:
                env[m] = value
        edge = np.float32(0.0)
        for n in range(0, 5):
            edge = max(edge, scratch[n])
        env[0] = max(env[0], edge)
        edge = np.float32(0.0)
        for n in range(frames + 5, outputs):
            edge = max(edge, scratch[n])
        env[frames - 1] = max(env[frames - 1], edge)


@numba.njit(cache=True, fastmath=_VECTOR)
def _phase_envelope_block(x, start, stop, taps, out):
    """``out[n] = max(out[n], max_p |y_p[n]|)`` for ``n`` in ``[start, stop)``, ``11 <= start``."""
    xs = x[start - 11 : stop]
    dest = out[start:stop]
    for p in range(taps.shape[0]):
        c0, c1, c2, c3 = taps[p, 0], taps[p, 1], taps[p, 2], taps[p, 3]
        c4, c5, c6, c7 = taps[p, 4], taps[p, 5], taps[p, 6], taps[p, 7]
        c8, c9, c10, c11 = taps[p, 8], taps[p, 9], taps[p, 10], taps[p, 11]
        for i in range(stop - start):
            acc = (
                c11 * xs[i] + c10 * xs[i + 1] + c9 * xs[i + 2] + c8 * xs[i + 3]
                + c7 * xs[i + 4] + c6 * xs[i + 5] + c5 * xs[i + 6] + c4 * xs[i + 7]
                + c3 * xs[i + 8] + c2 * xs[i + 9] + c1 * xs[i + 10] + c0 * xs[i + 11]
            )  # fmt: skip
            dest[i] = max(dest[i], abs(acc))


@numba.njit(cache=True, fastmath=_VECTOR)
def _interval_peaks_inner(x, start, stop, phases, out, acc):
    """``out[m] = max(out[m], max_k |z_k[m]|)`` for ``m`` in ``[start, stop)``, where
    ``z_k[m] = sum_t phases[k, t] * x[m - half + 1 + t]`` and ``half <= start``, ``stop + half <= len(x)``.

    Accumulates tap by tap over a run of outputs (``acc`` is float32 scratch of the run's length) so the
    loop over outputs vectorises.
    """
    count, taps = phases.shape
    run = acc.shape[0]
    for first in range(start, stop, run):
        length = min(run, stop - first)
        base = _U(first - taps // 2 + 1)
        dest = out[first : first + length]
        for k in range(count):
            for i in range(_U(length)):
                acc[i] = 0.0
            for t in range(taps):
                h = phases[k, t]
                offset = base + _U(t)
                for i in range(_U(length)):
                    acc[i] += h * x[offset + i]
            for i in range(length):
                dest[i] = max(dest[i], abs(acc[i]))


@numba.njit(cache=True)
def interval_peaks(audio, phases, out):
    """``out[m]``: the largest magnitude, over channels, that the interpolator ``phases`` (one row per
    fractional position between sample ``m`` and ``m + 1``, ``taps`` even) reads between the two samples,
    zeros taken outside the audio. ``out`` is overwritten."""
    channels, frames = audio.shape
    count, taps = phases.shape
    half = taps // 2
    out[:] = 0.0
    inner_start = half
    inner_stop = max(frames - half, inner_start)
    run = np.empty(FILTER_CHUNK, dtype=np.float32)
    for c in range(channels):
        x = audio[c]
        if inner_start < inner_stop:
            _interval_peaks_inner(x, inner_start, inner_stop, phases, out, run)
        for m in range(frames):
            if inner_start <= m < inner_stop:
                continue
            for k in range(count):
                acc = np.float32(0.0)
                for t in range(taps):
                    j = m - half + 1 + t
                    if 0 <= j < frames:
                        acc += phases[k, t] * x[j]
                out[m] = max(out[m], abs(acc))


@numba.njit(cache=True)
def required_gain(env, limit, before, after, out, queue):
    """``out[i]``: the smallest gain any frame in ``[i - before, i + after]`` needs to stay at or under
    ``limit`` (``min(1, limit / env[j])``), by a monotonic deque in O(frames).

    ``queue`` is int64 scratch of ``len(env)``.
    """
    frames = env.shape[0]
    head = 0
    tail = 0
    nxt = 0
    for i in range(frames):
        last = min(i + after, frames - 1)
        while nxt <= last:
            while tail > head and env[queue[tail - 1]] <= env[nxt]:
                tail -= 1
            queue[tail] = nxt
            tail += 1
            nxt += 1
        while queue[head] < i - before:
            head += 1
        peak = env[queue[head]]
        out[i] = 1.0 if peak <= limit else limit / peak


@numba.njit(cache=True)
def forward_mean(held, length, out):
    """``out[m] = mean(held[m : m + length])``, reading 1.0 past the end (no gain reduction there)."""
    frames = held.shape[0]
    total = 0.0
    for i in range(min(length, frames)):
        total += held[i]
    total += max(length - frames, 0)
    for m in range(frames):
        out[m] = total / length
        total -= held[m]
        total += held[m + length] if m + length < frames else 1.0


@numba.njit(cache=True)
def release(gain, coef, out):
    """Follow drops of ``gain`` at once and its rises exponentially (``coef`` per frame): ``out <= gain``."""
    previous = 1.0
    for m in range(gain.shape[0]):
        target = gain[m]
        previous = target if target <= previous else previous + (target - previous) * coef
        out[m] = previous


@numba.njit(cache=True)
def apply_gain(audio, scale, gain, out):
    """``out[c, m] = float32(audio[c, m] * scale * gain[m])`` with the product in float64."""
    channels, frames = audio.shape
    for c in range(channels):
        for m in range(frames):
            out[c, m] = np.float32(np.float64(audio[c, m]) * scale * gain[m])


# ------------------------------------------------------------------------------------ peak normalize


@numba.njit(cache=True)
def peak_of(audio):
    """Largest sample magnitude over every channel."""
    peak = np.float32(0.0)
    for c in range(audio.shape[0]):
        peak = max(peak, abs_max(audio[c], 0, audio.shape[1]))
    return peak


@numba.njit(cache=True, fastmath={"contract"})
def scale_into(audio, gain, out):
    """``out = audio * gain`` in float32."""
    channels, frames = audio.shape
    for c in range(channels):
        xs = audio[c]
        ys = out[c]
        for m in range(frames):
            ys[m] = xs[m] * gain
