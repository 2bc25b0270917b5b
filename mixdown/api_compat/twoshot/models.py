"""pydantic models of the TwoShot project JSON and render request, as the API document shows them.

Unknown extra fields are kept (TwoShot adds fields over time; a renderer must not reject them) and reported
as warnings (:func:`mixdown.api_compat.fields.unknown_fields`), except those TwoShot documents and mixdown does
not use (``documented``). Numbers are
strict: a string where a number belongs is an error, except ``speed``, which the studio may send as a numeric
string (``"1.5"``). NaN and infinities are errors everywhere. Units are those of ``shared/docs/twoshot-project.md``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mixdown.api_compat.fields import NonNegative, Number, PlatformModel, Positive, finite_number, shown

Unit = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1.0)]
PanValue = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1.0, le=1.0)]
Identifier = StrictStr | StrictInt

TEMPO_SYNC = "tempo-sync"


class _Model(PlatformModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class AudioSource(_Model):
    """Where a clip's audio comes from: an ``audioId``, or a ``sampleId`` resolved through the library."""

    audioId: StrictStr | None = None
    sampleId: Identifier | None = None
    duration: NonNegative | None = None
    tempo: Positive | None = None

    @model_validator(mode="after")
    def _names_audio(self) -> AudioSource:
        if self.audioId is None and self.sampleId is None:
            raise ValueError("a source needs an audioId or a sampleId")
        return self


class Clip(_Model):
    documented: ClassVar[frozenset[str]] = frozenset({"color"})

    id: Identifier
    name: StrictStr | None = None
    position: NonNegative = 0.0
    muted: StrictBool = False
    volume: Unit = 1.0
    source: AudioSource
    pitchOffset: Number = 0.0
    reversed: StrictBool = False
    speed: Any = 1.0
    cutStart: NonNegative | None = None
    cutEnd: NonNegative | None = None
    pan: PanValue = 0.0

    @field_validator("speed")
    @classmethod
    def _speed(cls, value: Any) -> str | float:
        """``"tempo-sync"``, a positive number, or a numeric string such as ``"1.5"``."""
        if value == TEMPO_SYNC:
            return TEMPO_SYNC
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"speed must be \"tempo-sync\" or a positive number, got {shown(value)}")
        try:
            number = finite_number(value.strip() if isinstance(value, str) else value)
        except ValueError:
            raise ValueError(f"speed must be \"tempo-sync\" or a positive finite number, got {shown(value)}") from None
        if number <= 0:
            raise ValueError(f"speed must be \"tempo-sync\" or a positive finite number, got {shown(value)}")
        return number


class Track(_Model):
    id: Identifier
    name: StrictStr | None = None
    clips: list[Clip] = Field(default_factory=list)
    pan: PanValue = 0.0
    loopEvery: Any = None
    volume: Unit = 1.0
    muted: StrictBool = False

    @field_validator("loopEvery")
    @classmethod
    def _loop_every(cls, value: Any) -> str | float | None:
        """Beats between repeats, ``"auto"``, or ``None`` (no looping)."""
        if value is None or value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"loopEvery must be a number of beats, \"auto\" or null, got {shown(value)}")
        try:
            number = finite_number(value)
        except ValueError:
            number = math.inf
        if not math.isfinite(number) or number <= 0:
            raise ValueError(f"loopEvery must be a positive finite number of beats, got {shown(value)}")
        return number


class PlayHead(_Model):
    start: NonNegative = 0.0
    end: NonNegative | None = None

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("start", 0.0)
        if end is not None and end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        return end


class SoloTarget(_Model):
    track: Identifier | None = None
    clip: Identifier | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SoloTarget:
        if (self.track is None) == (self.clip is None):
            raise ValueError('soloTarget must be {"track": id} or {"clip": id}')
        return self


class Project(_Model):
    #: What ``GET /project`` adds around a project's data.
    documented: ClassVar[frozenset[str]] = frozenset({"id", "owner", "public", "created", "updated"})

    name: StrictStr | None = None
    version: StrictStr | None = None
    tempo: Positive | None = None
    grid: NonNegative | None = None
    snapToGrid: StrictBool | None = None
    playHead: PlayHead = Field(default_factory=PlayHead)
    soloTarget: SoloTarget | None = None
    tracks: list[Track] = Field(default_factory=list)


class RenderRequest(_Model):
    """The body of ``POST /project/{id}/render``; ``sampleRate`` is mixdown's addition (Hz)."""

    format: StrictStr = "wav"
    quality: Literal["low", "medium", "high"] = "high"
    startTime: NonNegative | None = None
    endTime: NonNegative | None = None
    sampleRate: Annotated[int, Field(strict=True, ge=8000, le=384_000)] | None = None

    @field_validator("endTime")
    @classmethod
    def _after_start(cls, end: float | None, info: ValidationInfo) -> float | None:
        start = info.data.get("startTime")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"endTime ({end}) must be after startTime ({start})")
        return end
