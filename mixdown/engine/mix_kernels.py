"""numba kernels of the mixer: envelopes (fades) and mixing a clip into the bus.

A clip's envelope at clip frame ``t`` (0-based, ``length`` frames in all) is ``fade_in(t) * fade_out(t)``:

* fade-in of ``n`` frames: ``curve(t / n)`` for ``t < n``, else 1 (the first frame is silent);
* fade-out of ``n`` frames: ``curve((length - 1 - t) / n)`` for ``t >= length - n``, else 1 (the last
  frame is silent), so a fade-out is exactly the time mirror of a fade-in of the same length and curve.

Curves of ``x`` in ``[0, 1]``: linear ``x``; equal-power ``sin(x * pi / 2)``; exponential
``(exp(k x) - 1) / (exp(k) - 1)`` with ``k = ln(1000)``, a 60 dB exponential sweep pinned to exactly 0 and 1.
"""

from __future__ import annotations

import math

import numba
import numpy as np

CURVE_LINEAR = 0
CURVE_EQUAL_POWER = 1
CURVE_EXPONENTIAL = 2

_EXP_K = math.log(1000.0)
_EXP_SCALE = 1.0 / (1000.0 - 1.0)


@numba.njit(cache=True, inline="always")
def curve_gain(curve: int, x: float) -> float:
    if curve == CURVE_LINEAR:
        return x
    if curve == CURVE_EQUAL_POWER:
        return math.sin(x * (math.pi / 2.0))
    return (math.exp(_EXP_K * x) - 1.0) * _EXP_SCALE


@numba.njit(cache=True, inline="always")
def envelope_gain(t: int, length: int, fade_in: int, in_curve: int, fade_out: int, out_curve: int) -> float:
    gain = 1.0
    if t < fade_in:
        gain = curve_gain(in_curve, t / fade_in)
    if t >= length - fade_out:
        gain *= curve_gain(out_curve, (length - 1 - t) / fade_out)
    return gain


@numba.njit(cache=True)
def body_range(frames: int, clip_offset: int, length: int, fade_in: int, fade_out: int) -> tuple[int, int]:
    """The frames ``[k0, k1)`` of a span that lie outside both fades (gain exactly 1)."""
    k0 = min(max(0, fade_in - clip_offset), frames)
    k1 = min(frames, length - fade_out - clip_offset)
    if k1 < k0:
        k1 = k0
    return k0, k1


_CHUNK = 256


@numba.njit(cache=True)
def _add_scaled(out_seg: np.ndarray, in_seg: np.ndarray, m: np.float32) -> None:
    for k in range(out_seg.shape[0]):
        out_seg[k] += m * in_seg[k]


@numba.njit(cache=True)
def _add_enveloped(out_seg: np.ndarray, in_seg: np.ndarray, m: np.float32, gains: np.ndarray) -> None:
    for k in range(out_seg.shape[0]):
        out_seg[k] += (m * gains[k]) * in_seg[k]


@numba.njit(cache=True)
def _source_span(src: np.ndarray, c: int, src_first: int, step: int, k0: int, k1: int) -> np.ndarray:
    """``src[c, src_first + k * step]`` for ``k`` in ``[k0, k1)``, as a view."""
    if step == 1:
        return src[c, src_first + k0 : src_first + k1]
    return src[c, src_first - k1 + 1 : src_first - k0 + 1][::-1]


@numba.njit(cache=True)
def mix_clip(
    bus: np.ndarray,
    bus_offset: int,
    frames: int,
    src: np.ndarray,
    src_first: int,
    step: int,
    matrix: np.ndarray,
    clip_offset: int,
    length: int,
    fade_in: int,
    in_curve: int,
    fade_out: int,
    out_curve: int,
) -> None:
    """Add ``frames`` frames of a clip into ``bus`` starting at ``bus_offset``.

    Bus frame ``bus_offset + k`` receives, for every output channel ``o``,
    ``sum_c matrix[o, c] * envelope(clip_offset + k) * src[c, src_first + k * step]``.
    ``step`` is +1, or -1 for a reversed clip. Each (output, source) channel pair is one pass over
    contiguous slices, which the compiler vectorises; frames inside a fade take their gain from a small
    table of envelope values filled a chunk at a time.
    """
    k0, k1 = body_range(frames, clip_offset, length, fade_in, fade_out)
    _mix_span(bus, bus_offset, src, src_first, step, matrix, k0, k1)
    gains = np.empty(_CHUNK, dtype=np.float32)
    for lo, hi in ((0, k0), (k1, frames)):
        for chunk in range(lo, hi, _CHUNK):
            n = min(_CHUNK, hi - chunk)
            for j in range(n):
                gains[j] = envelope_gain(clip_offset + chunk + j, length, fade_in, in_curve, fade_out, out_curve)
            _mix_span(bus, bus_offset, src, src_first, step, matrix, chunk, chunk + n, gains[:n])


@numba.njit(cache=True)
def _mix_span(
    bus: np.ndarray,
    bus_offset: int,
    src: np.ndarray,
    src_first: int,
    step: int,
    matrix: np.ndarray,
    k0: int,
    k1: int,
    gains: np.ndarray | None = None,
) -> None:
    if k1 <= k0:
        return
    out_channels, in_channels = matrix.shape
    for o in range(out_channels):
        out_seg = bus[o, bus_offset + k0 : bus_offset + k1]
        for c in range(in_channels):
            m = matrix[o, c]
            if m == 0.0:
                continue
            in_seg = _source_span(src, c, src_first, step, k0, k1)
            if gains is None:
                _add_scaled(out_seg, in_seg, m)
            else:
                _add_enveloped(out_seg, in_seg, m, gains)


@numba.njit(cache=True)
def apply_envelope(
    audio: np.ndarray, length: int, fade_in: int, in_curve: int, fade_out: int, out_curve: int
) -> None:
    """Multiply ``audio`` in place by the envelope of a clip that is exactly ``audio``'s frames long."""
    channels = audio.shape[0]
    for t in range(min(fade_in, length)):
        g = envelope_gain(t, length, fade_in, in_curve, fade_out, out_curve)
        for c in range(channels):
            audio[c, t] = np.float32(audio[c, t] * g)
    for t in range(max(fade_in, length - fade_out), length):
        g = envelope_gain(t, length, fade_in, in_curve, fade_out, out_curve)
        for c in range(channels):
            audio[c, t] = np.float32(audio[c, t] * g)
