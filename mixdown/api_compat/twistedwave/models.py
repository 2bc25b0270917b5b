"""pydantic models of a TwistedWave job request and of the offline editor commands.

The job body is the document's ("Create a new job"): ``document`` (``id`` or ``url``, ``title``, ``ttl``),
``edit``, ``output``, ``note``, ``delete_document``, ``cancel_other``, and the older ``input`` the document
still mentions. Unknown attributes are errors: a job that would run differently from what its author
meant is refused rather than guessed at. Numbers are strict (a string is not a number, nor a boolean).
``output`` is checked by :func:`mixdown.formats.parse_output`, which owns the format table.

``edit.commands`` is mixdown's offline stand-in for the person at the editor: a list of
``{"command": NAME, "selection": [begin, end], ...}`` in the editor's own command names. Positions,
selections and lengths are samples, or seconds with ``"unit": "seconds"`` (rounded half up, once, at the
document's rate when the command runs). A command without a ``selection`` works on the document's current
selection (set by ``select-all``, ``mark-in``, ...; see :mod:`.edits`), or on the whole document when
nothing is selected; a command's own ``selection`` applies to it alone.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mixdown.api_compat.fields import NonNegative, Number, Positive, shown
from mixdown.api_compat.twistedwave.errors import TwistedWaveError, from_validation
from mixdown.errors import InvalidInputError
from mixdown.frames import MAX_SAMPLE_RATE, check_addressable, whole_frames

Selection = Annotated[list[NonNegative], Field(min_length=2, max_length=2)]
Curve = Literal["linear", "equal-power", "exponential"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _number(value: Any, *, positive: bool = False) -> int | float:
    """A finite number (``bool`` is not one), kept as given so replies echo ``3600`` as ``3600``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"must be greater than 0, got {value!r}")
    if value < 0:
        raise ValueError(f"must be at least 0, got {value!r}")
    return value


class DocumentRequest(_Model):
    """``document`` of a job: an existing ``id``, or a ``url`` to import; a ``title`` and a ``ttl`` (s)."""

    id: StrictStr | None = None
    url: StrictStr | None = None
    title: StrictStr | None = None
    ttl: Any = None

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: Any) -> int | float | None:
        return None if value is None else _number(value, positive=True)


class InputRequest(DocumentRequest):
    """The older ``input`` attribute: a url to import into a new document."""

    url: StrictStr


#: The keys of ``edit.colors`` (document, "Custom Colors").
COLOR_KEYS = (
    "background_top", "background_bottom", "selection_top", "selection_bottom", "markers_top", "markers_bottom",
    "ruler_top", "ruler_bottom", "font_color", "cursor", "markers", "marker_width", "wave", "wave_selected",
    "channel_separator", "center_line", "overview_window", "toolbar_color", "status_bar_color",
)


class EditRequest(_Model):
    """``edit`` of a job: the editor window's options (kept and echoed; offline there is no window) and
    the ``commands`` to apply in its place."""

    max_duration: Any
    recording_format: Literal["raw", "mp3_64", "mp3_128", "mp3_320"] | None = None
    allow_vst_effects: StrictBool | None = None
    allow_recording: StrictBool | None = None
    auto_play: StrictBool | None = None
    show_menu: StrictBool | None = None
    show_title: StrictBool | None = None
    show_status_bar: StrictBool | None = None
    show_overview: StrictBool | None = None
    show_overview_ruler: StrictBool | None = None
    show_main_ruler: StrictBool | None = None
    show_markers: StrictBool | None = None
    show_markers_ruler: StrictBool | None = None
    show_level_meter: StrictBool | None = None
    show_toolbar: StrictBool | None = None
    toolbar_below: StrictBool | None = None
    colors: dict[StrictStr, StrictStr | Number] | None = None
    commands: list[Any] = Field(default_factory=list)

    @field_validator("max_duration")
    @classmethod
    def _max_duration(cls, value: Any) -> int | float:
        return _number(value)

    @field_validator("colors")
    @classmethod
    def _colors(cls, value: dict | None) -> dict | None:
        for key in value or {}:
            if key not in COLOR_KEYS:
                raise ValueError(f"{key!r} is not a color key; allowed: {', '.join(COLOR_KEYS)}")
        return value


class JobRequest(_Model):
    """The body of ``POST /jobs``."""

    document: DocumentRequest | None = None
    input: InputRequest | None = None
    edit: EditRequest | None = None
    output: dict[str, Any] | None = None
    note: StrictStr | None = None
    delete_document: StrictBool | None = None
    cancel_other: StrictBool = False


# --- offline editor commands -------------------------------------------------------------------------


def _whole(value: Any, info: ValidationInfo) -> Any:
    """Positions in samples are whole numbers; times need ``"unit": "seconds"``."""
    seconds = info.data.get("unit", "samples") == "seconds"
    for item in value if isinstance(value, list) else [value]:
        if item is None:
            continue
        try:
            check_addressable(item, info.field_name or "", seconds=seconds)
        except InvalidInputError as error:
            raise ValueError(error.message) from None
        if not seconds and not float(item).is_integer():
            raise ValueError(f"samples are whole numbers, got {item!r}; give \"unit\": \"seconds\" for times")
    return value


class Command(_Model):
    """One editor command; ``unit`` says how its positions and lengths are counted."""

    command: StrictStr
    unit: Literal["samples", "seconds"] = "samples"

    def frames(self, value: float | None, sample_rate: int) -> int | None:
        """A position or length in frames: samples as given, seconds rounded half up at ``sample_rate``."""
        if value is None:
            return None
        if self.unit == "seconds":
            return whole_frames(value * sample_rate, "selection", value)
        return int(value)


class Selected(Command):
    """A command on the selection, or on the whole document when there is none."""

    selection: Selection | None = None

    @field_validator("selection")
    @classmethod
    def _selection(cls, value: list[float] | None, info: ValidationInfo) -> list[float] | None:
        if value is not None and value[1] <= value[0]:
            raise ValueError(f"{_show(value)} must end after it begins")
        return _whole(value, info)

    def span(self, sample_rate: int) -> tuple[int, int | None]:
        """``(begin, end)`` in frames; ``(0, None)`` (everything) without a selection."""
        if self.selection is None:
            return 0, None
        return self.frames(self.selection[0], sample_rate), self.frames(self.selection[1], sample_rate)


def _show(selection: list[float]) -> str:
    return "[" + ", ".join(f"{value:g}" for value in selection) + "]"


class Ranged(Selected):
    """A command that needs a selection (crop, cut, delete, copy): its own, or the document's current one
    (``select-all``, ``mark-in``, ...); without either it is refused when it runs."""


class Amplify(Selected):
    """Gain in dB, within +-400 dB (beyond, a float32 sample overflows or every one rounds to zero)."""

    gain: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-400.0, le=400.0)]


class Normalize(Selected):
    """Peak normalize to ``level`` dBFS (default 0), or loudness normalize to ``lufs`` under ``true_peak``."""

    level: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-100.0, le=0.0)] | None = None
    lufs: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-70.0, le=0.0)] | None = None
    true_peak: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-20.0, le=0.0)] | None = None

    @field_validator("lufs")
    @classmethod
    def _one_target(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("level") is not None:
            raise ValueError("give a peak level or a lufs target, not both")
        return value

    @field_validator("true_peak")
    @classmethod
    def _ceiling(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("lufs") is None:
            raise ValueError("is the ceiling of a lufs target; give lufs too")
        return value


class FadeCommand(Selected):
    curve: Curve = "linear"


class DeleteCrossfade(Ranged):
    """``length`` frames of crossfade after the join (default 10 ms, shortened to what fits)."""

    length: NonNegative | None = None
    curve: Curve = "equal-power"

    _length = field_validator("length")(_whole)


class InsertSilence(Command):
    position: NonNegative = 0.0
    length: Positive

    _positions = field_validator("position", "length")(_whole)


class ConvertSamplingRate(Command):
    sample_rate: Annotated[int, Field(strict=True, ge=1, le=768_000)]


class PitchSpeed(Selected):
    """``speed`` is playback speed (2 is twice as fast), ``semitones`` a pitch offset."""

    speed: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=1 / 16, le=16.0)] = 1.0
    semitones: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-48.0, le=48.0)] = 0.0
    varispeed: StrictBool = False
    quality: Literal["draft", "standard", "high"] = "high"

    @field_validator("varispeed")
    @classmethod
    def _varispeed(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("semitones"):
            raise ValueError("varispeed ties pitch to speed; give speed only, no semitones")
        return value


class TrimSilences(Command):
    """Frames at or under ``threshold`` dBFS on every channel are silence."""

    threshold: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-200.0, le=0.0)] = -60.0


class LoopCrossfade(Selected):
    """``length`` frames of crossfade at the loop point (default 50 ms, shortened to what fits)."""

    length: Positive | None = None
    curve: Curve = "equal-power"

    _length = field_validator("length")(_whole)


class AddMarker(Command):
    position: NonNegative
    name: StrictStr | None = None

    _position = field_validator("position")(_whole)


class Whole(Command):
    """A command on the whole document with no parameters."""


class Marking(Command):
    """``mark-in`` / ``mark-out``: a selection edge at ``position`` (default: the cursor)."""

    position: NonNegative | None = None

    _position = field_validator("position")(_whole)


class Paste(Command):
    """``paste`` / ``paste-over`` the clipboard at ``position`` (default: the cursor)."""

    position: NonNegative | None = None

    _position = field_validator("position")(_whole)


class EqBand(_Model):
    """One parametric band: a cookbook filter (``q`` defaults to 1/sqrt(2))."""

    type: Literal["peak", "low-shelf", "high-shelf", "low-pass", "high-pass", "notch"]
    frequency: Positive
    gain_db: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-60.0, le=60.0)] = 0.0
    q: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.01, le=100.0)] | None = None


class GraphicEq(Selected):
    """``bands`` (parametric) and/or ``graphic`` (10 or 31 gains in dB for the ISO octave or third-octave
    bands); ``zero_phase`` filters forwards and backwards."""

    bands: list[EqBand] = Field(default_factory=list)
    graphic: list[Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-60.0, le=60.0)]] | None = None
    zero_phase: StrictBool = False

    @field_validator("graphic")
    @classmethod
    def _graphic(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and len(value) not in (10, 31):
            raise ValueError(f"a graphic equaliser has 10 or 31 band gains, got {len(value)}")
        return value

    @model_validator(mode="after")
    def _something(self) -> GraphicEq:
        if not self.bands and self.graphic is None:
            raise ValueError("give bands, graphic, or both: an equaliser with no band does nothing")
        return self


class Denoise(Selected):
    """Spectral gating with the profile ``learn-noise`` took (see :mod:`mixdown.engine.denoise`)."""

    reduction_db: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=100.0)] = 12.0
    sensitivity: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=24.0)] = 2.5
    freq_smoothing_hz: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=10_000.0)] = 50.0
    time_smoothing_ms: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1_000.0)] = 40.0


#: The tags ``metadata`` sets, in the order exports write them.
TAG_NAMES = ("title", "artist", "album", "year", "genre", "comment", "track")


class Metadata(Command):
    """Tags the exports carry. A given tag replaces the current one, ``""`` removes it, an absent one is
    kept; ``clear`` removes every tag first."""

    title: StrictStr | None = None
    artist: StrictStr | None = None
    album: StrictStr | None = None
    year: StrictStr | Annotated[int, Field(strict=True, ge=0, le=9999)] | None = None
    genre: StrictStr | None = None
    comment: StrictStr | None = None
    track: StrictStr | Annotated[int, Field(strict=True, ge=1, le=9999)] | None = None
    clear: StrictBool = False

    @field_validator(*TAG_NAMES)
    @classmethod
    def _text(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, str) and ("\0" in value or len(value) > 4096):
            raise ValueError("must be text without NUL characters, at most 4096 characters")
        return value

    def changes(self) -> dict[str, str]:
        """The tags given, as text (``""`` for a removal)."""
        return {name: str(getattr(self, name)) for name in TAG_NAMES if getattr(self, name) is not None}


#: Offline editor commands by the editor's name, and the model of each one's parameters.
COMMANDS: dict[str, type[Command]] = {
    "amplify": Amplify,
    "normalize": Normalize,
    "fade-in": FadeCommand,
    "fade-out": FadeCommand,
    "reverse": Selected,
    "crop": Ranged,
    "cut": Ranged,
    "delete": Ranged,
    "delete-crossfade": DeleteCrossfade,
    "insert-silence": InsertSilence,
    "silence": Selected,
    "invert-polarity": Selected,
    "remove-dc": Selected,
    "convert-to-mono": Whole,
    "convert-to-stereo": Whole,
    "convert-sampling-rate": ConvertSamplingRate,
    "pitch-speed": PitchSpeed,
    "trim-silences": TrimSilences,
    "loop-crossfade": LoopCrossfade,
    "add-marker": AddMarker,
    "clear-markers": Selected,
    "undo": Whole,
    "redo": Whole,
    "select-all": Whole,
    "select-none": Whole,
    "select-to-start": Whole,
    "select-to-end": Whole,
    "mark-in": Marking,
    "mark-out": Marking,
    "move-to-start": Whole,
    "move-to-end": Whole,
    "copy": Ranged,
    "paste": Paste,
    "paste-over": Paste,
    "graphic-eq": GraphicEq,
    "learn-noise": Ranged,
    "denoise": Denoise,
    "metadata": Metadata,
    "analyze": Selected,
}

#: The editor's other command names (document, "send_command"): they drive a window, a clipboard, a
#: microphone or a cloud service, and mean nothing offline.
EDITOR_ONLY = frozenset((
    "center-on-cursor", "close", "dump-db", "export-download", "export-googledrive", "export-soundcloud",
    "fast-forward", "loop", "move-cursor-back", "play", "record", "record-mp3-128", "record-mp3-320", "record-mp3-64",
    "record-raw", "rewind", "select-audio-input", "view-whole-sound", "zoom-in", "zoom-out", "zoom-to-selection",
))


def parse_command(raw: Any, index: int) -> Command:
    """Validate ``edit.commands[index]``; errors name ``edit.commands[index]`` and the attribute."""
    where = f"edit.commands[{index}]"
    if not isinstance(raw, dict):
        raise TwistedWaveError(f"expected a command object, got {type(raw).__name__}", param=where)
    name = raw.get("command")
    if not isinstance(name, str):
        raise TwistedWaveError("is required: the editor's command name, e.g. \"fade-in\"", param=f"{where}.command")
    if name not in COMMANDS:
        if name in EDITOR_ONLY:
            message = f"{name!r} drives the browser editor and has no offline meaning"
        else:
            message = f"unknown command {shown(name)}"
        raise TwistedWaveError(f"{message}; offline commands: {', '.join(COMMANDS)}", param=f"{where}.command")
    try:
        return COMMANDS[name].model_validate(raw)
    except ValidationError as error:
        raise from_validation(error, where, raw) from None


def parse_job(body: Any) -> tuple[JobRequest, list[Command]]:
    """Validate a job request and its edit commands."""
    if not isinstance(body, dict):
        raise TwistedWaveError(f"expected a job object, got {type(body).__name__}")
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as error:
        raise from_validation(error, None, body) from None
    commands = [parse_command(raw, index) for index, raw in enumerate(request.edit.commands if request.edit else [])]
    limit = request.edit.max_duration if request.edit else 0
    for index, command in enumerate(commands):
        if isinstance(command, InsertSilence) and limit:
            longest = limit if command.unit == "seconds" else limit * MAX_SAMPLE_RATE
            if command.length > longest:
                raise TwistedWaveError(f"{shown(command.length)} {command.unit} of silence is longer than "
                                       f"edit.max_duration ({limit:g} s)", param=f"edit.commands[{index}].length")
    return request, commands
