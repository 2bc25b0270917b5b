"""The one rounding of a time into whole frames, shared by the platform adapters and the output ranges of
:mod:`mixdown.formats`: half up, and refused (naming the field) past what any timeline can address."""

from __future__ import annotations

import math
from typing import Any

from mixdown.errors import InvalidInputError

#: The largest frame position or length a time may turn into: 2**53, the last whole number a float holds
#: exactly (about 6,400 years at 44.1 kHz).
MAX_FRAMES = 2**53
#: The highest sample rate any time may be counted at (the TwistedWave rate conversion's ceiling).
MAX_SAMPLE_RATE = 768_000
#: The longest render (or edited document) a request may ask for unless the caller allows more, in
#: seconds: 24 hours. Larger requests are refused before any audio is made. ``mixdown render``, the Python
#: API, TwistedWave jobs and ``mixdown serve`` share it, so what one renders the others render too (a
#: server's operator lowers it with ``--max-duration``).
DEFAULT_MAX_DURATION_S = 24 * 3600.0


def whole_frames(exact: float | int, field: str, given: Any = None) -> int:
    """``exact`` (a time already multiplied out to frames) rounded half up to a whole number of frames.

    Raises :class:`InvalidInputError` naming ``field`` (and repeating ``given``, the value as the request
    gave it) when the product is not finite or beyond :data:`MAX_FRAMES` either way.
    """
    try:
        exact = float(exact)
    except OverflowError:  # a whole number past any float (a JSON integer of 400 digits)
        exact = math.inf
    if not math.isfinite(exact) or abs(exact) > MAX_FRAMES:
        value = repr(exact if given is None else given)[:60]
        raise InvalidInputError(f"{value} is beyond the longest timeline mixdown can address (2**53 samples)",
                                field=field)
    return math.floor(exact + 0.5)


def check_addressable(value: float, field: str, *, seconds: bool) -> None:
    """Refuse, before any audio is known, a time that no rate up to :data:`MAX_SAMPLE_RATE` can address."""
    whole_frames(value * MAX_SAMPLE_RATE if seconds else value, field, value)
