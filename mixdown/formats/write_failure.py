"""Turn a failed write (disk full, file-size limit, I/O error) inside any encoder into one typed error.

libsndfile reports every system failure as "System error.", PyAV as its own OSError, pyflac from inside a
callback: :func:`write_failures` catches them around an encoder's writes and names the cause from what the
file system says (free space, the process's file-size limit) when the library does not.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
from collections.abc import Iterator
from pathlib import Path

import soundfile

from mixdown.errors import MixdownError, OutputPathError


def failure_reason(path: Path, error: BaseException | None = None) -> str:
    """The most specific reason a write to ``path`` failed."""
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on the device"
    if code == errno.EFBIG:
        return "the file-size limit was reached"
    with contextlib.suppress(OSError):
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and os.stat(path).st_size >= limit - 65_536:
            return "the file-size limit was reached"
    with contextlib.suppress(OSError):
        space = os.statvfs(path.parent)
        if space.f_bavail * space.f_frsize < 1 << 20:
            return "no space left on the device"
    text = getattr(error, "strerror", None) or str(error or "") or "the write failed"
    return text.rstrip(".")


@contextlib.contextmanager
def write_failures(path: Path, format_name: str) -> Iterator[None]:
    """Re-raise any library or system failure while writing ``path`` as :class:`OutputPathError`."""
    try:
        yield
    except MixdownError:
        raise
    except (OSError, soundfile.SoundFileRuntimeError) as error:
        if isinstance(error, BrokenPipeError):
            raise
        raise OutputPathError(f"cannot write the {format_name} output: {failure_reason(path, error)}",
                               field="output") from None
