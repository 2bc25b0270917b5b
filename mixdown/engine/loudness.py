"""Loudness and peak metering per ITU-R BS.1770-4 and EBU R 128 (Tech 3341, Tech 3342).

:func:`measure_loudness` reads every figure in one pass over the samples
(:func:`mixdown.engine.loudness_kernels.analyse_span`; :class:`LoudnessMeter` makes that pass over a
signal given in blocks): the K-weighted power of each 100 ms sub-block of each
channel, the sample peak and the true peak. Everything else (momentary, short-term, integrated, loudness
range) is arithmetic on the few sub-block powers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from mixdown.engine import loudness_kernels as kernels
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.errors import InvalidInputError

#: Lowest sample rate the meter accepts: below it the K-weighting shelf (1.68 kHz) has no meaning.
MIN_SAMPLE_RATE = 8000

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_LOW_PERCENTILE = 0.10
LRA_HIGH_PERCENTILE = 0.95

#: Sub-blocks (100 ms) per momentary window / gating block and per short-term window.
MOMENTARY_SUBBLOCKS = 4
SHORT_TERM_SUBBLOCKS = 30

#: BS.1770-4 Annex 2: the four phases of the order-48 interpolating FIR, as printed in the standard.
TRUE_PEAK_PHASES = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
         -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
         0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
         -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
         0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000,
         -0.2003173828125, 0.7797851562500, 0.4650878906250, -0.1665039062500,
         0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750,
         -0.1022949218750, 0.9721679687500, 0.1373291015625, -0.0594482421875,
         0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
    ],
    dtype=np.float32,
)  # fmt: skip
TRUE_PEAK_PHASES.setflags(write=False)

#: Largest L1 norm of a phase: no interpolated value exceeds it times the largest input it reads.
TRUE_PEAK_GAIN_BOUND = float(np.abs(TRUE_PEAK_PHASES.astype(np.float64)).sum(axis=1).max())

_LOUDNESS_OFFSET = -0.691
_ABSOLUTE_GATE_ENERGY = 10.0 ** ((ABSOLUTE_GATE_LUFS - _LOUDNESS_OFFSET) / 10.0)

# Analog prototypes of the two K-weighting stages, fitted to BS.1770's 48 kHz coefficients (the same
# constants libebur128 uses): high shelf centre, gain, Q and shelf-slope exponent; high-pass corner and Q.
_SHELF_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_SLOPE = 0.4996667741545416
_HIGHPASS_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773


@dataclass(frozen=True)
class LoudnessReport:
    """Every figure :func:`measure_loudness` reads. ``-inf`` marks a figure that does not exist (silence,
    or audio shorter than the figure's window)."""

    integrated_lufs: float
    momentary_max_lufs: float
    short_term_max_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    sample_rate: int
    channels: int
    frames: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-ready dict; ``-inf`` becomes ``None``."""
        return {
            key: None if isinstance(value, float) and math.isinf(value) else value
            for key, value in asdict(self).items()
        }


@lru_cache(maxsize=32)
def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting at ``sample_rate`` as two second-order sections (scipy ``sos`` layout).

    The stages are the bilinear transforms of the analog high shelf and RLB high-pass whose 48 kHz images
    are the coefficients printed in BS.1770, so every rate gets the same analog response (as libebur128
    does) rather than the 48 kHz digital filter.

    Parameters
    ----------
    sample_rate : int
        Hz, at least :data:`MIN_SAMPLE_RATE`.

    Returns
    -------
    sos : np.ndarray, float64 (2, 6), read-only
        ``[b0, b1, b2, 1, a1, a2]`` for the shelf, then for the high-pass.
    """
    rate = _check_meter_rate(sample_rate)
    k = math.tan(math.pi * _SHELF_HZ / rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_SLOPE
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = math.tan(math.pi * _HIGHPASS_HZ / rate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    sos = np.array([shelf, highpass], dtype=np.float64)
    sos.setflags(write=False)
    return sos


@lru_cache(maxsize=32)
def _kweight_polynomials(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Both K-weighting stages as one 4th-order ``(b, a)``: one recursion per sample instead of two."""
    sos = k_weighting_sos(sample_rate)
    b = np.convolve(sos[0, :3], sos[1, :3])
    a = np.convolve(sos[0, 3:], sos[1, 3:])
    b.setflags(write=False)
    a.setflags(write=False)
    return b, a


def subblock_bounds(sample_rate: int, frames: int) -> np.ndarray:
    """Boundaries of the complete 100 ms sub-blocks: sub-block ``k`` is ``[round(k*sr/10), round((k+1)*sr/10))``.

    Rounding each boundary (half up) rather than the block length keeps odd rates such as 44 101 Hz on the
    true 100 ms grid.
    """
    count = (10 * frames + 4) // sample_rate
    k = np.arange(count + 1, dtype=np.int64)
    return (k * sample_rate + 5) // 10


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights: 1.41 for the surrounds of 5.0 (L R C Ls Rs) and 5.1 (L R C LFE Ls Rs),
    0 for the LFE, 1.0 for every channel of any other layout."""
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


def measure_loudness(audio: np.ndarray, sample_rate: int) -> LoudnessReport:
    """Integrated, momentary-max and short-term-max loudness, loudness range, true peak and sample peak.

    Follows ITU-R BS.1770-4 and EBU Tech 3341 / 3342:

    - K-weighting in float64 at any rate (:func:`k_weighting_sos`).
    - Momentary (400 ms) and short-term (3 s) loudness on a 100 ms hop; only complete windows count, so a
      figure whose window does not fit in the audio is ``-inf``.
    - Integrated: 400 ms gating blocks (75 % overlap), absolute gate -70 LUFS, relative gate -10 LU;
      blocks strictly above a gate pass, as BS.1770 writes it.
    - Loudness range (Tech 3342): every short-term value at 10 Hz, absolute gate -70 LUFS, relative gate
      20 LU under the power mean of the absolutely gated values, then the 95th minus the 10th percentile.
      The percentiles are the sorted values at index ``round((n - 1) * p)``, as libebur128 takes them.
      libebur128 1.2.6 (pyebur128) only keeps one short-term value per second for the range; this meter
      keeps all ten, as Tech 3342 asks, so on programme that changes level within a second or two the two
      can differ by a few tenths of an LU. Fewer than one complete short-term window, or nothing left
      after gating, gives ``-inf``.
    - True peak: the order-48, 4-phase interpolator of BS.1770-4 Annex 2 applied as printed at every sample
      rate (it is defined on normalised frequency; above 48 kHz it oversamples more than the Annex
      requires, where libebur128 switches to 2x at 96 kHz and to none at 192 kHz). The signal is taken to
      be silent before and after the audio, so the interpolator's ringing into that silence counts. Like
      libebur128, the true peak is never reported below the sample peak (the interpolator's phases sit
      between the samples).

    Parameters
    ----------
    audio : np.ndarray
        ``(channels, frames)`` or mono ``(frames,)``; converted to float32 if needed.
    sample_rate : int
        Hz, at least :data:`MIN_SAMPLE_RATE`.

    Returns
    -------
    LoudnessReport

    Raises
    ------
    InvalidInputError
        For a bad shape, non-finite samples (field ``audio``) or sample rate (field ``sample_rate``).

    Examples
    --------
    >>> import numpy as np
    >>> rate = 48_000
    >>> tone = (0.5 * np.sin(2 * np.pi * 997 * np.arange(10 * rate) / rate)).astype(np.float32)
    >>> report = measure_loudness(np.stack([tone, tone]), rate)
    >>> round(report.integrated_lufs, 1), round(report.sample_peak_dbfs, 2), report.to_dict()["frames"]
    (-6.0, -6.02, 480000)
    """
    samples = as_audio(audio, allow_non_finite=True)
    meter = LoudnessMeter(sample_rate, samples.shape[0])
    meter.add(samples)
    return meter.report()


class LoudnessMeter:
    """:func:`measure_loudness` over a signal given in blocks: the memory of one block, whatever the length.

    Feed consecutive blocks with :meth:`add`, then read :meth:`report`. The figures are exactly (bit for
    bit) those of :func:`measure_loudness` over the whole signal, whatever the block sizes: the meter keeps
    the K-weighting and peak-scan state between blocks and the few frames of the previous block the
    filters still read, and K-weights only complete 100 ms sub-blocks. What it keeps grows by one float
    per channel per 100 ms (under 6 MB for ten hours of stereo).

    Parameters
    ----------
    sample_rate : int
        Hz, at least :data:`MIN_SAMPLE_RATE`.
    channels : int
        Channels of every block.

    Examples
    --------
    >>> import numpy as np
    >>> rate = 48_000
    >>> tone = (0.5 * np.sin(2 * np.pi * 997 * np.arange(5 * rate) / rate)).astype(np.float32)
    >>> meter = LoudnessMeter(rate, channels=1)
    >>> for start in range(0, tone.size, 10_000):
    ...     meter.add(tone[start:start + 10_000])
    >>> meter.report() == measure_loudness(tone, rate)
    True
    >>> round(meter.report().integrated_lufs, 1)
    -9.0
    """

    #: Frames of history kept ahead of the peak scan (the interpolator reads 11 before each output).
    _SCAN_HISTORY = kernels.TRUE_PEAK_BLOCK
    #: Frames of history kept ahead of the K-weighting (its feed-forward part reads 4 before each sample).
    _FILTER_HISTORY = 4

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = _check_meter_rate(sample_rate)
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
            raise InvalidInputError(f"expected a positive channel count, got {channels!r}", field="channels")
        self.channels = int(channels)
        self.frames = 0
        self._b, self._a = _kweight_polynomials(self.sample_rate)
        self._powers: list[np.ndarray] = []
        self._peaks = np.zeros(2, dtype=np.float32)
        self._scratch = np.empty((2, kernels.FILTER_CHUNK), dtype=np.float64)
        self._state = np.zeros((self.channels, 4), dtype=np.float64)
        self._previous = np.zeros((self.channels, 2), dtype=np.int32)
        self._bits = np.empty(kernels.FILTER_CHUNK // kernels.TRUE_PEAK_BLOCK + 1, dtype=np.int32)
        self._tail = np.empty((self.channels, 0), dtype=np.float32)
        self._base = 0
        self._subblocks = 0
        self._scanned = 0
        self._report: LoudnessReport | None = None

    def add(self, block: np.ndarray) -> None:
        """Meter the next ``(channels, n)`` block (or mono ``(n,)``) of the signal."""
        if self._report is not None:
            raise InvalidInputError("the meter has already reported; start a new one", field="audio")
        samples = as_audio(block, allow_non_finite=True)
        if samples.shape[0] != self.channels:
            raise InvalidInputError(f"block has {samples.shape[0]} channels, the meter {self.channels}",
                                    field="audio")
        buffer = samples if not self._tail.shape[1] else np.concatenate([self._tail, samples], axis=1)
        end = self.frames + samples.shape[1]
        complete = (10 * end + 4) // self.sample_rate
        k = np.arange(self._subblocks, complete + 1, dtype=np.int64)
        bounds = (k * self.sample_rate + 5) // 10
        power = np.zeros((self.channels, k.shape[0] - 1), dtype=np.float64)
        grid = end - end % kernels.TRUE_PEAK_BLOCK
        scanned = kernels.analyse_span(
            buffer, bounds - self._base, self._b, self._a, TRUE_PEAK_PHASES, TRUE_PEAK_GAIN_BOUND, power,
            self._peaks, self._scratch, self._state, self._previous, self._bits, self._scanned - self._base,
            grid - self._base,
        )
        self._scanned = self._base + scanned
        self._powers.append(power)
        self._subblocks = complete
        keep = max(0, min(self._scanned - self._SCAN_HISTORY, int(bounds[-1]) - self._FILTER_HISTORY))
        keep -= keep % kernels.TRUE_PEAK_BLOCK
        self._tail = np.ascontiguousarray(buffer[:, keep - self._base :])
        self._base = keep
        self.frames = end

    def report(self) -> LoudnessReport:
        """Every figure for the signal added so far; the meter then takes no more blocks.

        Raises
        ------
        InvalidInputError
            If the signal holds NaN or infinite samples (field ``audio``).
        """
        if self._report is not None:
            return self._report
        tail = self._tail
        for c in range(self.channels):
            kernels.scan_peaks(tail[c], self._scanned - self._base, tail.shape[1] + kernels.TRUE_PEAK_TAPS - 1,
                               TRUE_PEAK_PHASES, TRUE_PEAK_GAIN_BOUND, self._peaks, self._previous[c], self._bits)
        if int(self._previous[:, 1].max()) >= kernels.NON_FINITE_BITS:
            raise InvalidInputError("audio holds NaN or infinite samples", field="audio")
        power = np.concatenate(self._powers, axis=1) if self._powers else np.zeros((self.channels, 0))
        self._powers = [power]
        weighted = channel_weights(self.channels) @ power
        lengths = np.diff(subblock_bounds(self.sample_rate, self.frames))
        momentary = _window_energies(weighted, lengths, MOMENTARY_SUBBLOCKS)
        short_term = _window_energies(weighted, lengths, SHORT_TERM_SUBBLOCKS)
        self._report = LoudnessReport(
            integrated_lufs=integrated_loudness(momentary),
            momentary_max_lufs=_energy_to_lufs(momentary.max(initial=0.0)),
            short_term_max_lufs=_energy_to_lufs(short_term.max(initial=0.0)),
            loudness_range_lu=loudness_range(short_term),
            true_peak_dbtp=_amplitude_to_db(float(self._peaks[1])),
            sample_peak_dbfs=_amplitude_to_db(float(self._peaks[0])),
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=self.frames,
        )
        return self._report


def integrated_loudness(block_energies: np.ndarray) -> float:
    """BS.1770 gated loudness of channel-weighted mean-square gating-block energies, in LUFS."""
    passed = block_energies[block_energies > _ABSOLUTE_GATE_ENERGY]
    if passed.size == 0:
        return -math.inf
    relative = float(passed.mean()) * 10.0 ** (RELATIVE_GATE_LU / 10.0)
    passed = passed[passed > relative]
    return _energy_to_lufs(float(passed.mean()))


def loudness_range(short_term_energies: np.ndarray) -> float:
    """EBU Tech 3342 loudness range of channel-weighted mean-square short-term energies, in LU.

    See :func:`measure_loudness` for the gates and the percentile rule; ``-inf`` when nothing passes.
    """
    passed = short_term_energies[short_term_energies > _ABSOLUTE_GATE_ENERGY]
    if passed.size == 0:
        return -math.inf
    relative = float(passed.mean()) * 10.0 ** (LRA_RELATIVE_GATE_LU / 10.0)
    passed = np.sort(passed[passed >= relative])
    last = passed.size - 1
    low = passed[int(last * LRA_LOW_PERCENTILE + 0.5)]
    high = passed[int(last * LRA_HIGH_PERCENTILE + 0.5)]
    return 10.0 * math.log10(high / low)


def _window_energies(weighted: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """Mean-square energy of every complete window of ``width`` sub-blocks, hop one sub-block."""
    if weighted.shape[0] < width:
        return np.empty(0)
    sums = np.lib.stride_tricks.sliding_window_view(weighted, width).sum(axis=1)
    frames = np.lib.stride_tricks.sliding_window_view(lengths, width).sum(axis=1)
    return sums / frames


def _energy_to_lufs(energy: float) -> float:
    return _LOUDNESS_OFFSET + 10.0 * math.log10(energy) if energy > 0.0 else -math.inf


def _amplitude_to_db(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0.0 else -math.inf


def _check_meter_rate(sample_rate: int | float) -> int:
    rate = check_sample_rate(sample_rate)
    if rate < MIN_SAMPLE_RATE:
        raise InvalidInputError(
            f"loudness metering needs at least {MIN_SAMPLE_RATE} Hz, got {rate}", field="sample_rate"
        )
    return rate
