"""Noise reduction by spectral gating, as Audacity's "Noise Reduction" and SoX's ``noiseprof``/``noisered``.

:func:`learn_noise` measures a stretch of noise alone: per frequency bin of a short-time Fourier
transform, the mean and the spread (standard deviation) of its level in dB. :func:`denoise` then
compares every bin of every frame of the audio with that profile: a bin louder than
``mean + sensitivity * spread`` holds signal and passes; the others are noise and are attenuated by
``reduction_db``. The decision is taken on power averaged over a 3-frame by 3-bin neighbourhood (in the
profile as in the audio, so the spread describes exactly what is compared), which keeps isolated noise
peaks from opening the gate. The pass/attenuate mask is then widened and smoothed over
``freq_smoothing_hz`` and ``time_smoothing_ms`` (each side), so the gate opens before an onset and
closes smoothly after it, and the edges of a tone's spectral peak keep their level.

The transform is a periodic Hann window of about 46 ms (2048 frames at 44.1 kHz) with 75 % overlap,
resynthesised by weighted overlap-add: with no attenuation the output equals the input to float32
rounding. The output has exactly the input's length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

from mixdown.engine import denoise_kernels
from mixdown.engine.audio import as_audio, check_sample_rate, db_to_gain
from mixdown.errors import InvalidInputError

#: Frames and bins of the neighbourhood the pass/attenuate decision averages power over.
DECISION_FRAMES = 3
DECISION_BINS = 3
#: Passing cells must line up at least this many in a row (a tone or a held note runs in time, a click or a
#: consonant across frequency; a noise peak that crossed the threshold by chance makes a small blob).
MIN_RUN = 5
#: The fewest STFT frames a noise profile is learnt from.
MIN_PROFILE_FRAMES = 8
OVERLAP = 4
#: Analysis frames a chunk of :func:`denoise` holds (47 s at 44.1 kHz; about 40 MB of spectra).
CHUNK_FRAMES = 4096
_TINY = 1e-20


@dataclass(frozen=True)
class NoiseProfile:
    """What :func:`learn_noise` measured: per bin of a ``fft_size``-point transform at ``sample_rate``,
    the mean and spread in dB of the neighbourhood-averaged power, and how many frames it saw."""

    sample_rate: int
    fft_size: int
    mean_db: np.ndarray
    spread_db: np.ndarray
    frames: int


def fft_size(sample_rate: int) -> int:
    """The power of two nearest 46 ms at ``sample_rate`` (2048 at 44.1 and 48 kHz), at least 256."""
    return max(256, 2 ** round(math.log2(sample_rate * 0.0464)))


def _window(size: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)).astype(np.float32)


def _framed(channel: np.ndarray, size: int) -> np.ndarray:
    """The analysis frames of ``channel`` (a read-only view): the channel padded by ``size`` zeros at each
    end, cut every ``size // 4`` frames."""
    hop = size // OVERLAP
    count = (channel.shape[0] + size) // hop + 1
    padded = np.zeros((count + OVERLAP - 1) * hop, dtype=np.float32)
    padded[size:size + channel.shape[0]] = channel
    return np.lib.stride_tricks.sliding_window_view(padded, size)[::hop][:count]


def _stft(frames: np.ndarray, size: int) -> np.ndarray:
    """``(frames, size // 2 + 1)`` complex64 spectra of Hann-windowed ``frames``."""
    return sp_fft.rfft(frames * _window(size), axis=1)


def _overlap_add(blocks: np.ndarray, spectra: np.ndarray, first: int, size: int) -> None:
    """Add the resynthesised frames ``first, first + 1, ...`` of ``spectra`` into ``blocks``, the output
    cut in hops (``(frames + 3, size // 4)``), weighted so that the frames of :func:`_framed` sum back to
    the channel."""
    hop = size // OVERLAP
    pieces = sp_fft.irfft(spectra, n=size, axis=1).astype(np.float32) * (_window(size) / np.float32(1.5))
    count = pieces.shape[0]
    for quarter in range(OVERLAP):  # 1.5: the sum of the squared Hann windows at 75 % overlap
        blocks[first + quarter:first + quarter + count] += pieces[:, quarter * hop:(quarter + 1) * hop]


def _averaged_power(spectra: np.ndarray) -> np.ndarray:
    """Power averaged over the decision neighbourhood."""
    power = spectra.real * spectra.real + spectra.imag * spectra.imag
    return denoise_kernels.box_mean(power, DECISION_FRAMES // 2, DECISION_BINS // 2)


def learn_noise(audio: np.ndarray, sample_rate: int) -> NoiseProfile:
    """The noise profile of ``audio`` (noise alone, every channel pooled)."""
    audio = as_audio(audio)
    sample_rate = check_sample_rate(sample_rate)
    size = fft_size(sample_rate)
    hop = size // OVERLAP
    if audio.shape[1] < size + (MIN_PROFILE_FRAMES - 1) * hop:
        needed = size + (MIN_PROFILE_FRAMES - 1) * hop
        raise InvalidInputError(
            f"a noise profile needs at least {needed} frames ({needed / sample_rate:.3f} s) of noise; got "
            f"{audio.shape[1]}", field="selection")
    levels = []
    for channel in audio:
        # only frames wholly inside the noise: the zero padding at the ends is not noise
        averaged = _averaged_power(_stft(_framed(channel, size), size))[OVERLAP:-OVERLAP]
        levels.append(10.0 * np.log10(averaged + np.float32(_TINY)))
    stacked = np.concatenate(levels, axis=0).astype(np.float64)
    return NoiseProfile(sample_rate, size, stacked.mean(axis=0).astype(np.float32),
                        stacked.std(axis=0).astype(np.float32), stacked.shape[0])


def _radius(value: float, unit: float) -> int:
    return round(value / unit)


def denoise(audio: np.ndarray, sample_rate: int, profile: NoiseProfile, *, reduction_db: float = 12.0,
            sensitivity: float = 2.5, freq_smoothing_hz: float = 50.0,
            time_smoothing_ms: float = 40.0, chunk_frames: int = CHUNK_FRAMES) -> np.ndarray:
    """``audio`` with what :func:`learn_noise` profiled attenuated by ``reduction_db`` (a new array).

    The spectrogram is worked on ``chunk_frames`` analysis frames at a time (with the neighbours each
    frame's gate depends on), so the memory it takes does not grow with the audio's length; the result
    does not depend on the chunk size.

    ``sensitivity`` is in spreads of the profile: lower passes less noise and risks gating quiet signal.
    ``freq_smoothing_hz`` and ``time_smoothing_ms`` are how far, each side, a bin that holds signal keeps
    its neighbours open (and the width of the ramp the gain then takes to the attenuated level).
    """
    audio = as_audio(audio)
    sample_rate = check_sample_rate(sample_rate)
    if profile.sample_rate != sample_rate:
        raise InvalidInputError(f"the noise profile was learnt at {profile.sample_rate} Hz, the audio is at "
                                f"{sample_rate} Hz; learn it again", field="profile")
    checks = (("reduction_db", reduction_db, 0.0, 100.0), ("sensitivity", sensitivity, 0.0, 24.0),
              ("freq_smoothing_hz", freq_smoothing_hz, 0.0, sample_rate / 4),
              ("time_smoothing_ms", time_smoothing_ms, 0.0, 1000.0))
    for name, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise InvalidInputError(f"must be a number from {low:g} to {high:g}, got {value!r}", field=name)
    if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise InvalidInputError(f"must be a whole number of frames >= 1, got {chunk_frames!r}", field="chunk_frames")
    size = profile.fft_size
    floor = np.float32(db_to_gain(-reduction_db))
    level_db = profile.mean_db.astype(np.float64) + sensitivity * profile.spread_db.astype(np.float64)
    threshold = (10.0 ** (level_db / 10.0) - _TINY).astype(np.float32)
    time_radius = _radius(time_smoothing_ms / 1000.0, size / OVERLAP / sample_rate)
    bin_radius = _radius(freq_smoothing_hz, sample_rate / size)
    # every frame's gate depends on the frames this far on each side (decision, runs, widening, smoothing)
    context = DECISION_FRAMES // 2 + MIN_RUN + 2 * time_radius
    hop = size // OVERLAP
    out = np.empty_like(audio)
    for index, channel in enumerate(audio):
        frames = _framed(channel, size)
        count = frames.shape[0]
        blocks = np.zeros((count + OVERLAP - 1, hop), dtype=np.float32)
        for first in range(0, count, chunk_frames):
            stop = min(count, first + chunk_frames)
            low, high = max(0, first - context), min(count, stop + context)
            spectra = _stft(frames[low:high], size)
            openness = denoise_kernels.solid_mask(_averaged_power(spectra), threshold, MIN_RUN)
            if time_radius or bin_radius:
                widened = denoise_kernels.box_max(openness, time_radius, bin_radius)
                openness = denoise_kernels.box_mean(widened, time_radius, bin_radius)
            denoise_kernels.apply_gate(spectra, openness, floor)
            _overlap_add(blocks, spectra[first - low:stop - low], first, size)
        out[index] = blocks.reshape(-1)[size:size + channel.shape[0]]
    return out
