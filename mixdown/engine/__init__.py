"""The rendering engine: timelines in integer samples, numba kernels, loudness.

Audio is float32, shape ``(channels, frames)``, C-contiguous, everywhere in the engine.

The names below load on first use (PEP 562): importing one engine module, say the loudness meter, does not
import the stretcher's FFTs or the renderer's kernels, which costs a command line tens of megabytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixdown.lazy import load_on_first_use

if TYPE_CHECKING:
    from mixdown.engine.loudness import LoudnessReport, measure_loudness
    from mixdown.engine.materials import MaterialCache
    from mixdown.engine.normalize import NormalizeResult, normalize_loudness, normalize_peak
    from mixdown.engine.ops import apply_fades, apply_gain, fade_envelope, reverse
    from mixdown.engine.pan import balance, mix_matrix, placement
    from mixdown.engine.render import DEFAULT_BLOCK_FRAMES, render, render_blocks
    from mixdown.engine.resample import resample, resampled_length
    from mixdown.engine.stretch import PRESETS, formant_amount, output_length, stretch
    from mixdown.engine.timeline import Clip, Fade, FadeCurve, Source, Timeline, Track

#: Each public name and the submodule that defines it.
_HOME = {
    "DEFAULT_BLOCK_FRAMES": "render",
    "PRESETS": "stretch",
    "Clip": "timeline",
    "Fade": "timeline",
    "FadeCurve": "timeline",
    "LoudnessReport": "loudness",
    "MaterialCache": "materials",
    "NormalizeResult": "normalize",
    "Source": "timeline",
    "Timeline": "timeline",
    "Track": "timeline",
    "apply_fades": "ops",
    "apply_gain": "ops",
    "balance": "pan",
    "fade_envelope": "ops",
    "formant_amount": "stretch",
    "measure_loudness": "loudness",
    "mix_matrix": "pan",
    "normalize_loudness": "normalize",
    "normalize_peak": "normalize",
    "output_length": "stretch",
    "placement": "pan",
    "render": "render",
    "render_blocks": "render",
    "resample": "resample",
    "resampled_length": "resample",
    "reverse": "ops",
    "stretch": "stretch",
}

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
    "formant_amount",
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

load_on_first_use(__name__, _HOME)
