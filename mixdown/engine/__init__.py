"""The rendering engine: timelines in integer samples, numba kernels, loudness.

Audio is float32, shape ``(channels, frames)``, C-contiguous, everywhere in the engine.
"""

from mixdown.engine.loudness import LoudnessReport, measure_loudness
from mixdown.engine.materials import MaterialCache
from mixdown.engine.normalize import NormalizeResult, normalize_loudness, normalize_peak
from mixdown.engine.ops import apply_fades, apply_gain, fade_envelope, reverse
from mixdown.engine.pan import balance, mix_matrix, placement
from mixdown.engine.render import DEFAULT_BLOCK_FRAMES, render, render_blocks
from mixdown.engine.resample import resample, resampled_length
from mixdown.engine.stretch import PRESETS, output_length, stretch
from mixdown.engine.timeline import Clip, Fade, FadeCurve, Source, Timeline, Track

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "PRESETS",
    "Clip",
    "Fade",
    "FadeCurve",
    "LoudnessReport",
    "MaterialCache",
    "NormalizeResult",
    "Source",
    "Timeline",
    "Track",
    "apply_fades",
    "apply_gain",
    "balance",
    "fade_envelope",
    "measure_loudness",
    "mix_matrix",
    "normalize_loudness",
    "normalize_peak",
    "output_length",
    "placement",
    "render",
    "render_blocks",
    "resample",
    "resampled_length",
    "reverse",
    "stretch",
]
