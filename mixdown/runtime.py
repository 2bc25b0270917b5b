"""What a command-line run needs around a command: signals, ``-`` for standard input and output, pipes.

- SIGTERM (``timeout``, systemd, docker) and SIGINT (Ctrl-C) raise :class:`Terminated` in the main thread,
  so every ``with`` block unwinds: temporary outputs are removed and a job being rendered is recorded as
  cancelled. A second signal while that cleanup runs is ignored. The handlers are installed only for the
  length of :func:`signals_raise` (the CLI run), never at import, so a notebook's interpreter keeps its own.
- An input argument given as ``-`` reads standard input (spooled to a private temporary file, since
  decoders probe and seek); an output given as ``-`` goes to standard output (see
  :mod:`mixdown.formats.atomic`), and the command's reply then goes to stderr so it cannot mix with the
  audio.
- A closed pipe (``mixdown ... -o - | head -c 100``) ends the command quietly with status 141 (128 +
  SIGPIPE, as a shell reports a process killed by a closed pipe), leaving no temporary file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from mixdown import stop
from mixdown.console import CommandInterruptedError
from mixdown.errors import InvalidInputError
from mixdown.formats.atomic import STDIO
from mixdown.stop import Terminated

#: Argument names that hold a file the command reads.
INPUT_ARGUMENTS = ("file", "input", "project", "spec", "song", "manifest")
EXIT_BROKEN_PIPE = 128 + 13
HANDLED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Terminated` once (and :func:`mixdown.stop.check`
    raises it again where it was swallowed); the old handlers come back after.

    Outside the main thread (where Python cannot install handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.requested() is not None:
            return
        stop.request(signum)
        sys.unraisablehook = _quiet_after_stop
        raise Terminated(signum)

    previous = {number: signal.signal(number, handler) for number in HANDLED}
    hook = sys.unraisablehook
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
        sys.unraisablehook = hook
        stop.request(None)


def _quiet_after_stop(unraisable: object) -> None:
    """Once a stop is raised it may land inside a library's callback or constructor (llvmlite while numba
    loads a kernel), which reports it, or the half-built object's destructor later, as "Exception ignored":
    after a stop those reports are noise on a command that is exiting, so they are dropped."""


@contextlib.contextmanager
def _stdin_bound(args: argparse.Namespace) -> Iterator[None]:
    names = [name for name in INPUT_ARGUMENTS if getattr(args, name, None) == STDIO]
    if not names:
        yield
        return
    if len(names) > 1:
        raise InvalidInputError("only one argument can read standard input", field=names[1])
    with tempfile.TemporaryDirectory(prefix="mixdown-stdin-") as folder:
        spooled = Path(folder) / "stdin"
        with spooled.open("wb") as sink:
            shutil.copyfileobj(sys.stdin.buffer, sink, 1 << 20)
        setattr(args, names[0], str(spooled))
        try:
            yield
        finally:
            setattr(args, names[0], STDIO)


def _quiet_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's last flush cannot complain."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def interrupted_error(stop: KeyboardInterrupt) -> CommandInterruptedError:
    """The typed error for a stop: exit status 130 for Ctrl-C, 128 + the signal for another signal."""
    signum = getattr(stop, "signum", signal.SIGINT)
    error = CommandInterruptedError("interrupted" if signum == signal.SIGINT else
                                    f"terminated by {signal.Signals(signum).name}")
    error.exit_code = 128 + signum
    return error


def run_guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run one command with the rules above; typed errors and :class:`Terminated` propagate to the caller
    (:func:`interrupted_error` turns the latter into the reply)."""
    to_stdout = getattr(args, "output", None) == STDIO
    try:
        with signals_raise(), _stdin_bound(args), contextlib.ExitStack() as stack:
            if to_stdout:
                stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            status = run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        sys.unraisablehook = _quiet_after_stop  # for the destructors that run as the interpreter exits
        raise
