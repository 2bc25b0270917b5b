"""What the platform models share: strict, finite number types (a string or NaN where a number belongs is an
error), and the base that keeps unknown fields and reports them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]
Positive = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0)]


class PlatformModel(BaseModel):
    """Base of a platform object that keeps fields it does not know, as the platforms do.

    ``documented`` names fields the platform defines that mixdown does not use (a clip's ``color``): they
    are kept silently. Any other unknown field is kept too, and :func:`unknown_fields` reports it, so a
    typo such as ``"volumne"`` is visible instead of silently ignored. A model whose object is open by
    design (Songclip's ``context``) sets ``open = True``.
    """

    model_config = ConfigDict(extra="allow")
    documented: ClassVar[frozenset[str]] = frozenset()
    open: ClassVar[bool] = False


def unknown_fields(value: Any, location: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The location of every unknown field under ``value`` (a validated model, or lists/dicts of them).

    Locations are tuples as in pydantic's errors (``("tracks", 0, "clips", 1, "volumne")``), for each
    adapter to spell in its platform's field-path style.
    """
    found: list[tuple[str | int, ...]] = []
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += unknown_fields(getattr(value, name), (*location, name))
        extra = value.model_extra or {}
        if isinstance(value, PlatformModel) and not value.open:
            found += [(*location, name) for name in extra if name not in value.documented]
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += unknown_fields(item, (*location, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += unknown_fields(item, (*location, key))
    return found


def unknown_field_warnings(paths: list[str]) -> list[dict[str, str]]:
    """The ``warnings`` of a reply: one ``{"field", "message"}`` per unknown field path."""
    return [{"field": path, "message": "unknown field, kept but not used"} for path in paths]
