"""Which format an output gets, and its name, when a command has ``-o NAME`` and perhaps a format.

The rule every command follows (``render``, ``songclip``): a format given on the command line wins and
must agree with the name's extension when that names a format; otherwise the extension decides; otherwise
the fallback (the platform body's format, a preset's default). A file name without an extension gets the
format's (``-o p2`` with an mp3 body writes ``p2.mp3``), so no file ever holds one format under another's
name. Standard output (``-``), devices and FIFOs keep their name.
"""

from __future__ import annotations

import os
from pathlib import Path

from mixdown.errors import InvalidInputError
from mixdown.formats.atomic import check_output
from mixdown.formats.table import EXTENSIONS, FORMATS


def _known(name: str) -> str:
    name = EXTENSIONS.get(name.lower(), name.lower())
    if name not in FORMATS:
        raise InvalidInputError(f"format {name!r} is not one of {', '.join(sorted(FORMATS))}", field="format")
    return name


def resolve_output(output: str | os.PathLike[str], requested: str | None, fallback: str) -> tuple[str, str]:
    """``(output name, format)`` by the rule above; raises :class:`InvalidInputError` (field ``format``) for
    an unknown format or one the extension contradicts, and what :func:`check_output` raises."""
    target = check_output(output)
    name = os.fspath(output)
    extension = Path(name).suffix.lstrip(".").lower() if target.kind == "file" else ""
    named = EXTENSIONS.get(extension)
    if requested is not None:
        fmt = _known(requested)
        if named is not None and named != fmt:
            raise InvalidInputError(f"format {fmt!r} does not match the output name {Path(name).name!r}",
                                    field="format")
    else:
        fmt = named or _known(fallback)
    if target.kind == "file" and not extension:
        name = f"{name}.{FORMATS[fmt].extension}"
        check_output(name)
    return name, fmt


def output_container(output: str | os.PathLike[str], requested: str | None, default: str | None) -> str | None:
    """The libsndfile container for ``normalize``/``stretch`` output: ``--format`` when given, else ``None``
    (the extension decides) for a named file with an extension, else ``default`` (standard output, a
    device or FIFO, or a name without an extension)."""
    if requested:
        return requested.upper()
    if os.fspath(output) != "-" and Path(output).suffix:
        return None
    return default
