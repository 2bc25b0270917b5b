"""The Songclip create event (``POST /songclips``), with start, end and fades in milliseconds."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StrictInt, StrictStr, model_validator

from mixdown.api_compat.fields import PlatformModel, non_finite

Milliseconds = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class Context(PlatformModel):
    """Who the clip is for: Songclip requires an anonymised ``uniqueId`` for activity reporting; any other
    field (``sourcePlatform``, ``tags``) is the caller's, kept and echoed."""

    open: ClassVar[bool] = True
    uniqueId: StrictStr = Field(min_length=1)

    @model_validator(mode="after")
    def _echoable(self) -> Context:
        """The context is echoed in the reply, which is JSON: NaN and infinities cannot be written there."""
        where = non_finite(self.model_extra or {})
        if where is not None:
            raise ValueError(f"{where} is not a finite number (NaN and Infinity are not JSON)")
        return self


class ClipSpec(PlatformModel):
    """A create event; an unknown field is kept and reported as a warning."""

    context: Context
    start: Milliseconds
    end: Milliseconds
    fadeIn: Milliseconds = 0.0
    fadeOut: Milliseconds = 0.0
    tags: list[StrictStr] = Field(default_factory=list)
    songId: StrictStr | StrictInt | None = None
