"""Every output goes through here: the rules for where and how bytes reach a target.

- A regular file, or a path that does not exist yet, is written atomically: a hidden temporary file in the
  target's real folder (a symlink is followed to the file it names, so the link stays a link and its target
  gets the new content), renamed into place only when the whole output is written. A failure or a signal
  removes the temporary file and leaves whatever was at the target untouched.
- A new file gets mode ``0666 & ~umask``, as ``open()`` would give it; a replaced file keeps its mode.
- A target that is not a regular file (``/dev/null``, a FIFO, a Unix socket, a terminal) is never replaced:
  the output is encoded to a private temporary file (WAV, FLAC, MP3 and M4A headers are completed by seeking
  back, which a pipe cannot do) and then streamed into the target.
- ``-`` is standard output, streamed the same way.
- A folder, or a target in a folder that does not exist, is refused with :class:`OutputPathError`;
  :func:`check_output` says so before any work is done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mixdown.errors import OutputPathError

#: The name that means standard output (and standard input where a file is read).
STDIO = "-"
_COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class OutputTarget:
    """Where an output goes: ``kind`` is ``"file"`` (atomic rename onto ``path``, symlinks resolved),
    ``"stream"`` (a device, FIFO or socket at ``path``) or ``"stdout"``."""

    path: Path
    kind: str
    name: str

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix


def _fail(message: str) -> OutputPathError:
    return OutputPathError(message, field="output")


def check_output(target: str | os.PathLike[str]) -> OutputTarget:
    """Classify ``target`` and refuse what can never be written, before any rendering starts.

    Raises
    ------
    OutputPathError
        For a folder, a path in a folder that does not exist or cannot be written, or an empty name.
    """
    name = os.fspath(target)
    if name == STDIO:
        return OutputTarget(Path(STDIO), "stdout", STDIO)
    if not name:
        raise _fail("the output name is empty")
    try:
        try:
            real = Path(os.path.realpath(name, strict=True))
        except FileNotFoundError:
            real = Path(os.path.realpath(name))  # a missing file, or a link to one: created on write
        info = os.stat(real) if real.exists() else None
    except (OSError, ValueError) as error:
        raise _fail(f"cannot use {name!r} as an output: {getattr(error, 'strerror', None) or error}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise _fail(f"{name!r} is a folder; name a file to write")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return OutputTarget(real, "stream", name)
    if not real.parent.is_dir():
        raise _fail(f"folder {str(Path(name).parent)!r} does not exist")
    if not os.access(real.parent, os.W_OK | os.X_OK):
        raise _fail(f"cannot write in {str(Path(name).parent)!r}: permission denied")
    return OutputTarget(real, "file", name)


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux ``/proc``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_mode(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return stat.S_IMODE(os.stat(path).st_mode)
    return 0o666 & ~current_umask()


def _copy_into(source: Path, sink) -> None:
    with source.open("rb") as data:
        shutil.copyfileobj(data, sink, _COPY_BLOCK)
    sink.flush()


def _stream(source: Path, target: OutputTarget) -> None:
    """Send the finished output into a device, FIFO, socket or standard output."""
    if target.kind == "stdout":
        sys.stdout.flush()
        with open(os.dup(STDOUT_FD), "wb") as sink:
            _copy_into(source, sink)
        return
    if stat.S_ISSOCK(os.stat(target.path).st_mode):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(target.path))
            with connection.makefile("wb") as sink:
                _copy_into(source, sink)
        return
    with open(target.path, "wb") as sink:
        _copy_into(source, sink)


#: File descriptor of the standard output that ``-`` writes to (the CLI points ``sys.stdout`` elsewhere
#: while an output goes there, so replies cannot mix with the audio).
STDOUT_FD = 1


def _temp_in(folder: Path | None, name: str, suffix: str) -> Path:
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{suffix}", dir=folder)
    except OSError as error:
        where = str(folder) if folder else tempfile.gettempdir()
        raise _fail(f"cannot write in {where!r}: {error.strerror}") from None
    os.close(handle)
    return Path(temp)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write the whole output into; on success it reaches ``target``.

    The temporary name keeps ``target``'s suffix (or ``suffix``, for ``-``) so that libraries choosing a
    format by extension still see the right one. See the module's rules for symlinks, devices, FIFOs and
    standard output.
    """
    where = check_output(target)
    suffix = where.suffix if suffix is None else suffix
    mode = _new_mode(where.path) if where.kind == "file" else None
    temp: Path | None = None
    try:
        with _signals_held():
            temp = _temp_in(where.path.parent if mode is not None else None,
                            where.path.name if mode is not None else "mixdown-stream", suffix)
        yield temp
        if mode is None:
            _stream(temp, where)
        else:
            _sync(temp)
            os.chmod(temp, mode)
            os.replace(temp, where.path)
    except OSError as error:
        if isinstance(error, (BrokenPipeError, OutputPathError)) or not error.strerror:
            raise
        raise _fail(f"cannot write {where.name!r}: {error.strerror}") from None
    finally:
        if temp is not None:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a temporary file is created and its name kept, so that a signal
    handler raising there cannot orphan it; a held signal is delivered right after."""
    try:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _sync(path: Path) -> None:
    """Flush the finished file to disk before the rename, so a crash never leaves a renamed empty file."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
