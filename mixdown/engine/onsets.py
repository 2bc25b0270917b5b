"""Onset envelopes for tempo detection: where sounds start, frame by frame, from one spectral analysis.

The audio (mono, resampled to :data:`ANALYSIS_RATE`) is cut into frames :data:`HOP` samples apart; each
frame's power spectrum is summed into mel bands. Two envelopes come from the bands:

``flux``
    The log-mel spectral flux: the mean rise in dB over all bands (a quiet hi-hat onset counts as much as a
    kick; the right measure of *when* things start), counted above each band's steady level so that a
    noise floor's flicker is no onset.
``backbeat``
    The rise of the amplitude in the snare's band, 1.5-6 kHz, linear: loud broadband hits (snares, claps)
    dominate it, hi-hats (whose energy is higher up) and tonal parts (lower down) hardly count. It says which
    beats carry the backbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import soxr

from mixdown.engine.tempo_kernels import flux

ANALYSIS_RATE = 22_050
N_FFT = 1024
HOP = 128
N_MELS = 64
FPS = ANALYSIS_RATE / HOP
#: Frames by which the envelope is delayed: the log flux of an attack peaks about two hops before the attack
#: itself (the window's leading edge meets it first), so frame ``i`` is the one centred at ``(i - 2) * HOP``.
SHIFT = 2
#: Flux floor: bands more than this far below the loudest frame count as silent.
DYNAMIC_RANGE_DB = 80.0
#: A band's level counts as its floor up to this far above its median.
STEADY_DB = 6.0
#: The snare's band, Hz.
BACKBEAT_BAND = (1_500.0, 6_000.0)


@lru_cache(maxsize=4)
def _mel_filters(rate: int, n_fft: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """Triangular filters evenly spaced in mel (Slaney's scale), area-normalised: ``(n_mels, n_fft // 2 + 1)``,
    and the centre frequency of each."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        above = 15.0 + 27.0 * np.log(np.maximum(hz, 1e-9) / 1000.0) / np.log(6.4)
        return np.where(hz < 1000.0, 3.0 * hz / 200.0, above)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0))

    edges = to_hz(np.linspace(0.0, float(to_mel(rate / 2.0)), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower = (bins[np.newaxis, :] - edges[:-2, np.newaxis]) / (edges[1:-1] - edges[:-2])[:, np.newaxis]
    upper = (edges[2:, np.newaxis] - bins[np.newaxis, :]) / (edges[2:] - edges[1:-1])[:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]
    return np.ascontiguousarray(weights.T.astype(np.float32)), edges[1:-1]


def _mel_power(padded: np.ndarray, frames: int, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """``out[f]``: mel band power of the frame of ``padded`` starting at ``f * HOP``, spectra taken in blocks;
    ``progress`` is told the frames done and their total after each block."""
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    filters, _ = _mel_filters(ANALYSIS_RATE, N_FFT, N_MELS)
    view = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    out = np.empty((frames, N_MELS), dtype=np.float32)
    block = 2048
    for start in range(0, frames, block):
        stop = min(frames, start + block)
        spectrum = scipy.fft.rfft(view[start:stop] * window, axis=1).view(np.float32)
        np.square(spectrum, out=spectrum)
        np.matmul(spectrum[:, 0::2] + spectrum[:, 1::2], filters, out=out[start:stop])
        if progress is not None:
            progress(stop, frames)
    return out


def _to_db(power: np.ndarray) -> np.ndarray:
    out = np.maximum(power, 1e-20)
    np.log10(out, out=out)
    out *= 10.0
    return out


@dataclass(frozen=True)
class Envelopes:
    """Onset envelopes of one signal, frame ``i`` at ``i / FPS`` seconds from its first sample.

    ``plain`` has silence before the first sample (audio that starts with an attack has an onset there);
    ``looped`` has the audio's own end there, as when a loop repeats (a loop's first beat is measured against
    its last bar, and a file cut mid-note gets no onset at its start). They differ in the first few frames.
    ``backbeat`` is the snare band's rise (see the module), on the plain signal. ``frames_per_loop`` is the
    audio's length in frames, fractional.
    """

    plain: np.ndarray
    looped: np.ndarray
    backbeat: np.ndarray
    frames_per_loop: float

    def tiled(self, frames: float) -> np.ndarray:
        """The looped envelope repeated, as for the audio repeated to at least ``frames`` frames."""
        n = self.looped.shape[0]
        count = max(n, int(np.ceil(frames)))
        positions = np.arange(count) % self.frames_per_loop
        return np.interp(positions, np.arange(n + 1), np.append(self.looped, self.looped[0]))


def onset_envelopes(mono: np.ndarray, sample_rate: int, progress: Callable[[int, int], None] | None = None
                    ) -> Envelopes:
    """The envelopes of ``mono``, aligned so that an onset at ``t`` seconds peaks near frame ``t * FPS``.

    Frames are centred and the audio is followed by silence. ``progress`` is called with the spectral
    frames analysed so far and their total (the analysis is most of the time on a long signal).
    """
    return onset_envelopes_ending(mono, sample_rate, (mono.shape[-1],), progress)[0]


def onset_envelopes_ending(mono: np.ndarray, sample_rate: int, ends: Sequence[int],
                           progress: Callable[[int, int], None] | None = None) -> list[Envelopes]:
    """The envelopes of ``mono[:end]`` for each of ``ends`` (samples), from one spectral analysis of ``mono``.

    Each looped envelope re-analyses only the few frames that see the audio's start after its end.
    ``progress`` is as for :func:`onset_envelopes`.
    """
    y = np.asarray(mono, dtype=np.float32)
    if sample_rate != ANALYSIS_RATE:
        y = soxr.resample(y, sample_rate, ANALYSIS_RATE, quality="MQ").astype(np.float32, copy=False)
    frames = 1 + y.shape[0] // HOP
    # One frame more than the envelope has, before its first: the first onset needs a frame to rise from.
    lead = N_FFT // 2 + (SHIFT + 1) * HOP
    padded = np.zeros(lead + y.shape[0] + N_FFT // 2, dtype=np.float32)
    padded[lead : lead + y.shape[0]] = y
    power = _mel_power(padded, frames + 1, progress)
    log_mel = _to_db(power.copy())
    # A band's steady level (a noise floor, a held note) is no onset: only rises above it count.
    floor = np.maximum(float(log_mel.max()) - DYNAMIC_RANGE_DB, np.median(log_mel, axis=0) + STEADY_DB)
    plain = np.empty(frames, dtype=np.float64)
    flux(log_mel, floor, plain)
    backbeat = _smooth(_band_rise(power))
    smooth_plain = _smooth(plain)
    out = []
    for end in ends:
        length = min(y.shape[0], round(end * ANALYSIS_RATE / sample_rate))
        count = 1 + length // HOP
        # The frames that see the lead-in again, now the audio's end.
        head = min(count + 1, lead // HOP + 2)
        wrap = min(lead, length)
        padded[lead - wrap : lead] = y[length - wrap : length]
        looped_mel = _to_db(_mel_power(padded[: (head - 1) * HOP + N_FFT], head))
        looped = plain[:count].copy()
        flux(looped_mel, floor, looped[: head - 1])
        out.append(Envelopes(smooth_plain[:count], _smooth(looped), backbeat[:count], length / HOP))
    return out


def _band_rise(power: np.ndarray) -> np.ndarray:
    """The rise, frame to frame, of the amplitude in :data:`BACKBEAT_BAND`, as a fraction of the largest rise
    of the whole signal's amplitude."""
    _, centres = _mel_filters(ANALYSIS_RATE, N_FFT, N_MELS)
    bands = (centres >= BACKBEAT_BAND[0]) & (centres <= BACKBEAT_BAND[1])
    rise = np.maximum(0.0, np.diff(np.sqrt(power[:, bands].sum(axis=1, dtype=np.float64))))
    whole = np.maximum(0.0, np.diff(np.sqrt(power.sum(axis=1, dtype=np.float64)))).max()
    return rise / whole if whole > 0.0 else rise


def _smooth(envelope: np.ndarray) -> np.ndarray:
    """A 5-tap binomial smoothing: onsets a frame apart still line up, and the comb's peak is not jagged."""
    kernel = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    return np.convolve(envelope, kernel, mode="same")
