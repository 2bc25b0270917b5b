"""How far a source's spectral envelope moves when its pitch moves: how much of it a pitch shift should keep.

Instruments differ. A voice patch played over many keys from one recording moves its formants with its
pitch, as tape does; a densely sampled piano or a string section keeps much of its body's resonances where
they are. A source with a melody shows which it is. In frames where one harmonic series stands out, the
levels of its first ``HARMONICS`` partials are read (a series whose fundamental is missing is most likely a
higher note's, read at a fraction of its pitch, and is not read); between two such frames a pitch ratio
``r`` apart (up to ``PAIR_SECONDS`` apart in time, or neighbours on a source long enough to be read at
``MAX_FRAMES`` frames spread over it), the second frame's levels are compared with the first frame's,
read as an envelope moved by ``r ** motion``: ``motion`` 0 keeps the envelope in place, 1 moves it with
the pitch. The best ``motion`` of each pair is taken on a grid; the source's is their median, and a
pitch shift keeps ``1 - motion`` of its envelope in place (``mixdown.engine.formants``).

On FluidSynth renderings of General MIDI instruments (``benchmarks/quality``) this reads 0.85 for a sung
"ooh" over a pad, 0.65 for plucked guitar arpeggios, 0.4 for strings and 0.35 for piano; scored with
ViSQOL against each piece transposed natively, the best of the fixed amounts tried (0, 0.1, 0.2, 0.3,
0.4, 0.6) keeps 0.1 of the envelope in place for the "ooh", 0.3-0.4 for the guitar and 0.6 for piano and
strings, and the amounts read score as well as those. A source with too few such pairs (a single note,
drums, noise) says nothing, and :func:`envelope_motion` returns None.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft

from mixdown.engine import stretch_kernels

HARMONICS = 8
LOWEST_HZ = 80.0
HIGHEST_HZ = 1000.0
#: Frames are this long (about: a power of two, at half the sample rate where that keeps every harmonic
#: read well under Nyquist) and at least MIN_HOP_SECONDS apart; a long source is read at MAX_FRAMES frames
#: spread over it.
FRAME_SECONDS = 0.17
MIN_HOP_SECONDS = 0.05
MAX_FRAMES = 200
PAIR_SECONDS = 3.0
#: A frame is read when it is within 30 dB of the loudest, its best fundamental is not in the top semitone of
#: the range (it may be a higher note's, read an octave down) and its best series' salience is this many times
#: the median candidate's; a pair counts when its pitches differ by at least MIN_SEMITONES (and at most an
#: octave), and the source's motion needs MIN_PAIRS of them.
QUIET = 1e-3
SALIENCE = 1.5
MIN_SEMITONES = 0.8
MIN_PAIRS = 16
STEPS_PER_OCTAVE = 96
MOTIONS = np.linspace(0.0, 1.0, 21)
LN2 = math.log(2.0)
#: A series whose fundamental is this far (natural log of amplitude, 30 dB) under its loudest harmonic is
#: not read: it is most likely a higher note's, read at a fraction of its pitch.
MISSING_FUNDAMENTAL = 1.5 * math.log(10.0)


@numba.njit(cache=True)
def harmonic_levels(magnitudes: np.ndarray, candidates: np.ndarray, f0: np.ndarray, levels: np.ndarray,
                    salience: np.ndarray) -> None:
    """Per frame, the candidate fundamental (in bins) whose first harmonics have the most compressed
    magnitude (harmonic ``h`` weighted by ``1 / sqrt(h)``), the natural log of its partials' peak
    magnitudes (within 2% of each harmonic) in ``levels``, and its salience over the median candidate's."""
    frames = magnitudes.shape[0]
    count = levels.shape[1]
    bins = min(magnitudes.shape[1], int(1.02 * candidates[-1] * count) + 3)
    scores = np.empty(candidates.shape[0], dtype=np.float64)
    shifted = np.empty(bins, dtype=np.float32)
    compressed = np.empty(bins, dtype=np.float32)
    for f in range(frames):
        row = magnitudes[f]
        scale = np.float32(1.0 / max(row.max() * 1e-3, 1e-30))
        for k in range(bins):
            shifted[k] = np.float32(1.0) + row[k] * scale
        stretch_kernels.approx_log(shifted, compressed)
        for k in range(bins):
            compressed[k] -= np.float32(LN2)
        for c in range(candidates.shape[0]):
            total = 0.0
            for h in range(1, count + 1):
                x = candidates[c] * h
                k = int(x)
                if k + 1 >= bins:
                    break
                frac = x - k
                total += (compressed[k] * (1.0 - frac) + compressed[k + 1] * frac) / math.sqrt(h)
            scores[c] = total
        best = int(np.argmax(scores))
        median = np.median(scores)
        salience[f] = scores[best] / median if median > 0 else 0.0
        f0[f] = candidates[best]
        for h in range(1, count + 1):
            lo = int(0.98 * h * candidates[best])
            hi = min(math.ceil(1.02 * h * candidates[best]) + 1, bins)
            top = 0.0
            for k in range(lo, hi):
                top = max(top, row[k])
            levels[f, h - 1] = math.log(top + 1e-12)
        # A series with no fundamental is most likely a higher note's, read an octave or more down.
        if levels[f, 0] < levels[f].max() - MISSING_FUNDAMENTAL:
            salience[f] = 0.0


@numba.njit(cache=True)
def pair_motions(f0: np.ndarray, levels: np.ndarray, usable: np.ndarray, reach: int, min_semitones: float,
                 motions: np.ndarray) -> np.ndarray:
    """For each pair of usable frames at most ``reach`` apart whose fundamentals differ by ``min_semitones``
    to an octave, the motion (from ``motions``) that best predicts the second frame's harmonic levels from
    the first's envelope: harmonic ``h`` of the second sits where harmonic ``h * r ** (1 - motion)`` of
    the first did, ``r`` the pitch ratio; levels are compared after removing their mean difference."""
    frames, count = levels.shape
    found = np.empty(frames * reach, dtype=np.float64)
    n = 0
    log_steps = np.log(np.arange(1, count + 1).astype(np.float64))
    for i in range(frames):
        if not usable[i]:
            continue
        for j in range(i + 1, min(frames, i + reach + 1)):
            if not usable[j]:
                continue
            r = f0[j] / f0[i]
            semitones = abs(12.0 * math.log2(r))
            if semitones < min_semitones or semitones > 12.0:
                continue
            best, best_error = -1.0, np.inf
            for motion in motions:
                total, square, used = 0.0, 0.0, 0
                for h in range(1, count + 1):
                    x = math.log(h * r ** (1.0 - motion))
                    if x < 0.0 or x > log_steps[count - 1]:
                        continue
                    m = 0
                    while m + 2 < count and log_steps[m + 1] < x:
                        m += 1
                    frac = (x - log_steps[m]) / (log_steps[m + 1] - log_steps[m])
                    d = levels[j, h - 1] - (levels[i, m] * (1.0 - frac) + levels[i, m + 1] * frac)
                    total += d
                    square += d * d
                    used += 1
                if used >= 4:
                    error = square / used - (total / used) ** 2
                    if error < best_error:
                        best, best_error = motion, error
            if best >= 0.0:
                found[n] = best
                n += 1
    return found[:n]


@numba.njit(cache=True)
def mixed_frames(audio: np.ndarray, centres: np.ndarray, step: int, window: np.ndarray, out: np.ndarray) -> None:
    """``out[f, j]``: the mean of ``audio``'s channels, averaged over ``step`` (1 or 2) samples, at sample
    ``(centres[f] - n/2 + j) * step``, times ``window[j]``; zero outside the audio. Only the frames read
    are mixed, not the whole source. Stereo at half rate, the common case, has its own loop (a third of
    the time; the same sums in the same order)."""
    channels, length = audio.shape
    n = window.shape[0]
    count = np.float32(channels)
    scale = np.float32(step)
    for f in range(centres.shape[0]):
        first = centres[f] - n // 2
        lo = min(max(0, -first), n)
        hi = max(min(n, length // step - first), lo)
        row = out[f]
        row[:lo] = 0.0
        row[hi:] = 0.0
        if channels == 2 and step == 2:
            left, right = audio[0], audio[1]
            for j in range(lo, hi):
                i = 2 * (first + j)
                total = np.float32(0.0) + (left[i] + right[i]) / count
                total += (left[i + 1] + right[i + 1]) / count
                row[j] = total / scale * window[j]
            continue
        for j in range(lo, hi):
            at = (first + j) * step
            total = np.float32(0.0)
            for i in range(at, at + step):
                mono = audio[0, i]
                for c in range(1, channels):
                    mono += audio[c, i]
                total += mono / count
            row[j] = total / scale * window[j]


def envelope_motion(audio: np.ndarray, sample_rate: int) -> float | None:
    """How far the spectral envelope of ``audio`` (float32 ``(channels, frames)``) moves with its pitch, in
    [0, 1]; None when the source has too few pitched frames a pitch step apart to tell (see the module
    docstring)."""
    # Halve the rate where the highest harmonics read stay well under the half rate's Nyquist frequency.
    step = 2 if sample_rate / 2 * 0.45 >= HARMONICS * HIGHEST_HZ else 1
    rate = sample_rate / step
    length = audio.shape[1] // step
    n = 2 ** max(8, round(math.log2(FRAME_SECONDS * rate)))
    highest = min(HIGHEST_HZ, 0.45 * rate / HARMONICS)
    if length < n or highest <= LOWEST_HZ:
        return None
    hop = max(round(MIN_HOP_SECONDS * rate), -(-(length - n) // max(MAX_FRAMES - 1, 1)))
    centres = np.arange(n // 2, length - n // 2 + 1, hop, dtype=np.int64)
    frames = np.empty((centres.shape[0], n), dtype=np.float32)
    mixed_frames(audio, centres, step, np.hanning(n + 1)[:-1].astype(np.float32), frames)
    magnitudes = np.abs(scipy.fft.rfft(frames, axis=1, workers=1))
    energy = (magnitudes.astype(np.float64) ** 2).sum(axis=1)
    steps = int(STEPS_PER_OCTAVE * math.log2(highest / LOWEST_HZ))
    candidates = LOWEST_HZ * 2.0 ** (np.arange(steps) / STEPS_PER_OCTAVE) * n / rate
    f0 = np.empty(centres.shape[0], dtype=np.float64)
    levels = np.empty((centres.shape[0], HARMONICS), dtype=np.float64)
    salience = np.empty(centres.shape[0], dtype=np.float64)
    harmonic_levels(magnitudes, candidates, f0, levels, salience)
    # A best fundamental at the top of the range may be a higher note read an octave down.
    below_top = f0 < candidates[max(0, steps - STEPS_PER_OCTAVE // 12)]
    usable = (energy > QUIET * energy.max()) & (salience > SALIENCE) & below_top
    reach = max(1, math.ceil(PAIR_SECONDS * rate / hop))
    motions = pair_motions(f0, levels, usable, reach, MIN_SEMITONES, MOTIONS)
    if motions.shape[0] < MIN_PAIRS:
        return None
    return round(float(np.median(motions)), 3)
