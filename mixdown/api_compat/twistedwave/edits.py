"""Offline editor commands: each is one call of :mod:`mixdown.engine.edits` (or ``resample``), plus what
the command does to the document's markers.

Markers are ``[sample, name]`` pairs kept sorted by position. An edit that removes audio removes the
markers in it and moves the later ones back; one that inserts audio moves later markers on; one that
stretches a region scales the markers in it; a rate conversion scales them all.

Each undo state also holds the editor's :class:`EditorState`: the cursor, the selection, the clipboard,
the learnt noise profile and the tags. The cursor and the selection's edges move with the audio as
markers do (and fall back inside the audio when what they pointed at is gone); ``cut``, ``delete`` and
``crop`` of the document's selection leave nothing selected and the cursor where the audio was taken
out, ``paste`` and
``paste-over`` the cursor after what they wrote. ``undo`` and ``redo`` restore the whole state, the
clipboard included: it is the document as it was at that step.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mixdown.api_compat.twistedwave import models
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.engine import edits, resample
from mixdown.engine.denoise import NoiseProfile, learn_noise
from mixdown.engine.eq import Band, graphic_bands
from mixdown.engine.stats import analyze
from mixdown.errors import InvalidInputError

Markers = list[list]

#: Crossfades when a command gives no ``length``: shortened to what fits.
DELETE_CROSSFADE_S = 0.010
LOOP_CROSSFADE_S = 0.050

#: The request attribute an engine error's field is about.
_ATTRIBUTE = {"target_dbfs": "level", "target_lufs": "lufs", "true_peak_dbtp": "true_peak", "ratio": "speed",
              "channels": "command", "audio": "selection", "direction": "command", "profile": "command",
              "clipboard": "command", "graphic": "graphic"}

#: Commands that change only the editor's state, never the audio or the markers.
STATE_ONLY = frozenset(("add-marker", "clear-markers", "select-all", "select-none", "select-to-start",
                        "select-to-end", "mark-in", "mark-out", "move-to-start", "move-to-end", "copy", "learn-noise",
                        "metadata"))


@dataclass
class EditorState:
    """What the editor holds besides the audio: cursor and selection (frames), the clipboard (float32
    audio at ``clipboard_rate``), the noise profile ``learn-noise`` took, and the tags ``metadata`` set.
    ``clipboard_file`` and ``profile_file`` name the store's copies of the clipboard and of the profile's
    ``(2, bins)`` mean and spread once saved (None for one a command has just made)."""

    cursor: int = 0
    selection: tuple[int, int] | None = None
    clipboard: np.ndarray | None = None
    clipboard_rate: int | None = None
    clipboard_file: str | None = None
    noise_profile: NoiseProfile | None = None
    profile_file: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Everything but the clipboard's samples and the profile's levels (the store keeps those in files)."""
        profile = self.noise_profile
        return {"cursor": self.cursor, "selection": list(self.selection) if self.selection else None,
                "clipboard": self.clipboard_file, "clipboard_rate": self.clipboard_rate,
                "noise_profile": None if profile is None else {
                    "file": self.profile_file, "sample_rate": profile.sample_rate, "fft_size": profile.fft_size,
                    "frames": profile.frames},
                "tags": self.tags}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, load: Callable[[str], np.ndarray]) -> EditorState:
        """The state :meth:`to_json` wrote; ``load`` reads a file the store kept."""
        data = data or {}
        selection = data.get("selection")
        clipboard = load(data["clipboard"]) if data.get("clipboard") else None
        saved = data.get("noise_profile")
        profile = None
        if saved:
            levels = load(saved["file"])
            profile = NoiseProfile(saved["sample_rate"], saved["fft_size"], levels[0], levels[1], saved["frames"])
        return cls(int(data.get("cursor", 0)), tuple(selection) if selection else None, clipboard,
                   data.get("clipboard_rate"), data.get("clipboard"), profile, saved["file"] if saved else None,
                   dict(data.get("tags") or {}))


@dataclass
class Take:
    """One state of a document: its audio, rate, markers and editor state (what an undo step restores)."""

    audio: np.ndarray
    sample_rate: int
    markers: Markers = field(default_factory=list)
    state: EditorState = field(default_factory=EditorState)

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


def _span(command: models.Selected, take: Take) -> tuple[int, int | None]:
    """The command's own selection, else the document's, else everything (``(0, None)``); a command that
    needs a selection (:class:`~.models.Ranged`) is refused without one."""
    if command.selection is not None:
        return command.span(take.sample_rate)
    if take.state.selection is not None:
        return take.state.selection
    if isinstance(command, models.Ranged):
        raise InvalidInputError("needs a selection: give one, or select first (select-all, mark-in, ...)",
                                field="selection")
    return 0, None


def _conformed_clipboard(take: Take) -> np.ndarray:
    """The clipboard at the document's rate and channel count (mono and stereo convert into each other)."""
    state = take.state
    if state.clipboard is None:
        raise InvalidInputError("the clipboard is empty: copy or cut first", field="clipboard")
    clip = state.clipboard
    if state.clipboard_rate != take.sample_rate:
        clip = resample(clip, state.clipboard_rate, take.sample_rate)
    if clip.shape[0] != take.audio.shape[0]:
        if clip.shape[0] == 1 and take.audio.shape[0] == 2:
            clip = edits.to_stereo(clip)
        elif clip.shape[0] == 2 and take.audio.shape[0] == 1:
            clip = edits.to_mono(clip)
    return clip


def _position_or_cursor(command: models.Command, take: Take) -> int:
    position = command.frames(command.position, take.sample_rate)
    position = take.state.cursor if position is None else position
    if position > take.frames:
        raise InvalidInputError(f"{position} is beyond the audio's {take.frames} frames", field="position")
    return position


def _selecting(command: models.Command, take: Take) -> EditorState | None:
    """The new state of a cursor or selection command, or None for any other command."""
    name, frames, state = command.command, take.frames, take.state
    cursor, selection = state.cursor, state.selection

    def span(begin: int, end: int) -> tuple[int, int] | None:
        return (begin, end) if end > begin else None

    if name == "select-all":
        cursor, selection = 0, span(0, frames)
    elif name == "select-none":
        selection = None
    elif name == "select-to-start":
        selection = span(0, cursor)
    elif name == "select-to-end":
        selection = span(cursor, frames)
    elif name == "mark-in":
        cursor = _position_or_cursor(command, take)
        selection = span(cursor, selection[1] if selection and selection[1] > cursor else frames)
    elif name == "mark-out":
        out = _position_or_cursor(command, take)
        selection = span(selection[0] if selection and selection[0] < out else 0, out)
    elif name in ("move-to-start", "move-to-end"):
        cursor, selection = (0 if name == "move-to-start" else frames), None
    else:
        return None
    return replace(state, cursor=cursor, selection=selection)


def _with_state(command: models.Command, take: Take) -> Take | None:
    """The take after a command that changes only the editor's state, or None for any other command."""
    selected = _selecting(command, take)
    if selected is not None:
        return replace(take, state=selected)
    name, state = command.command, take.state
    if name == "copy":
        begin, end = edits.region(take.frames, *_span(command, take))
        clip = np.ascontiguousarray(take.audio[:, begin:end])
        return replace(take, state=replace(state, clipboard=clip, clipboard_rate=take.sample_rate,
                                           clipboard_file=None))
    if name == "learn-noise":
        begin, end = edits.region(take.frames, *_span(command, take))
        profile = learn_noise(take.audio[:, begin:end], take.sample_rate)
        return replace(take, state=replace(state, noise_profile=profile, profile_file=None))
    if name == "metadata":
        tags = {} if command.clear else dict(state.tags)
        for tag, value in command.changes().items():
            if value:
                tags[tag] = value
            else:
                tags.pop(tag, None)
        return replace(take, state=replace(state, tags={tag: tags[tag] for tag in models.TAG_NAMES if tag in tags}))
    return None


def _moved_state(before: Take, after: Take, positions: Markers) -> EditorState:
    """``before``'s state in ``after``: the cursor and selection edges were carried through the command as
    the markers ``positions`` (0 cursor, 1 and 2 the selection's edges); what the command removed falls
    back to the nearest frame left (the cursor) or clears (the selection)."""
    moved = {name: position for position, name in positions}
    frames = after.frames
    cursor = min(moved.get(0, before.state.cursor), frames)
    selection = None
    if 1 in moved and 2 in moved and moved[1] < moved[2] <= frames:
        selection = (moved[1], moved[2])
    return replace(before.state, cursor=cursor, selection=selection)


def analysis(command: models.Selected, take: Take) -> dict[str, Any]:
    """``analyze``'s report on the command's selection (or the document's, or everything)."""
    begin, end = edits.region(take.frames, *_span(command, take)) if take.frames else (0, 0)
    report = analyze(take.audio[:, begin:end], take.sample_rate).to_dict()
    return {"selection": [begin, end], **report}


def run_command(command: models.Command, take: Take) -> Take:
    """Apply one command (not ``undo``/``redo``, which move through the history) to ``take``; ``analyze``
    changes nothing (its report is :func:`report`'s)."""
    if command.command == "analyze":
        return take
    changed = _with_state(command, take)
    if changed is not None:
        return changed
    state = take.state
    tracked = [] if state.selection is None else [[state.selection[0], 1], [state.selection[1], 2]]
    carried = replace(take, markers=[*take.markers, [state.cursor, 0], *tracked])
    name = command.command
    pasted = 0
    if name in ("paste", "paste-over"):
        result, pasted = _paste(command, carried)
    else:
        result = _run_audio_command(command, carried)
    positions = [marker for marker in result.markers if isinstance(marker[1], int)]
    markers = [marker for marker in result.markers if not isinstance(marker[1], int)]
    if result.frames == take.frames and result.sample_rate == take.sample_rate:
        moved = state  # an effect in place: the cursor and the selection stay where they were
    else:
        moved = _moved_state(take, result, positions)
    if name in ("cut", "delete", "delete-crossfade", "crop"):
        if command.selection is None:  # the document's selection went: nothing is selected any more
            begin = 0 if name == "crop" else edits.region(take.frames, *_span(command, take))[0]
            moved = replace(moved, cursor=begin, selection=None)
        if name == "cut":
            begin, end = edits.region(take.frames, *_span(command, take))
            moved = replace(moved, clipboard=np.ascontiguousarray(take.audio[:, begin:end]),
                            clipboard_rate=take.sample_rate, clipboard_file=None)
    elif pasted:
        moved = replace(moved, cursor=_position_or_cursor(command, take) + pasted, selection=None)
    return Take(result.audio, result.sample_rate, markers, moved)


def _paste(command: models.Paste, take: Take) -> tuple[Take, int]:
    """``paste`` (insert) or ``paste-over`` (overwrite, running past the end if need be) of the clipboard at
    the command's position or the cursor; returns the take and the frames pasted."""
    position = _position_or_cursor(command, take)
    clip = _conformed_clipboard(take)
    length = clip.shape[1]
    if command.command == "paste":
        out = edits.paste(take.audio, position, clip)
        return Take(out, take.sample_rate, replace_region(take.markers, position, position, length)), length
    out = edits.paste_over(take.audio, position, clip)
    grown = out.shape[1] - take.frames
    return Take(out, take.sample_rate, replace_region(take.markers, take.frames, take.frames, grown)), length


def _run_audio_command(command: models.Command, take: Take) -> Take:
    """The audio and markers after a command that changes the audio (its state is ``take``'s, unmoved)."""
    name = command.command
    rate = take.sample_rate
    audio = take.audio
    markers = take.markers
    if isinstance(command, models.Selected):
        begin, end = _span(command, take)
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
        label = command.name if command.name is not None else f"Marker {_named(markers) + 1}"
        return Take(audio, rate, _sorted([*markers, [position, label]]))
    if name == "clear-markers":
        if end is None:
            return Take(audio, rate, [marker for marker in markers if isinstance(marker[1], int)])
        return Take(audio, rate, [[p, n] for p, n in markers if isinstance(n, int) or not begin <= p < stop])
    if name == "graphic-eq":
        bands = [Band(band.type, band.frequency, band.gain_db, *(() if band.q is None else (band.q,)))
                 for band in command.bands]
        if command.graphic is not None:
            bands += graphic_bands(command.graphic, rate)
        return Take(edits.equalize(audio, rate, bands, begin, end, zero_phase=command.zero_phase), rate, markers)
    if name == "denoise":
        if take.state.noise_profile is None:
            raise InvalidInputError("there is no noise profile: run learn-noise on a stretch of noise first",
                                    field="profile")
        profile = take.state.noise_profile
        settings = {key: getattr(command, key) for key in
                    ("reduction_db", "sensitivity", "freq_smoothing_hz", "time_smoothing_ms")}
        return Take(edits.reduce_noise(audio, rate, profile, begin, end, **settings), rate, markers)
    raise AssertionError(f"no offline implementation of {name!r}")  # models.COMMANDS and this list agree


def apply(command: models.Command, take: Take, index: int) -> Take:
    """:func:`run_command`, with an engine refusal turned into an error naming ``edit.commands[index]``."""
    with _naming(command, index):
        return run_command(command, take)


def report(command: models.Selected, take: Take, index: int) -> dict[str, Any]:
    """:func:`analysis` of ``edit.commands[index]`` (errors named as :func:`apply` names them), with the
    command's index."""
    with _naming(command, index):
        return {"command": index, **analysis(command, take)}


@contextlib.contextmanager
def _naming(command: models.Command, index: int) -> Iterator[None]:
    try:
        yield
    except InvalidInputError as error:
        attribute = _ATTRIBUTE.get(error.field or "", error.field)
        param = f"edit.commands[{index}]" + (f".{attribute}" if attribute else "")
        raise TwistedWaveError(f"{command.command}: {error.message}", param=param) from None


def _named(markers: Markers) -> int:
    return sum(1 for marker in markers if not isinstance(marker[1], int))


def predicted_frames(command: models.Command, take: Take) -> int | None:
    """The length a command that only adds audio will give the document, known before it allocates any
    (``None`` for the others, whose result is never much longer than their input)."""
    if command.command == "insert-silence":
        return take.frames + command.frames(command.length, take.sample_rate)
    if command.command == "convert-sampling-rate":
        return -(-take.frames * command.sample_rate // take.sample_rate)
    return None


def changes_audio(command: models.Command) -> bool:
    """Whether the command's undo state needs audio of its own (markers or editor state alone share the
    previous one's)."""
    return command.command not in STATE_ONLY
