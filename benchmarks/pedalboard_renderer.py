"""The peer for the end-to-end TwoShot benchmark: a careful renderer built on pedalboard and numpy.

It resolves the project exactly as mixdown does (the same translation to sample positions, ratios and
gains), then does the DSP the usual way: pedalboard's Rubber Band ``time_stretch`` once per distinct clip
treatment (high quality, R3), numpy slicing and summing for the mix, soundfile to write the WAV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from mixdown.api_compat.twoshot.library import SampleLibrary
from mixdown.api_compat.twoshot.service import parse_document
from mixdown.api_compat.twoshot.translate import translate
from mixdown.engine.pan import mix_matrix


def render_with_pedalboard(document: dict, library: Path, output: Path) -> int:
    import pedalboard

    parsed = parse_document(document)
    plan = translate(parsed.project, SampleLibrary(library), parsed.request, detect_bpm=lambda source: None)
    timeline = plan.timeline
    rate = timeline.sample_rate
    mix = np.zeros((2, plan.frames), dtype=np.float32)
    treated: dict[tuple, np.ndarray] = {}
    for t, _, clip in timeline.audible_clips():
        track = timeline.tracks[t]
        key = (id(clip.source), clip.source_start, clip.source_end, clip.reverse, clip.speed_ratio,
               clip.pitch_semitones)
        if key not in treated:
            segment = clip.source.audio[:, clip.source_start : clip.source_end]
            if clip.reverse:
                segment = np.ascontiguousarray(segment[:, ::-1])
            if clip.speed_ratio != 1.0 or clip.pitch_semitones != 0.0:
                segment = pedalboard.time_stretch(segment, rate, clip.speed_ratio, clip.pitch_semitones,
                                                  high_quality=True)
            treated[key] = segment
        audio = treated[key][:, : clip.length]
        matrix = mix_matrix(audio.shape[0], 2, clip.gain * track.gain, clip.pan, track.pan)
        lo, hi = max(clip.position, plan.start), min(clip.position + audio.shape[1], plan.end)
        if hi > lo:
            mix[:, lo - plan.start : hi - plan.start] += matrix @ audio[:, lo - clip.position : hi - clip.position]
    soundfile.write(str(output), np.clip(mix, -1, 1).T, rate, subtype="PCM_24")
    return mix.shape[1]
