"""Render a :class:`~mixdown.engine.timeline.Timeline` to float32 audio, whole or in blocks.

``render(timeline, start, end)`` returns exactly ``end - start`` frames. ``render_blocks`` yields the same
samples in blocks of ``block_frames`` (the last one shorter), sweeping the clips in start order so that a
block only touches the clips that overlap it; memory is one block plus the sources, whatever the length.

Every output sample is the sum of the audible clips' contributions in one fixed order (track, then
clip), and each contribution depends only on the clip's own frame index, so the one-shot and streaming
renders are bit-identical for any block size, and every run gives the same bytes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mixdown.engine import mix_kernels
from mixdown.engine.materials import MaterialCache, Treatment
from mixdown.engine.pan import mix_matrix
from mixdown.engine.timeline import Clip, Timeline
from mixdown.errors import InvalidInputError

DEFAULT_BLOCK_FRAMES = 16_384


@dataclass
class PlacedClip:
    """A clip resolved for mixing: where it reads, how it is gained, and where it lands.

    A clip that needs a treatment (speed or pitch) reads its material from the render's
    :class:`MaterialCache` while it is in the sweep; ``material`` is ``None`` outside it.
    """

    order: int
    start: int
    end: int
    material: np.ndarray | None
    first: int
    step: int
    matrix: np.ndarray
    fade_in: int
    in_curve: int
    fade_out: int
    out_curve: int
    treatment: Treatment | None = None

    @property
    def length(self) -> int:
        return self.end - self.start


def _place(order: int, clip: Clip, track_gain: float, track_pan: float, channels: int, field: str) -> PlacedClip:
    source = clip.source
    treatment = Treatment.of(clip) if clip.is_treated else None
    if treatment is not None:
        first, step = 0, 1
    elif clip.reverse:
        first, step = clip.source_end - 1, -1
    else:
        first, step = clip.source_start, 1
    try:
        matrix = mix_matrix(source.channels, channels, clip.gain * track_gain, clip.pan, track_pan)
    except InvalidInputError as error:
        raise InvalidInputError(error.message, field=field) from None
    return PlacedClip(
        order=order,
        start=clip.position,
        end=clip.end,
        material=None if treatment else source.audio,
        first=first,
        step=step,
        matrix=matrix,
        fade_in=clip.fade_in.length,
        in_curve=clip.fade_in.curve.code,
        fade_out=clip.fade_out.length,
        out_curve=clip.fade_out.curve.code,
        treatment=treatment,
    )


def plan(timeline: Timeline) -> list[PlacedClip]:
    """Resolve the audible clips of ``timeline`` for mixing, sorted by timeline start (then order)."""
    placed = []
    for order, (t, c, clip) in enumerate(timeline.audible_clips()):
        track = timeline.tracks[t]
        if timeline.varispeed and clip.pitch_semitones != 0.0:
            raise InvalidInputError(
                "a varispeed render ties pitch to speed; the clip cannot also shift pitch",
                field=f"tracks[{t}].clips[{c}].pitch_semitones",
            )
        placed.append(_place(order, clip, track.gain, track.pan, timeline.channels, f"tracks[{t}].clips[{c}]"))
    placed.sort(key=lambda p: (p.start, p.order))
    return placed


def _check_range(timeline: Timeline, start: int, end: int | None) -> tuple[int, int]:
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise InvalidInputError(f"expected a whole number of frames, got {start!r}", field="start")
    if end is None:
        end = max(int(start), timeline.length)
    if isinstance(end, bool) or not isinstance(end, (int, np.integer)):
        raise InvalidInputError(f"expected a whole number of frames, got {end!r}", field="end")
    if end < start:
        raise InvalidInputError(f"end {end} is before start {start}", field="end")
    return int(start), int(end)


def mix_into(bus: np.ndarray, bus_start: int, clip: PlacedClip) -> None:
    """Add the part of ``clip`` that overlaps ``bus`` (whose frame 0 is timeline frame ``bus_start``)."""
    lo = max(bus_start, clip.start)
    hi = min(bus_start + bus.shape[1], clip.end)
    if hi <= lo:
        return
    offset = lo - clip.start
    mix_kernels.mix_clip(
        bus,
        lo - bus_start,
        hi - lo,
        clip.material,
        clip.first + offset * clip.step,
        clip.step,
        clip.matrix,
        offset,
        clip.length,
        clip.fade_in,
        clip.in_curve,
        clip.fade_out,
        clip.out_curve,
    )


def render_blocks(
    timeline: Timeline,
    start: int = 0,
    end: int | None = None,
    *,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    materials: MaterialCache | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``[start, end)`` of the mix as float32 ``(channels, n)`` blocks of ``block_frames`` frames.

    ``end=None`` renders to the end of the last sounding clip. Each block is a new array. Raises
    :class:`InvalidInputError` for a bad range or settings, before any audio is produced. Clips with a
    speed ratio or pitch offset are stretched when the sweep reaches them, once per distinct treatment;
    pass a ``materials`` cache to share stretched audio across renders.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.engine import Clip, Source, Timeline, Track, render
    >>> tone = Source(np.sin(np.arange(10_000, dtype=np.float32) * 0.1) * 0.5, 48_000, "tone")
    >>> timeline = Timeline(48_000, [Track([Clip(tone, position=0, pan=-0.5)])])
    >>> blocks = list(render_blocks(timeline, block_frames=4_096))
    >>> [b.shape[1] for b in blocks], np.array_equal(np.concatenate(blocks, axis=1), render(timeline))
    ([4096, 4096, 1808], True)
    """
    start, end = _check_range(timeline, start, end)
    if isinstance(block_frames, bool) or not isinstance(block_frames, (int, np.integer)) or block_frames < 1:
        raise InvalidInputError(f"must be a positive whole number, got {block_frames!r}", field="block_frames")
    placed = plan(timeline)
    return _sweep(placed, _materials(timeline, materials), timeline.channels, start, end, int(block_frames))


@dataclass
class _Materials:
    """The render's view of a material cache: the timeline's stretch settings applied to every lookup."""

    cache: MaterialCache
    quality: str
    varispeed: bool

    def enter(self, clip: PlacedClip) -> None:
        if clip.treatment is not None:
            clip.material = self.cache.acquire(clip.treatment, self.quality, self.varispeed)

    def leave(self, clip: PlacedClip) -> None:
        if clip.treatment is not None:
            self.cache.release(clip.treatment, self.quality, self.varispeed)
            clip.material = None


def _materials(timeline: Timeline, cache: MaterialCache | None) -> _Materials:
    return _Materials(cache or MaterialCache(), timeline.stretch_quality, timeline.varispeed)


def _sweep(
    placed: list[PlacedClip],
    materials: _Materials,
    channels: int,
    start: int,
    end: int,
    block: int,
    out: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Mix ``[start, end)`` block by block, each into a fresh bus or into its slice of ``out``."""
    starts = [p.start for p in placed]
    next_clip = bisect.bisect_left(starts, start)
    active = [p for p in placed[:next_clip] if p.end > start]
    active.sort(key=lambda p: p.order)
    for clip in active:
        materials.enter(clip)
    orders = [p.order for p in active]
    for block_start in range(start, end, block):
        block_end = min(block_start + block, end)
        while next_clip < len(placed) and placed[next_clip].start < block_end:
            entering = placed[next_clip]
            next_clip += 1
            materials.enter(entering)
            slot = bisect.bisect_left(orders, entering.order)
            active.insert(slot, entering)
            orders.insert(slot, entering.order)
        if out is None:
            bus = np.zeros((channels, block_end - block_start), dtype=np.float32)
        else:
            bus = out[:, block_start - start : block_end - start]
        for clip in active:
            mix_into(bus, block_start, clip)
        if any(p.end <= block_end for p in active):
            for clip in active:
                if clip.end <= block_end:
                    materials.leave(clip)
            active = [p for p in active if p.end > block_end]
            orders = [p.order for p in active]
        yield bus


def render(
    timeline: Timeline, start: int = 0, end: int | None = None, *, materials: MaterialCache | None = None
) -> np.ndarray:
    """Render ``[start, end)`` of ``timeline``: exactly ``end - start`` frames, float32 ``(channels, n)``.

    ``end=None`` renders to the end of the last sounding clip. The work is the streaming sweep writing
    into one output array, so the result is identical to joining :func:`render_blocks`.

    Examples
    --------
    >>> import numpy as np
    >>> from mixdown.engine import Clip, Source, Timeline, Track
    >>> hit = Source(np.full((1, 1_000), 0.5, dtype=np.float32), 48_000, "hit")
    >>> timeline = Timeline(48_000, [Track([Clip(hit, position=0), Clip(hit, position=2_000, gain=0.5)])])
    >>> render(timeline).shape, render(timeline, 500, 1_500).shape
    ((2, 3000), (2, 1000))
    """
    start, end = _check_range(timeline, start, end)
    placed = plan(timeline)
    out = np.zeros((timeline.channels, end - start), dtype=np.float32)
    for _ in _sweep(placed, _materials(timeline, materials), timeline.channels, start, end, DEFAULT_BLOCK_FRAMES,
                    out):
        pass
    return out
