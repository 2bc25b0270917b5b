"""Treated clip audio (reversed, stretched, pitch-shifted), computed once per distinct treatment.

A treatment is what turns a source range into the audio a clip plays: the range, reverse, speed ratio and
pitch offset, at the timeline's stretch quality. Clips sharing a treatment share one array: a one-shot
placed 400 times is stretched once. The renderer acquires a material when a clip enters its sweep and
releases it when the clip is done; released materials stay in a least-recently-used pool of bounded size,
so a long render holds only what its active clips need plus that pool.

How much of its spectral envelope a pitch-shifted clip keeps in place is read once per source, from the
whole source (:func:`~mixdown.engine.stretch.formant_amount`), so every clip of one sample is shifted alike,
however short its range.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from mixdown.engine.stretch import formant_amount, stretch
from mixdown.engine.timeline import Clip, Source

DEFAULT_POOL_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class Treatment:
    """The processing a clip's source range needs before mixing."""

    source: Source
    start: int
    end: int
    reverse: bool
    ratio: float
    semitones: float

    @classmethod
    def of(cls, clip: Clip) -> Treatment:
        return cls(clip.source, clip.source_start, clip.source_end, clip.reverse, clip.speed_ratio,
                   clip.pitch_semitones)

    @property
    def key(self) -> tuple:
        """Identifies the material; holds the source itself (compared by identity), which also keeps it
        alive while its material is cached, so a key can never be confused with a later source's."""
        return (self.source, self.start, self.end, self.reverse, self.ratio, self.semitones)


class MaterialCache:
    """Reference-counted treated audio with an LRU pool of released arrays up to ``pool_bytes``.

    One cache may serve many renders (a batch worker keeps one for its whole life): materials are keyed by
    treatment, stretch quality and varispeed.
    """

    def __init__(self, pool_bytes: int = DEFAULT_POOL_BYTES):
        self.pool_bytes = pool_bytes
        self._held: dict[tuple, list] = {}
        self._pool: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._pool_size = 0
        self._formants: weakref.WeakKeyDictionary[Source, float] = weakref.WeakKeyDictionary()
        self.computed = 0

    def acquire(self, treatment: Treatment, quality: str, varispeed: bool) -> np.ndarray:
        key = (*treatment.key, quality, varispeed)
        held = self._held.get(key)
        if held is not None:
            held[1] += 1
            return held[0]
        material = self._pool.pop(key, None)
        if material is None:
            material = self._compute(treatment, quality, varispeed)
        else:
            self._pool_size -= material.nbytes
        self._held[key] = [material, 1]
        return material

    def release(self, treatment: Treatment, quality: str, varispeed: bool) -> None:
        key = (*treatment.key, quality, varispeed)
        held = self._held[key]
        held[1] -= 1
        if held[1] > 0:
            return
        del self._held[key]
        material = held[0]
        if material.nbytes > self.pool_bytes:
            return
        self._pool[key] = material
        self._pool_size += material.nbytes
        while self._pool_size > self.pool_bytes:
            _, evicted = self._pool.popitem(last=False)
            self._pool_size -= evicted.nbytes

    def _compute(self, treatment: Treatment, quality: str, varispeed: bool) -> np.ndarray:
        self.computed += 1
        segment = treatment.source.audio[:, treatment.start : treatment.end]
        if treatment.reverse:
            segment = segment[:, ::-1]
        formants = None
        if treatment.semitones != 0 and not varispeed:
            formants = self._formants.get(treatment.source)
            if formants is None:
                formants = formant_amount(treatment.source.audio, treatment.source.sample_rate)
                self._formants[treatment.source] = formants
        out = stretch(segment, treatment.source.sample_rate, treatment.ratio, treatment.semitones, quality=quality,
                      varispeed=varispeed, formants=formants)
        out.flags.writeable = False
        return out
