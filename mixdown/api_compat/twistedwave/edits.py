"""Offline editor commands: each is one call of :mod:`mixdown.engine.edits` (or ``resample``), plus what
the command does to the document's markers.

Markers are ``[sample, name]`` pairs kept sorted by position. An edit that removes audio removes the
markers in it and moves the later ones back; one that inserts audio moves later markers on; one that
stretches a region scales the markers in it; a rate conversion scales them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mixdown.api_compat.twistedwave import models
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.engine import edits, resample
from mixdown.errors import InvalidInputError

Markers = list[list]

#: Crossfades when a command gives no ``length``: shortened to what fits.
DELETE_CROSSFADE_S = 0.010
LOOP_CROSSFADE_S = 0.050

#: The request attribute an engine error's field is about.
_ATTRIBUTE = {"target_dbfs": "level", "target_lufs": "lufs", "true_peak_dbtp": "true_peak", "ratio": "speed",
              "channels": "command", "audio": "selection", "direction": "command"}


@dataclass
class Take:
    """One state of a document: its audio, rate and markers (what an undo step restores)."""

    audio: np.ndarray
    sample_rate: int
    markers: Markers = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.audio.shape[1]

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _sorted(markers: Markers) -> Markers:
    return sorted(([int(position), name] for position, name in markers), key=lambda marker: marker[0])


def replace_region(markers: Markers, begin: int, end: int, length: int) -> Markers:
    """Markers after ``[begin, end)`` became ``length`` frames: those in it scale (or go, for 0 frames),
    later ones move by the change in length."""
    moved = []
    for position, name in markers:
        if position < begin or (position == begin == end):
            moved.append([position if position < begin else position + length, name])
        elif position < end:
            if length:
                moved.append([begin + (position - begin) * length // (end - begin), name])
        else:
            moved.append([position + length - (end - begin), name])
    return _sorted(moved)


def keep_region(markers: Markers, begin: int, end: int) -> Markers:
    """Markers of ``[begin, end)`` when only that region is kept."""
    return [[position - begin, name] for position, name in markers if begin <= position < end]


def _loop_markers(markers: Markers, begin: int, end: int, length: int) -> Markers:
    """Markers after :func:`~mixdown.engine.edits.loop_crossfade`: those of the tail now open the loop."""
    moved = []
    for position, name in markers:
        if position < end - length:
            moved.append([position, name])
        elif position < end:
            moved.append([begin + position - (end - length), name])
        else:
            moved.append([position - length, name])
    return _sorted(moved)


def _fits(take: Take, command: models.Command, value: float | None, default_s: float, room: int) -> int:
    if value is not None:
        return command.frames(value, take.sample_rate)
    return min(room, math.floor(default_s * take.sample_rate + 0.5))


def run_command(command: models.Command, take: Take) -> Take:
    """Apply one command (not ``undo``/``redo``, which move through the history) to ``take``."""
    name = command.command
    rate = take.sample_rate
    audio = take.audio
    markers = take.markers
    if isinstance(command, models.Selected):
        begin, end = command.span(rate)
        stop = take.frames if end is None else end
    if name == "amplify":
        return Take(edits.amplify(audio, command.gain, begin, end), rate, markers)
    if name == "normalize":
        if command.lufs is None:
            level = 0.0 if command.level is None else command.level
            return Take(edits.normalize(audio, rate, begin, end, peak_dbfs=level), rate, markers)
        ceiling = -1.0 if command.true_peak is None else command.true_peak
        return Take(edits.normalize(audio, rate, begin, end, lufs=command.lufs, true_peak_dbtp=ceiling), rate,
                    markers)
    if name in ("fade-in", "fade-out"):
        direction = "in" if name == "fade-in" else "out"
        return Take(edits.fade(audio, begin, end, direction=direction, curve=command.curve), rate, markers)
    if name == "reverse":
        flipped = [[begin + stop - 1 - p if begin <= p < stop else p, n] for p, n in markers]
        return Take(edits.reverse(audio, begin, end), rate, _sorted(flipped))
    if name == "crop":
        return Take(edits.crop(audio, begin, end), rate, keep_region(markers, begin, stop))
    if name in ("cut", "delete"):
        return Take(edits.delete(audio, begin, end), rate, replace_region(markers, begin, stop, 0))
    if name == "delete-crossfade":
        room = min(stop - begin, max(0, take.frames - stop))
        length = _fits(take, command, command.length, DELETE_CROSSFADE_S, room)
        out = edits.delete_crossfade(audio, begin, end, length, command.curve)
        return Take(out, rate, replace_region(markers, begin, stop, 0))
    if name == "insert-silence":
        position = command.frames(command.position, rate)
        length = command.frames(command.length, rate)
        out = edits.insert_silence(audio, position, length)
        return Take(out, rate, replace_region(markers, position, position, length))
    if name == "silence":
        return Take(edits.silence(audio, begin, end), rate, markers)
    if name == "invert-polarity":
        return Take(edits.invert_polarity(audio, begin, end), rate, markers)
    if name == "remove-dc":
        return Take(edits.remove_dc(audio, begin, end), rate, markers)
    if name == "convert-to-mono":
        return Take(edits.to_mono(audio), rate, markers)
    if name == "convert-to-stereo":
        return Take(edits.to_stereo(audio), rate, markers)
    if name == "convert-sampling-rate":
        out = resample(audio, rate, command.sample_rate)
        scaled = [[min(out.shape[1], (2 * p * command.sample_rate + rate) // (2 * rate)), n] for p, n in markers]
        return Take(out, command.sample_rate, scaled)
    if name == "pitch-speed":
        out = edits.pitch_speed(audio, rate, begin, end, speed=command.speed, semitones=command.semitones,
                                varispeed=command.varispeed, quality=command.quality)
        length = out.shape[1] - (take.frames - (stop - begin))
        return Take(out, rate, replace_region(markers, begin, stop, length))
    if name == "trim-silences":
        out, first, last = edits.trim_silences(audio, command.threshold)
        return Take(out, rate, keep_region(markers, first, last))
    if name == "loop-crossfade":
        length = _fits(take, command, command.length, LOOP_CROSSFADE_S, (stop - begin) // 2)
        out = edits.loop_crossfade(audio, begin, end, length=length, curve=command.curve)
        return Take(out, rate, _loop_markers(markers, begin, stop, length))
    if name == "add-marker":
        position = command.frames(command.position, rate)
        if position > take.frames:
            raise InvalidInputError(f"{position} is beyond the audio's {take.frames} frames", field="position")
        label = command.name if command.name is not None else f"Marker {len(markers) + 1}"
        return Take(audio, rate, _sorted([*markers, [position, label]]))
    if name == "clear-markers":
        if command.selection is None:
            return Take(audio, rate, [])
        return Take(audio, rate, [[p, n] for p, n in markers if not begin <= p < stop])
    raise AssertionError(f"no offline implementation of {name!r}")  # models.COMMANDS and this list agree


def apply(command: models.Command, take: Take, index: int) -> Take:
    """:func:`run_command`, with an engine refusal turned into an error naming ``edit.commands[index]``."""
    try:
        return run_command(command, take)
    except InvalidInputError as error:
        attribute = _ATTRIBUTE.get(error.field or "", error.field)
        param = f"edit.commands[{index}]" + (f".{attribute}" if attribute else "")
        raise TwistedWaveError(f"{command.command}: {error.message}", param=param) from None


def changes_audio(command: models.Command) -> bool:
    """Whether the command's undo state needs audio of its own (markers alone share the previous one's)."""
    return command.command not in ("add-marker", "clear-markers")
