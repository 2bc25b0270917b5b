"""How long a render will take: ``estimatedCompletion`` from the work and this machine's measured speed.

A render's time is close to a sum of three costs (measured on a 2-core machine, in seconds of compute):
a start-up (decoding the library, loading the kernels), the stretch treatments (each distinct one once,
in proportion to its source length and the preset), and per second of output the mix plus the encoder,
whose cost depends on the format (WAV is a copy, MP3 at LAME's best quality costs 30 times the mix).
:class:`SpeedModel` multiplies that prediction by a factor learnt from the jobs this registry completed
(a running mean of ``log(actual / predicted)``), so a faster or busier machine corrects it over a few jobs.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from mixdown.engine.timeline import Timeline
from mixdown.formats import atomic_path

#: Seconds before the first sample: library decode, kernel loading.
STARTUP_SECONDS = 0.5
#: Seconds of compute per second of stretched source, by preset (``varispeed`` resamples: far cheaper).
STRETCH_SECONDS = {"draft": 0.003, "standard": 0.004, "high": 0.006, "varispeed": 0.0005}
#: Seconds of compute per second of stereo output for the mix itself.
MIX_SECONDS = 0.0025
#: Seconds of compute per second of stereo output for each encoder (measured: WAV, FLAC, Ogg and MP3 of the
#: demo and of a 60-minute, 16-track project; the others from their codecs' relative cost).
ENCODE_SECONDS = {"wav": 0.0002, "w64": 0.0002, "aiff": 0.0002, "aifc": 0.0002, "au": 0.0002, "caf": 0.0002,
                  "flac": 0.0016, "wv": 0.005, "ogg": 0.02, "mp2": 0.02, "wma": 0.03, "aac": 0.04, "mp3": 0.1}
#: Weight of the newest job in the learnt factor, and the factor's bounds.
LEARNING_RATE = 0.3
FACTOR_RANGE = (0.05, 20.0)


@dataclass(frozen=True)
class RenderWork:
    """What a render has to do: output seconds and channels, stretched source seconds, preset, format."""

    seconds: float
    channels: int
    stretch_seconds: float
    stretch_preset: str
    format: str

    @classmethod
    def of(cls, timeline: Timeline, seconds: float, fmt: str) -> RenderWork:
        treatments: dict[tuple, float] = {}
        for track in timeline.tracks:
            for clip in track.clips:
                if clip.is_treated:
                    key = (id(clip.source), clip.source_start, clip.source_end, clip.reverse, clip.speed_ratio,
                           clip.pitch_semitones)
                    treatments[key] = clip.source_frames / clip.source.sample_rate
        preset = "varispeed" if timeline.varispeed else timeline.stretch_quality
        return cls(seconds, timeline.channels, sum(treatments.values()), preset, fmt)

    def baseline(self) -> float:
        """Seconds this work takes on the reference machine."""
        per_second = (MIX_SECONDS + ENCODE_SECONDS.get(self.format, 0.05)) * self.channels / 2
        return STARTUP_SECONDS + self.stretch_seconds * STRETCH_SECONDS.get(self.stretch_preset, 0.006) \
            + self.seconds * per_second


class SpeedModel:
    """The reference cost times this machine's learnt factor, kept in a small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def factor(self) -> float:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            value = float(json.loads(self.path.read_text(encoding="utf-8"))["factor"])
            if math.isfinite(value):
                return min(max(value, FACTOR_RANGE[0]), FACTOR_RANGE[1])
        return 1.0

    def predict(self, work: RenderWork) -> float:
        return work.baseline() * self.factor

    def learn(self, work: RenderWork, actual_seconds: float) -> None:
        """Move the factor towards what this job measured; a failure to record it is not the job's."""
        if actual_seconds <= 0:
            return
        step = math.log(actual_seconds / work.baseline()) - math.log(self.factor)
        factor = math.exp(math.log(self.factor) + LEARNING_RATE * step)
        factor = min(max(factor, FACTOR_RANGE[0]), FACTOR_RANGE[1])
        with contextlib.suppress(OSError), atomic_path(self.path) as temp:
            temp.write_text(json.dumps({"factor": factor}) + "\n", encoding="utf-8")
