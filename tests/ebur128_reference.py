"""libebur128 (pyebur128) measuring every figure mixdown's meter reports: the independent cross-check
the loudness tests compare against, and the peer the loudness benchmark times."""

from __future__ import annotations

import math

import numpy as np
import pyebur128

from mixdown.engine.loudness import SHORT_TERM_SUBBLOCKS


def pyebur128_figures(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    """libebur128's figures, feeding 100 ms at a time so momentary and short-term can be read at every
    hop once their window is complete (libebur128 only reports the latest window)."""
    channels, frames = audio.shape
    mode = (
        pyebur128.MeasurementMode.MODE_I
        | pyebur128.MeasurementMode.MODE_LRA
        | pyebur128.MeasurementMode.MODE_SAMPLE_PEAK
        | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    )
    state = pyebur128.R128State(channels, sample_rate, mode)
    interleaved = np.ascontiguousarray(audio.T).reshape(-1)
    step = (sample_rate + 5) // 10
    momentary = short_term = -math.inf
    position = blocks = 0
    while position + step <= frames:
        state.add_frames(interleaved[position * channels : (position + step) * channels], step)
        position += step
        blocks += 1
        if blocks >= 4:
            momentary = max(momentary, pyebur128.get_loudness_momentary(state))
        if blocks >= SHORT_TERM_SUBBLOCKS:
            short_term = max(short_term, pyebur128.get_loudness_shortterm(state))
    if position < frames:
        state.add_frames(interleaved[position * channels :], frames - position)
    true_peak = max(pyebur128.get_true_peak(state, c) for c in range(channels))
    return {
        "integrated_lufs": pyebur128.get_loudness_global(state),
        "momentary_max_lufs": momentary,
        "short_term_max_lufs": short_term,
        "loudness_range_lu": pyebur128.get_loudness_range(state),
        "true_peak_dbtp": 20 * math.log10(true_peak),
    }
