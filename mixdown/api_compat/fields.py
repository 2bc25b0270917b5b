"""What every platform adapter shares at its boundary: strict number types, the base that keeps unknown
fields and reports them, the one conversion of times to whole frames (with its bounds), the maximum
render length, field paths from pydantic errors, and values echoed in error messages (shortened).

Seconds, milliseconds and beats exist only in the adapters; each turns them into frames by computing the
exact product its contract states and passing it to :func:`whole_frames`, which rounds half up and
refuses what no timeline can address (an overflow to infinity, NaN, or more than :data:`MAX_FRAMES`).
"""

from __future__ import annotations

import math
import reprlib
import warnings
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mixdown.errors import InvalidInputError
from mixdown.frames import DEFAULT_MAX_DURATION_S, MAX_FRAMES, whole_frames

# re-exported: the adapters' one conversion of times to frames, and their default render limit
__all__ = ["DEFAULT_MAX_DURATION_S", "MAX_FRAMES", "whole_frames"]

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]
Positive = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0)]

#: Characters of a bad value an error message repeats.
SHOWN_CHARS = 60

_repr = reprlib.Repr()
_repr.maxstring = SHOWN_CHARS
_repr.maxother = SHOWN_CHARS
_repr.maxlong = SHOWN_CHARS // 2
_repr.maxlist = _repr.maxdict = _repr.maxtuple = 4
_repr.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)`` shortened for an error message (a 100 kB string is shown by its first characters)."""
    return _repr.repr(value)


def check_duration(frames: int, sample_rate: int, max_duration: float | None, field: str) -> None:
    """Refuse a render of ``frames`` frames longer than ``max_duration`` seconds (``None``: the default;
    0: no limit)."""
    limit = DEFAULT_MAX_DURATION_S if max_duration is None else max_duration
    if limit and frames > limit * sample_rate:
        raise InvalidInputError(f"the render would last {frames / sample_rate:.6g} s, over the {limit:g} s limit "
                                "(raise it with --max-duration)", field=field)


def finite_number(value: Any) -> float:
    """``value`` as a finite float: a JSON integer of 400 digits or a string such as ``"1e999"`` is refused
    with ``ValueError`` (as pydantic validators raise), never ``OverflowError``."""
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{shown(value)} is too large") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {shown(value)}")
    return number


def non_finite(value: Any, path: str = "", *, text: bool = False) -> str | None:
    """The path of the first NaN or infinity in nested JSON-like data (it cannot be written back as JSON);
    with ``text``, also of the first string (or key) holding a lone surrogate, which UTF-8 cannot carry."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if text and isinstance(item, str) and not _encodable(item):
            return where
        if isinstance(item, dict):
            for key in item:
                if text and isinstance(key, str) and not _encodable(key):
                    return where
            stack.extend((f"{where}.{key}" if where else str(key), child) for key, child in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{where}[{index}]", child) for index, child in reversed(list(enumerate(item))))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_tag(part: Any, current: Any, last: bool) -> bool:
    """Whether a pydantic location part names a union member or a validator (``str``, ``int``,
    ``function-after[...]``) rather than a key of the input."""
    if not isinstance(part, str):
        return False
    if isinstance(current, dict):
        return part not in current and not last
    return True


#: Location parts pydantic adds for a union member or a validator, when the input is not at hand.
_TAG_NAMES = frozenset(("str", "int", "float", "bool", "bytes", "none", "any", "model", "dict", "list"))


def _looks_like_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in _TAG_NAMES or "[" in part or part.startswith(("function-",
                                                                                           "constrained-")))


def input_location(location: tuple, document: Any = ...) -> tuple:
    """A pydantic error location with its union tags dropped: only the keys and indexes of the input.

    Without ``document`` the tags are recognised by their names (``str``, ``list[...]``,
    ``function-after[...]``)."""
    if document is ...:
        return tuple(part for part in location if not _looks_like_tag(part))
    kept = []
    current = document
    for index, part in enumerate(location):
        if _is_tag(part, current, index == len(location) - 1):
            continue
        kept.append(part)
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            current = None
    return tuple(kept)


def problems(error: ValidationError, document: Any = ...) -> list[tuple[tuple, str]]:
    """Each failing input location with its message, in order; the failures of a union's members at one
    location are joined (``Input should be a valid string or Input should be a valid integer``)."""
    merged: dict[tuple, list[str]] = {}
    for issue in error.errors(include_url=False, include_input=False):
        message = issue["msg"].removeprefix("Value error, ")
        messages = merged.setdefault(input_location(issue["loc"], document), [])
        if message not in messages:
            messages.append(message)
    return [(location, _joined(messages)) for location, messages in merged.items()]


def _joined(messages: list[str]) -> str:
    if len(messages) > 1 and all(m.startswith("Input should be ") for m in messages):
        return "Input should be " + " or ".join(m.removeprefix("Input should be ") for m in messages)
    return "; ".join(messages)


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
    _collect_unknown(value, location, found)
    return found


_SCALARS = (str, int, float, bool, type(None))


def _collect_unknown(value: Any, location: tuple[str | int, ...], found: list[tuple[str | int, ...]]) -> None:
    """:func:`unknown_fields` into ``found``; scalars (most of a body) are passed over without a call."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            item = getattr(value, name)
            if not isinstance(item, _SCALARS):
                _collect_unknown(item, (*location, name), found)
        extra = value.model_extra
        if extra and isinstance(value, PlatformModel) and not value.open:
            found += [(*location, name) for name in extra if name not in value.documented]
        return
    if isinstance(value, (list, tuple)):
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return
    for key, item in items:
        if not isinstance(item, _SCALARS):
            _collect_unknown(item, (*location, key), found)


def unknown_field_warnings(paths: list[str]) -> list[dict[str, str]]:
    """The ``warnings`` of a reply: one ``{"field", "message"}`` per unknown field path."""
    return [{"field": path, "message": "unknown field, kept but not used"} for path in paths]


class UnknownFieldWarning(UserWarning):
    """A platform body carried a field its platform does not define (kept, not used): likely a typo."""


def warn_unknown(paths: list[str] | tuple[str, ...], body: str) -> None:
    """Python's warning for each unknown field, for API calls whose return value has no ``warnings``."""
    for path in paths:
        warnings.warn(UnknownFieldWarning(f"{body}: unknown field {path!r}, kept but not used"), stacklevel=3)
