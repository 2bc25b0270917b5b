"""Peaks of audio as it streams past an encoder: sample peak, true peak, and how many samples clip.

The encoders clip every sample beyond [-1, 1]; a render that does so should say how much, as SoX does.
:class:`PeakMeter` takes blocks in order and keeps, per channel, the 11 samples the BS.1770-4 Annex 2
interpolator needs from the previous block, so the true peak of a stream equals
:func:`mixdown.engine.measure_loudness`'s for the whole signal (silence before the first and after the
last sample, the interpolator's ringing into it included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mixdown.engine.loudness import TRUE_PEAK_PHASES
from mixdown.engine.loudness_kernels import TRUE_PEAK_TAPS, interpolated_peak

_HISTORY = TRUE_PEAK_TAPS - 1


def _db(amplitude: float) -> float | None:
    return 20 * math.log10(amplitude) if amplitude > 0 else None


@dataclass(frozen=True)
class PeakReport:
    """Sample peak (dBFS) and true peak (dBTP), ``None`` for silence, and the count of clipped samples."""

    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None
    clipped_samples: int


class PeakMeter:
    def __init__(self, channels: int) -> None:
        self._history = np.zeros((channels, _HISTORY), dtype=np.float32)
        self._sample_peak = 0.0
        self._true_peak = 0.0
        self.clipped = 0

    def add(self, block: np.ndarray) -> None:
        """Measure a float32 ``(channels, n)`` block, before any clipping."""
        frames = block.shape[1]
        if not frames:
            return
        magnitude = np.abs(block)
        self._sample_peak = max(self._sample_peak, float(magnitude.max()))
        self.clipped += int(np.count_nonzero(magnitude > 1.0))
        joined = np.concatenate([self._history, block], axis=1)
        for channel in joined:
            self._true_peak = max(self._true_peak, float(
                interpolated_peak(channel, _HISTORY, _HISTORY + frames, TRUE_PEAK_PHASES)))
        self._history = np.ascontiguousarray(joined[:, -_HISTORY:])

    def report(self) -> PeakReport:
        """The figures so far, the ringing after the last sample included."""
        true_peak = self._true_peak
        for channel in self._history:
            true_peak = max(true_peak, float(interpolated_peak(channel, _HISTORY, 2 * _HISTORY, TRUE_PEAK_PHASES)))
        true_peak = max(true_peak, self._sample_peak)
        return PeakReport(_db(self._sample_peak), _db(true_peak), self.clipped)
