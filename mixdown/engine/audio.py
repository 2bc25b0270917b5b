"""The engine's one audio convention, checked once at every public boundary.

Audio is ``float32``, shape ``(channels, frames)``, C-contiguous. A 1-D array is read as mono.
"""

from __future__ import annotations

import math

import numpy as np

from mixdown.errors import InvalidInputError


def as_audio(audio: np.ndarray, *, field: str = "audio", allow_non_finite: bool = False) -> np.ndarray:
    """Return ``audio`` as a C-contiguous float32 ``(channels, frames)`` array.

    Copies only when the dtype, shape or layout differ. Raises :class:`InvalidInputError` naming ``field``
    for a shape with more than two dimensions, zero channels, or NaN/infinite samples.
    """
    array = np.asarray(audio)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise InvalidInputError(f"expected (channels, frames), got shape {array.shape}", field=field)
    if array.shape[0] == 0:
        raise InvalidInputError("audio has no channels", field=field)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InvalidInputError(f"expected real samples, got dtype {array.dtype}", field=field)
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not allow_non_finite and not np.isfinite(array).all():
        raise InvalidInputError("audio holds NaN or infinite samples", field=field)
    return array


def check_sample_rate(sample_rate: int | float, *, field: str = "sample_rate") -> int:
    """Return ``sample_rate`` as a positive int; a fractional or non-positive rate is an error."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"expected a number of Hz, got {sample_rate!r}", field=field)
    if (isinstance(sample_rate, int) and not 1 <= sample_rate <= 768_000) or not math.isfinite(sample_rate) \
            or sample_rate != int(sample_rate) or not 1 <= sample_rate <= 768_000:
        raise InvalidInputError(f"expected a whole number of Hz in 1..768000, got {repr(sample_rate)[:40]}",
                                field=field)
    return int(sample_rate)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -math.inf
