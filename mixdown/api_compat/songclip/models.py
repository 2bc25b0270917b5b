"""The Songclip create event (``POST /songclips``), with start, end and fades in milliseconds."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Milliseconds = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]


class Context(BaseModel):
    """Who the clip is for: Songclip requires an anonymised ``uniqueId`` for activity reporting."""

    model_config = ConfigDict(extra="allow")
    uniqueId: StrictStr = Field(min_length=1)


class ClipSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    context: Context
    start: Milliseconds
    end: Milliseconds
    fadeIn: Milliseconds = 0.0
    fadeOut: Milliseconds = 0.0
    tags: list[StrictStr] = Field(default_factory=list)
    songId: StrictStr | StrictInt | None = None
