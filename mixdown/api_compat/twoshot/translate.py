"""TwoShot project -> engine timeline, per the contract in ``shared/docs/twoshot-project.md``.

Beats and seconds exist only here: every position is turned into samples once, by rounding
``beats * 60 / tempo * sample_rate``. Each loop repeat is placed from its own beat position, so repeats
never drift. Clips that share audio, cut, speed, pitch and reverse share one engine treatment, so the engine
stretches a one-shot once however many times it is placed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mixdown.api_compat.fields import check_duration, whole_frames
from mixdown.api_compat.twoshot.bpm import SourceTempo, source_tempo
from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.library import LibraryEntry, SampleLibrary
from mixdown.api_compat.twoshot.models import TEMPO_SYNC, Project, RenderRequest
from mixdown.api_compat.twoshot.models import Clip as ClipModel
from mixdown.engine import Clip, Source, Timeline, Track
from mixdown.engine.stretch import RATIO_RANGE, SEMITONE_RANGE
from mixdown.errors import InvalidInputError

DEFAULT_SAMPLE_RATE = 44_100
BEATS_PER_BAR = 4
#: A span that passes a whole bar by less than this many beats counts as that bar (float noise in cuts).
BAR_TOLERANCE_BEATS = 0.01
#: Loop repeats a render may expand to, in all: a guard against a tiny ``loopEvery`` over a long range.
MAX_CLIPS = 2_000_000

#: What ``quality`` selects: the stretch preset, the bit depth of PCM and lossless outputs, and the bitrate
#: of lossy ones (the highest the format allows at or below it).
QUALITY = {
    "low": {"stretch": "draft", "bit_depth": 16, "bit_rate": 128},
    "medium": {"stretch": "standard", "bit_depth": 24, "bit_rate": 192},
    "high": {"stretch": "high", "bit_depth": 24, "bit_rate": 320},
}

BpmDetector = Callable[[Source], float | None]


@dataclass
class RenderPlan:
    """A translated project: the timeline and the sample range ``[start, end)`` to render."""

    timeline: Timeline
    start: int
    end: int
    clip_count: int
    tempo_sync: dict[str, float] = field(default_factory=dict)
    #: Per tempo-synced audio, the tempo the ratio came from and its origin (see ``twoshot.bpm``).
    source_tempi: dict[str, SourceTempo] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def seconds(self) -> float:
        return self.frames / self.timeline.sample_rate


@dataclass
class _Placed:
    """One project clip resolved to samples, before loop expansion."""

    engine: Clip
    start_beats: float
    end_beats: float


def _ids_equal(a: object, b: object) -> bool:
    return a is not None and b is not None and str(a) == str(b)


class Translator:
    """Turns one project into engine objects against one sample library at one rate."""

    def __init__(self, project: Project, library: SampleLibrary, sample_rate: int, detect_bpm: BpmDetector):
        self.project = project
        self.library = library
        self.sample_rate = sample_rate
        self.detect_bpm = detect_bpm
        self.seconds_per_beat = 60.0 / project.tempo if project.tempo else 1.0
        if not math.isfinite(self.seconds_per_beat * sample_rate):
            raise TwoShotError("VALIDATION_ERROR", f"a tempo of {project.tempo:g} bpm makes a beat longer than any "
                               "timeline", field="tempo")
        self.tempo_sync: dict[str, float] = {}
        self.source_tempi: dict[str, SourceTempo] = {}
        self._bpm_cache: dict[str, float | None] = {}

    def samples(self, beats: float, field: str) -> int:
        """``beats`` at the project's tempo, in whole frames (refused, naming ``field``, past any timeline)."""
        return whole_frames(beats * self.seconds_per_beat * self.sample_rate, field, beats)

    def samples_before(self, beats: float, end: int) -> int | None:
        """``beats`` in whole frames if that is before frame ``end`` (however far past it the beats are)."""
        exact = beats * self.seconds_per_beat * self.sample_rate
        if not exact < end:
            return None
        position = math.floor(exact + 0.5)
        return position if position < end else None

    def _detected(self, entry: LibraryEntry, source: Source) -> float | None:
        if entry.audio_id not in self._bpm_cache:
            self._bpm_cache[entry.audio_id] = self.detect_bpm(source)
        return self._bpm_cache[entry.audio_id]

    def _ratio(self, clip: ClipModel, entry: LibraryEntry, source: Source, path: str) -> float:
        if clip.speed != TEMPO_SYNC:
            ratio = float(clip.speed)
        elif self.project.tempo is None:
            ratio = 1.0
        else:
            tempo = source_tempo(clip.source.tempo, entry.bpm, lambda: self._detected(entry, source))
            ratio = 1.0 if tempo.bpm is None else self.project.tempo / tempo.bpm
            self.tempo_sync[entry.audio_id] = ratio
            self.source_tempi[entry.audio_id] = tempo
        low, high = RATIO_RANGE
        if not low <= ratio <= high:
            raise TwoShotError("VALIDATION_ERROR", f"speed ratio {ratio:g} is outside [{low:g}, {high:g}]",
                               field=f"{path}.speed")
        return ratio

    def _cut(self, clip: ClipModel, frames: int, path: str) -> tuple[int, int]:
        """The clip's range of a source of ``frames`` frames at the render rate."""
        duration = frames / self.sample_rate
        start = min(clip.cutStart or 0.0, duration)
        end = duration if clip.cutEnd is None else min(clip.cutEnd, duration)
        if end <= start:
            return 0, frames
        first = whole_frames(start * self.sample_rate, f"{path}.cutStart", start)
        last = min(frames, whole_frames(end * self.sample_rate, f"{path}.cutEnd", end))
        first = min(first, frames - 1)
        return first, max(last, first + 1)

    def place(self, t: int, c: int, clip: ClipModel, solo_clip: object) -> _Placed:
        path = f"tracks[{t}].clips[{c}]"
        entry = self.library.entry(clip.source, f"{path}.source")
        long_frames = self.library.long_frames(entry, self.sample_rate, f"{path}.source")
        if long_frames is None:
            source = self.library.load(entry, self.sample_rate, f"{path}.source")
        else:  # a long file: only the clip's range is decoded
            first, last = self._cut(clip, long_frames, path)
            source = self.library.load_span(entry, self.sample_rate, f"{path}.source", first, last)
        ratio = self._ratio(clip, entry, source, path)
        low, high = SEMITONE_RANGE
        if not low <= clip.pitchOffset <= high:
            raise TwoShotError("VALIDATION_ERROR", f"pitchOffset must be within [{low:g}, {high:g}] semitones",
                               field=f"{path}.pitchOffset")
        first, last = self._cut(clip, source.frames, path) if long_frames is None else (0, source.frames)
        position = self.samples(clip.position, f"{path}.position")
        try:
            engine = Clip(
                source, position, first, last, gain=clip.volume, pan=clip.pan,
                reverse=clip.reversed, speed_ratio=ratio, pitch_semitones=clip.pitchOffset, mute=clip.muted,
                solo=_ids_equal(solo_clip, clip.id), name=str(clip.id),
            )
        except InvalidInputError as error:
            raise TwoShotError("VALIDATION_ERROR", error.message, field=f"{path}.speed") from None
        length_beats = engine.length / self.sample_rate / self.seconds_per_beat
        return _Placed(engine, clip.position, clip.position + length_beats)

    def loop_length(self, placed: list[_Placed], loop_every: str | float) -> float:
        """Beats between repeats: the number given, or ``"auto"``'s span rounded up to whole bars."""
        if loop_every != "auto":
            return float(loop_every)
        span = max(p.end_beats for p in placed) - min(p.start_beats for p in placed)
        bars = max(1, math.ceil((span - BAR_TOLERANCE_BEATS) / BEATS_PER_BAR))
        return bars * BEATS_PER_BAR


def _range(project: Project, request: RenderRequest, translator: Translator, natural_end: int,
           max_duration: float | None) -> tuple[int, int]:
    rate = translator.sample_rate
    if request.startTime is not None:
        start = whole_frames(request.startTime * rate, "startTime", request.startTime)
    else:
        start = translator.samples(project.playHead.start, "playHead.start")
    if request.endTime is not None:
        end = whole_frames(request.endTime * rate, "endTime", request.endTime)
        field = "endTime"
    elif project.playHead.end is not None:
        end = translator.samples(project.playHead.end, "playHead.end")
        field = "playHead.end"
    else:
        end = natural_end
        field = "playHead" if request.startTime is None else "startTime"
    if end <= start:
        raise TwoShotError("VALIDATION_ERROR",
                           f"the render range [{start}, {end}) samples is empty: nothing sounds after its start",
                           field=field)
    check_duration(end - start, rate, max_duration, field if field != "playHead" else "tracks")
    return start, end


def translate(
    project: Project,
    library: SampleLibrary,
    request: RenderRequest,
    *,
    detect_bpm: BpmDetector,
    sample_rate: int | None = None,
    varispeed: bool = False,
    max_duration: float | None = None,
) -> RenderPlan:
    """Resolve ``project`` into an engine timeline and the range to render (at most ``max_duration``
    seconds long: see :func:`~mixdown.api_compat.fields.check_duration`)."""
    rate = request.sampleRate or sample_rate or DEFAULT_SAMPLE_RATE
    translator = Translator(project, library, rate, detect_bpm)
    solo = project.soloTarget
    solo_track = solo.track if solo else None
    solo_clip = solo.clip if solo else None
    all_tracks = project.tracks
    if solo_track is not None and not any(_ids_equal(solo_track, t.id) for t in all_tracks):
        raise TwoShotError("NOT_FOUND", f"no track has id {solo_track!r}", field="soloTarget.track")
    if solo_clip is not None and not any(_ids_equal(solo_clip, c.id) for t in all_tracks for c in t.clips):
        raise TwoShotError("NOT_FOUND", f"no clip has id {solo_clip!r}", field="soloTarget.clip")

    placed_by_track = [
        [translator.place(t, c, clip, solo_clip) for c, clip in enumerate(track.clips)]
        for t, track in enumerate(all_tracks)
    ]

    def build(clips_by_track: list[list[Clip]]) -> Timeline:
        tracks = [
            Track(clips, gain=model.volume, pan=model.pan, mute=model.muted, solo=_ids_equal(solo_track, model.id),
                  name=str(model.id))
            for model, clips in zip(all_tracks, clips_by_track, strict=True)
        ]
        return Timeline(rate, tracks, stretch_quality=QUALITY[request.quality]["stretch"], varispeed=varispeed)

    natural = build([[p.engine for p in placed] for placed in placed_by_track])
    start, end = _range(project, request, translator, natural.length, max_duration)

    expanded = []
    count = 0
    for t, (model, placed) in enumerate(zip(all_tracks, placed_by_track, strict=True)):
        clips = [p.engine for p in placed]
        if placed and model.loopEvery is not None:
            every = translator.loop_length(placed, model.loopEvery)
            for p in placed:
                k = 1
                while (position := translator.samples_before(p.start_beats + k * every, end)) is not None:
                    clips.append(replace(p.engine, position=position))
                    k += 1
                    if count + len(clips) > MAX_CLIPS:
                        raise TwoShotError("VALIDATION_ERROR",
                                           f"looping every {every:g} beats makes over {MAX_CLIPS} clips",
                                           field=f"tracks[{t}].loopEvery")
        count += len(clips)
        expanded.append(clips)
    return RenderPlan(build(expanded), start, end, count, translator.tempo_sync, translator.source_tempi)
