"""The one way platform bodies, job files and manifests are read: strict JSON, bounded, with errors that
name the field and say what is wrong in words (never a decoder's traceback).

Strict means standard JSON only: ``NaN`` and ``Infinity`` are not numbers, and a number too large for a
float (``1e400``) is refused rather than read as infinity. Nesting is bounded (:data:`MAX_DEPTH`), so
a document cannot exhaust the interpreter's stack here or in the validation after.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mixdown.errors import InvalidInputError

#: Deepest nesting of arrays and objects accepted; platform documents use fewer than ten levels.
MAX_DEPTH = 64


class _RefusedError(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _RefusedError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RefusedError(f"the number {text[:40]} is too large")
    return value


def _problem(value: Any) -> str | None:
    """What makes decoded JSON unusable: nesting deeper than :data:`MAX_DEPTH`, or a string (or key) with a
    lone surrogate (``"\\udcff"`` decodes, but no reply or file name can be written with it)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            item = [item]
        elif isinstance(item, dict):
            if depth > MAX_DEPTH:
                return f"is nested deeper than {MAX_DEPTH} levels"
            stack.extend((key, depth) for key in item)
            item = list(item.values())
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return f"is nested deeper than {MAX_DEPTH} levels"
        else:
            continue
        for child in item:
            if isinstance(child, str):
                try:
                    child.encode("utf-8")
                except UnicodeEncodeError:
                    return "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text"
            elif isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return None


def parse_json(data: bytes | str, field: str | None = None, *, name: str = "the document") -> Any:
    """Decode ``data`` (UTF-8 bytes, a byte order mark allowed, or text).

    Raises :class:`InvalidInputError` naming ``field`` for text that is not UTF-8, malformed JSON,
    NaN/Infinity, a number out of range or nesting deeper than :data:`MAX_DEPTH`; ``name`` says what was
    read (a file name, ``line 3``).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InvalidInputError(f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                                    f"{error.start})", field=field) from None
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_float)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{name} is not valid JSON: {error.msg} at line {error.lineno} column "
                                f"{error.colno}", field=field) from None
    except RecursionError:
        raise InvalidInputError(f"{name} is nested deeper than {MAX_DEPTH} levels", field=field) from None
    except ValueError as error:  # _RefusedError, and integers past Python's digit limit
        text = str(error) if isinstance(error, _RefusedError) else "an integer has too many digits"
        raise InvalidInputError(f"{name} is not valid JSON: {text}", field=field) from None
    problem = _problem(value)
    if problem is not None:
        raise InvalidInputError(f"{name} {problem}", field=field)
    return value


def load_json(path: str | Path, field: str | None = None) -> Any:
    """Read and decode the JSON file ``path`` (see :func:`parse_json`); a missing or unreadable file, a
    folder or a FIFO is an :class:`InvalidInputError` naming ``field``."""
    path = Path(path)
    try:
        if not path.exists():
            raise InvalidInputError(f"cannot read {str(path)[:200]!r}: no such file", field=field)
        if not path.is_file():
            kind = "a folder" if path.is_dir() else "a FIFO, socket or device"
            raise InvalidInputError(f"cannot read {str(path)[:200]!r}: it is {kind}, not a file", field=field)
        data = path.read_bytes()
    except (OSError, ValueError) as error:
        if isinstance(error, InvalidInputError):
            raise
        reason = getattr(error, "strerror", None) or str(error)
        raise InvalidInputError(f"cannot read {str(path)[:200]!r}: {reason}", field=field) from None
    return parse_json(data, field, name=path.name)
