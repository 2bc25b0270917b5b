"""The engine-native timeline: integer sample positions, linear gains, pan in [-1, 1].

Platform adapters translate beats, seconds and their own field names into these objects once; the
renderer never sees anything else. Every object validates itself on construction and names the
offending field, so a bad value fails where it was made rather than deep inside a render.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.stretch import PRESETS, RATIO_RANGE, SEMITONE_RANGE, output_length
from mixdown.errors import InvalidInputError


class FadeCurve(str, Enum):
    """Fade shapes; the exact formulas are in :mod:`mixdown.engine.mix_kernels`."""

    LINEAR = "linear"
    EQUAL_POWER = "equal-power"
    EXPONENTIAL = "exponential"

    @property
    def code(self) -> int:
        return _CURVE_CODES[self]


_CURVE_CODES = {FadeCurve.LINEAR: 0, FadeCurve.EQUAL_POWER: 1, FadeCurve.EXPONENTIAL: 2}


def _check_int(value: object, field_name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"expected a whole number of samples, got {value!r}", field=field_name)
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"must be >= {minimum}, got {value}", field=field_name)
    return int(value)


def _check_float(
    value: object, field_name: str, *, low: float = -math.inf, high: float = math.inf
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"expected a number, got {value!r}", field=field_name)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(f"must be finite, got {number}", field=field_name)
    if not low <= number <= high:
        raise InvalidInputError(f"must be within [{low}, {high}], got {number}", field=field_name)
    return number


@dataclass(frozen=True)
class Fade:
    """A fade of ``length`` frames at one end of a clip."""

    length: int = 0
    curve: FadeCurve = FadeCurve.LINEAR

    def __post_init__(self) -> None:
        _check_int(self.length, "fade.length", minimum=0)
        try:
            curve = FadeCurve(self.curve)
        except ValueError:
            allowed = ", ".join(c.value for c in FadeCurve)
            raise InvalidInputError(f"unknown curve {self.curve!r}; allowed: {allowed}", field="fade.curve") from None
        object.__setattr__(self, "curve", curve)


@dataclass(frozen=True, eq=False)
class Source:
    """Decoded source audio shared by any number of clips (compared by identity)."""

    audio: np.ndarray
    sample_rate: int
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "audio", as_audio(self.audio, field=f"source {self.name!r}".strip()))
        object.__setattr__(self, "sample_rate", check_sample_rate(self.sample_rate))
        self.audio.flags.writeable = False

    @property
    def channels(self) -> int:
        return self.audio.shape[0]

    @property
    def frames(self) -> int:
        return self.audio.shape[1]


@dataclass(frozen=True, eq=False)
class Clip:
    """A range of a source placed on the timeline.

    ``source_start``/``source_end`` are frames of the source (``source_end=None``: to the source's end).
    ``speed_ratio`` is playback speed and ``pitch_semitones`` a pitch offset; the clip covers
    ``round((source_end - source_start) / speed_ratio)`` timeline frames from ``position``. Fades are in
    timeline frames at the clip's own start and end, applied after ``reverse``.
    """

    source: Source
    position: int
    source_start: int = 0
    source_end: int | None = None
    gain: float = 1.0
    pan: float = 0.0
    reverse: bool = False
    fade_in: Fade = field(default_factory=Fade)
    fade_out: Fade = field(default_factory=Fade)
    speed_ratio: float = 1.0
    pitch_semitones: float = 0.0
    mute: bool = False
    solo: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.source, Source):
            raise InvalidInputError(f"expected a Source, got {type(self.source).__name__}", field="clip.source")
        _check_int(self.position, "clip.position")
        start = _check_int(self.source_start, "clip.source_start", minimum=0)
        end = self.source.frames if self.source_end is None else _check_int(self.source_end, "clip.source_end")
        if not start < end <= self.source.frames:
            raise InvalidInputError(
                f"source range [{start}, {end}) must be non-empty and inside the source's "
                f"{self.source.frames} frames",
                field="clip.source_end",
            )
        object.__setattr__(self, "source_end", end)
        _check_float(self.gain, "clip.gain", low=0.0)
        _check_float(self.pan, "clip.pan", low=-1.0, high=1.0)
        _check_float(self.speed_ratio, "clip.speed_ratio", low=RATIO_RANGE[0], high=RATIO_RANGE[1])
        _check_float(self.pitch_semitones, "clip.pitch_semitones", low=SEMITONE_RANGE[0], high=SEMITONE_RANGE[1])
        if self.length == 0:
            raise InvalidInputError(
                f"{self.source_frames} source frames at speed {self.speed_ratio} last no whole frame",
                field="clip.speed_ratio",
            )
        for name in ("fade_in", "fade_out"):
            fade = getattr(self, name)
            if not isinstance(fade, Fade):
                raise InvalidInputError(f"expected a Fade, got {fade!r}", field=f"clip.{name}")
            if fade.length > self.length:
                raise InvalidInputError(
                    f"{fade.length} frames is longer than the clip's {self.length}", field=f"clip.{name}.length"
                )

    @property
    def source_frames(self) -> int:
        return self.source_end - self.source_start

    @property
    def length(self) -> int:
        """Frames the clip covers on the timeline."""
        return output_length(self.source_frames, self.speed_ratio)

    @property
    def end(self) -> int:
        return self.position + self.length

    @property
    def is_treated(self) -> bool:
        """Whether the clip needs time-stretch or pitch-shift before it can be mixed."""
        return self.speed_ratio != 1.0 or self.pitch_semitones != 0.0


@dataclass(frozen=True, eq=False)
class Track:
    """A lane of clips with its own gain, pan (balance), mute and solo."""

    clips: Sequence[Clip] = ()
    gain: float = 1.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        clips = tuple(self.clips)
        for index, clip in enumerate(clips):
            if not isinstance(clip, Clip):
                raise InvalidInputError(f"expected a Clip, got {type(clip).__name__}", field=f"clips[{index}]")
        object.__setattr__(self, "clips", clips)
        _check_float(self.gain, "track.gain", low=0.0)
        _check_float(self.pan, "track.pan", low=-1.0, high=1.0)


@dataclass(frozen=True, eq=False)
class Timeline:
    """Tracks of clips mixed to ``channels`` output channels at ``sample_rate``.

    ``stretch_quality`` is the preset clips with a speed ratio or pitch offset are rendered with
    (``draft``, ``standard``, ``high``); ``varispeed`` renders speed changes by resampling instead, so
    pitch follows speed as on tape.

    Solo and mute: when any track or clip is soloed, a clip sounds if it is soloed itself, or if its track
    is soloed and the clip is not muted. Otherwise a clip sounds unless it or its track is muted.
    """

    sample_rate: int
    tracks: Sequence[Track] = ()
    channels: int = 2
    stretch_quality: str = "high"
    varispeed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "sample_rate", check_sample_rate(self.sample_rate))
        _check_int(self.channels, "timeline.channels", minimum=1)
        if self.stretch_quality not in PRESETS:
            raise InvalidInputError(
                f"unknown quality {self.stretch_quality!r}; allowed: {', '.join(PRESETS)}", field="stretch_quality"
            )
        tracks = tuple(self.tracks)
        for t, track in enumerate(tracks):
            if not isinstance(track, Track):
                raise InvalidInputError(f"expected a Track, got {type(track).__name__}", field=f"tracks[{t}]")
            for c, clip in enumerate(track.clips):
                if clip.source.sample_rate != self.sample_rate:
                    raise InvalidInputError(
                        f"source {clip.source.name!r} is at {clip.source.sample_rate} Hz, the timeline at "
                        f"{self.sample_rate} Hz; resample it first (mixdown.engine.resample)",
                        field=f"tracks[{t}].clips[{c}].source",
                    )
        object.__setattr__(self, "tracks", tracks)

    def audible_clips(self) -> list[tuple[int, int, Clip]]:
        """``(track index, clip index, clip)`` of every clip that sounds, in track then clip order."""
        soloing = any(track.solo or any(clip.solo for clip in track.clips) for track in self.tracks)
        audible = []
        for t, track in enumerate(self.tracks):
            for c, clip in enumerate(track.clips):
                sounds = clip.solo or (track.solo and not clip.mute) if soloing else not (track.mute or clip.mute)
                if sounds:
                    audible.append((t, c, clip))
        return audible

    @property
    def length(self) -> int:
        """The end of the last sounding clip, in frames (0 for a silent timeline)."""
        return max((clip.end for _, _, clip in self.audible_clips()), default=0)
