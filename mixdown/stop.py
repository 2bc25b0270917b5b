"""A stop asked for by SIGTERM or SIGINT, noticed even where the exception raised for it was swallowed.

The signal handler of :mod:`mixdown.runtime` raises :class:`Terminated` wherever the main thread is. Some
of those places cannot pass an exception on (a ctypes callback of llvmlite while numba compiles, a
destructor): the exception is printed as "ignored" and the work goes on. So the handler also records the
stop here, and the loops that write output call :func:`check` between blocks, raising it again.
"""

from __future__ import annotations

import signal

_requested: int | None = None


class Terminated(KeyboardInterrupt):
    """A signal asked the process to stop; a KeyboardInterrupt, so code that handles Ctrl-C handles it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def request(signum: int | None) -> None:
    """Record a stop (``None`` clears it)."""
    global _requested
    _requested = signum


def requested() -> int | None:
    return _requested


def check() -> None:
    """Raise :class:`Terminated` if a stop was asked for."""
    if _requested is not None:
        raise Terminated(_requested)
