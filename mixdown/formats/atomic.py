"""Atomic output: write beside the target, then rename into place.

A failure at any point removes the temporary file and leaves whatever was at the target untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mixdown.errors import OutputPathError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success it replaces ``target``.

    The temporary name keeps ``target``'s suffix so that libraries choosing a format by extension
    still see the right one.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"folder {str(folder)!r} does not exist", field="output")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}", dir=folder)
    except OSError as error:
        raise OutputPathError(f"cannot write in {str(folder)!r}: {error.strerror}", field="output") from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
