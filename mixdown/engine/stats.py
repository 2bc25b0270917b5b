"""The editor's analysis panel: level, loudness, DC, clipping and silence figures of a piece of audio,
as SoX's ``stats`` effect and TwistedWave's "Analyze" show them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from mixdown.engine.audio import as_audio, check_sample_rate, gain_to_db
from mixdown.engine.loudness import MIN_SAMPLE_RATE, measure_loudness

#: Silence is a 10 ms block whose RMS over every channel is under this level.
SILENCE_DBFS = -60.0
SILENCE_BLOCK_S = 0.010
#: A sample at or beyond full scale counts as clipped (an integer export would clip it, or already did).
CLIP_LEVEL = 1.0


@dataclass(frozen=True)
class Analysis:
    """The figures, levels in dB (``None`` for silence or a figure the audio is too short for)."""

    frames: int
    channels: int
    sample_rate: int
    peak_dbfs: float | None
    true_peak_dbtp: float | None
    rms_dbfs: float | None
    dc_offset: list[float]
    integrated_lufs: float | None
    loudness_range_lu: float | None
    clipped_samples: int
    silence_ratio: float

    def to_dict(self) -> dict:
        return asdict(self)


def _db(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)


def analyze(audio: np.ndarray, sample_rate: int) -> Analysis:
    """The figures of ``audio``: sample and true peak, RMS over all samples, each channel's mean, BS.1770
    integrated loudness and loudness range (:func:`~mixdown.engine.loudness.measure_loudness`; ``None``
    under its minimum rate), the count of samples at or beyond full scale, and the share of 10 ms blocks
    that are silent (RMS under -60 dBFS; the last partial block is left out)."""
    audio = as_audio(audio)
    sample_rate = check_sample_rate(sample_rate)
    channels, frames = audio.shape
    wide = audio.astype(np.float64)
    peak = float(np.abs(audio).max(initial=0.0))
    rms = math.sqrt(float(np.mean(wide * wide))) if frames else 0.0
    block = max(1, round(SILENCE_BLOCK_S * sample_rate))
    blocks = frames // block
    if blocks:
        energy = (wide[:, :blocks * block] ** 2).reshape(channels, blocks, block).mean(axis=(0, 2))
        silence_ratio = np.count_nonzero(energy < 10 ** (SILENCE_DBFS / 10)) / blocks
    else:
        silence_ratio = 1.0 if peak < 10 ** (SILENCE_DBFS / 20) else 0.0
    integrated = loudness_range = true_peak = -math.inf
    if sample_rate >= MIN_SAMPLE_RATE and frames:
        report = measure_loudness(audio, sample_rate)
        integrated, loudness_range, true_peak = (report.integrated_lufs, report.loudness_range_lu,
                                                 report.true_peak_dbtp)
    return Analysis(
        frames=frames, channels=channels, sample_rate=sample_rate, peak_dbfs=_db(gain_to_db(peak)),
        true_peak_dbtp=_db(true_peak), rms_dbfs=_db(gain_to_db(rms)),
        dc_offset=[round(float(value), 9) for value in (wide.mean(axis=1) if frames else np.zeros(channels))],
        integrated_lufs=_db(integrated), loudness_range_lu=_db(loudness_range),
        clipped_samples=int(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL)), silence_ratio=round(silence_ratio, 6),
    )
