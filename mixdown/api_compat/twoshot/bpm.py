"""Which tempo a TwoShot clip's audio has, for tempo-sync: the policy, not the detection.

Per the contract (``shared/docs/twoshot-project.md``, rule 3): the clip's ``source.tempo`` wins, else the
sample library's ``bpm``, else the tempo detected on the audio (:func:`mixdown.engine.tempo.detect_bpm`).
Detection may answer "no tempo" (a one-shot, a held note, noise): then the clip plays at its own speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mixdown.engine import Source
from mixdown.errors import MixdownError


@dataclass(frozen=True)
class SourceTempo:
    """A clip audio's tempo and where it came from: ``"project"``, ``"library"``, ``"detected"``, or
    ``"none"`` when detection found no tempo (``bpm`` is then ``None``)."""

    bpm: float | None
    origin: str

    def to_reply(self) -> dict:
        return {"bpm": self.bpm, "origin": self.origin}


def source_tempo(stated: float | None, library: float | None, detect: Callable[[], float | None]) -> SourceTempo:
    """The tempo that wins: ``stated`` (the clip's ``source.tempo``), else ``library``, else ``detect()``."""
    if stated is not None:
        return SourceTempo(float(stated), "project")
    if library is not None:
        return SourceTempo(float(library), "library")
    detected = detect()
    return SourceTempo(detected, "detected" if detected is not None else "none")


def detect_source_bpm(source: Source) -> float | None:
    """The engine's tempo of ``source``'s audio, ``None`` for no tempo (or audio it cannot measure)."""
    # Imported here: translating a project without tempo-synced clips must not load the detector's kernels.
    from mixdown.engine.tempo import detect_bpm

    try:
        return detect_bpm(source.audio, source.sample_rate).bpm
    except MixdownError:
        return None
