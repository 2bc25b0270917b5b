"""Spectral envelopes for pitch shifting: how much of a sound's envelope (its formants) stays in place.

Pitch is shifted by stretching in time and then resampling, and resampling moves the whole spectrum,
envelope included, as tape does. To keep the envelope where it was, each stretched frame is multiplied,
before the resampling, by ``envelope(k * factor) / envelope(k)`` read at the peak whose region bin ``k`` is
in (so a partial's whole main lobe is scaled alike): the resampling then moves the partials and brings the
envelope back. ``amount`` in [0, 1] raises that gain to its power, so the output's envelope
is the geometric mix ``moved ** (1 - amount) * kept ** amount``: 0 moves it with the pitch, 1 keeps it in
place.

The envelope is a true envelope (Roebel and Rodet 2005): the cepstrum of the log amplitude kept below
``LIFTER_SECONDS`` of quefrency (finer detail is the partials, not the envelope), raised where the log
amplitude is above it and smoothed again, so it runs over the partials' tops rather than through the gaps
between sparse ones. It is read every ``POINT_HZ`` (each point the loudest bin near it), which is all the
resolution it needs, with valleys deeper than ``VALLEY`` raised to that depth. Beyond the lowest and the
highest point that holds a partial it is held flat: nothing there says what it is, and a lone partial (a sine)
then keeps its level. Frames that run past the signal's start or end are left alone (their spectrum is that of
the edge). Gains are held within +-40 dB.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft

#: The envelope is read every POINT_HZ; a point holds a partial when it is within DEPTH (natural log of
#: amplitude, 30 dB) of the loudest point within REACH_HZ.
POINT_HZ = 200.0
LIFTER_SECONDS = 0.001
TRUE_ENVELOPE_ITERATIONS = 2
REACH_HZ = 1000.0
DEPTH = 1.5 * math.log(10.0)
RANGE = 4.0 * math.log(10.0)
GAIN_LIMIT = math.log(100.0)
#: A point more than VALLEY (60 dB) under the loudest within REACH_HZ is raised to that before smoothing:
#: there, next to a strong partial, it reads the partial's skirt near the level floor, where the partial's
#: mirror image makes it change from frame to frame, and the smoothing would carry that to the gain at the
#: partial and modulate it (a pure 500 Hz tone shifted read -60 to -73 dB THD+N; now what the shift alone
#: leaves). Denser spectra have no valleys that deep.
VALLEY = 3.0 * math.log(10.0)


@numba.njit(cache=True)
def log_levels(powers: np.ndarray, step: int, reach: int, depth: float, range_: float, valley: float,
               levels: np.ndarray, spans: np.ndarray) -> None:
    """``levels[f, j]``: frame ``f``'s largest log amplitude (``powers[f]``: power summed over channels,
    floored 100 dB under its loudest bin) within half a ``step`` of bin ``j * step``, raised to at least
    ``valley`` under the loudest point within ``reach`` points either side; ``spans[f]``: the first and the
    last point that holds a partial: within ``range_`` of the frame's loudest and within ``depth`` of the
    loudest point within ``reach`` points (not the skirt of a partial)."""
    frames, bins = powers.shape
    points = levels.shape[1]
    nearby = np.empty(points)
    # Powers are not negative, so their bits order as they do: maxima taken on the bits vectorise.
    top_bits = np.empty(1, dtype=np.int32)
    top_power = top_bits.view(np.float32)
    for f in range(frames):
        bits = powers[f].view(np.int32)
        top_bits[0] = 0
        for k in range(bins):
            top_bits[0] = max(top_bits[0], bits[k])
        loudest_power = top_power[0]
        floor = max(loudest_power * np.float32(1e-10), np.float32(1e-30))
        level = levels[f]
        for j in range(points):
            top_bits[0] = 0
            for k in range(max(0, j * step - step // 2), min(bins, j * step + (step + 1) // 2)):
                top_bits[0] = max(top_bits[0], bits[k])
            level[j] = 0.5 * math.log(max(floor, top_power[0]))
        for j in range(points):
            top = level[j]
            for i in range(max(0, j - reach), min(points, j + reach + 1)):
                top = max(top, level[i])
            nearby[j] = top
        audible = 0.5 * math.log(max(loudest_power, np.float32(1e-30))) - range_
        spans[f, 0], spans[f, 1] = points, -1
        for j in range(points):
            if level[j] >= audible and level[j] >= nearby[j] - depth:
                spans[f, 0] = min(spans[f, 0], j)
                spans[f, 1] = j
        for j in range(points):
            level[j] = max(level[j], nearby[j] - valley)


@numba.njit(cache=True)
def hold_outside(envelopes: np.ndarray, spans: np.ndarray) -> None:
    """Hold each frame's envelope constant below its first and above its last partial (where nothing
    says what it is: a lone partial has a flat envelope, so its level is kept); flat where none is."""
    for f in range(envelopes.shape[0]):
        env = envelopes[f]
        first, last = spans[f, 0], spans[f, 1]
        if last < first:
            env[:] = 0.0
            continue
        env[:first] = env[first]
        env[last + 1 :] = env[last]


@numba.njit(cache=True)
def apply_envelope(synth: np.ndarray, envelopes: np.ndarray, whole: np.ndarray, owners: np.ndarray, step: int,
                   factor: float, amount: float, limit: float) -> None:
    """Multiply every channel's ``synth[:, f, k]`` by the gain ``exp(amount * (env(j * factor) - env(j)))``
    at ``j = owners[f, k]``, the peak whose region bin ``k`` is in (a partial's whole region is scaled alike:
    a gain that varied across it would reshape the partial, frame by frame, and modulate it), with the log
    envelope ``env`` given every ``step`` bins (``envelopes[f]``) and read by linear interpolation, the
    exponent held within ``+-amount * limit``, in the frames where ``whole[f]`` (a frame that runs past the
    signal's start or end has the spectrum of that edge, not an envelope). The gain is smooth, so it is
    computed at the envelope's points and interpolated between them."""
    channels, frames, bins = synth.shape
    points = envelopes.shape[1]
    last = points - 1
    coarse = np.empty(points, dtype=np.float32)
    gains = np.empty(bins, dtype=np.float32)
    inverse = np.float32(1.0 / step)
    for f in range(frames):
        if not whole[f]:
            continue
        env = envelopes[f]
        for j in range(points):
            there = min(j * factor, float(last))
            i = min(int(there), last - 1)
            frac = there - i
            moved = env[i] * (1.0 - frac) + env[i + 1] * frac
            coarse[j] = math.exp(amount * min(max(moved - env[j], -limit), limit))
        for j in range(last):
            slope = (coarse[j + 1] - coarse[j]) * inverse
            for i in range(step):
                gains[j * step + i] = coarse[j] + slope * np.float32(i)
        gains[last * step :] = coarse[last]
        owner = owners[f]
        for c in range(channels):
            row = synth[c, f]
            for k in range(bins):
                row[k] *= gains[owner[k]]


@numba.njit(cache=True)
def lifter_rows(logs: np.ndarray, forward: np.ndarray, back: np.ndarray) -> np.ndarray:
    """``logs @ forward @ back`` (single-threaded, unlike a BLAS product; each weight row is read once for
    all the rows)."""
    rows, points = logs.shape
    kept = forward.shape[1]
    cepstra = np.zeros((rows, kept))
    out = np.zeros((rows, back.shape[1]))
    for i in range(points):
        weights = forward[i]
        for r in range(rows):
            x = logs[r, i]
            cepstrum = cepstra[r]
            for q in range(kept):
                cepstrum[q] += x * weights[q]
    for q in range(kept):
        weights = back[q]
        for r in range(rows):
            x = cepstra[r, q]
            row = out[r]
            for j in range(row.shape[0]):
                row[j] += x * weights[j]
    return out


class EnvelopeKeeper:
    """Reshapes stretched frames so that resampling them ``factor`` times faster afterwards moves their
    partials but moves their spectral envelope only by ``1 - amount`` (see the module docstring)."""

    def __init__(self, n_fft: int, sample_rate: int, factor: float, amount: float) -> None:
        self.factor = factor
        self.amount = amount
        self.step = max(1, round(POINT_HZ * n_fft / sample_rate))
        self.points = (n_fft // 2) // self.step + 1
        self.size = 2 * (self.points - 1)
        self.lifter = min(max(2, round(LIFTER_SECONDS * sample_rate)), self.size // 2 - 1)
        self.reach = max(1, round(REACH_HZ / POINT_HZ))
        # The liftering is linear and keeps ``lifter`` cepstral terms (all but the first mirrored): their
        # transforms are taken once, on unit vectors, and a frame then takes two small products, three times
        # faster than FFTs of this length (2 (points - 1) is seldom a fast one). Below about 800 Hz of
        # sample rate none is kept.
        self._forward = np.zeros((self.points, max(self.lifter, 0)))
        self._back = np.zeros((max(self.lifter, 0), self.points))
        if self.lifter > 0:
            self._forward[:] = scipy.fft.irfft(np.eye(self.points), n=self.size, axis=1, workers=1)[:, : self.lifter]
            kept = np.zeros((self.lifter, self.size))
            terms = np.arange(self.lifter)
            kept[terms, terms] = kept[terms, -terms] = 1.0
            self._back[:] = scipy.fft.rfft(kept, axis=1, workers=1).real

    def _smooth(self, logs: np.ndarray) -> np.ndarray:
        return lifter_rows(logs, self._forward, self._back)

    def apply(self, powers: np.ndarray, synth: np.ndarray, whole: np.ndarray, owners: np.ndarray) -> None:
        """Reshape ``synth`` (channels, frames, bins) in place by the envelopes of the analysis spectra
        whose power (summed over channels) is ``powers`` (frames, bins), in the frames where ``whole``
        (those analysed wholly inside the signal), each bin by the gain at its peak's bin ``owners``."""
        levels = np.empty((powers.shape[0], self.points), dtype=np.float64)
        spans = np.empty((powers.shape[0], 2), dtype=np.int64)
        log_levels(powers, self.step, self.reach, DEPTH, RANGE, VALLEY, levels, spans)
        envelopes = self._smooth(levels)
        for _ in range(TRUE_ENVELOPE_ITERATIONS):
            envelopes = self._smooth(np.maximum(levels, envelopes))
        hold_outside(envelopes, spans)
        apply_envelope(synth, envelopes, whole, owners, self.step, self.factor, self.amount, GAIN_LIMIT)
