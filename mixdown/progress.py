"""The one progress line every long ``mixdown`` command shows on a terminal's stderr.

It appears only when stderr is a terminal, never with ``--json`` or ``-q``, and only once the work has run
for a second, so quick commands and pipes see nothing. Work with a known size (frames rendered, jobs
done) shows a bar with a rate and an ETA; work without one shows what it is doing and the time spent. A job
of several steps (decode, process, encode) shows one bar over all of them, each step a share of it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

#: Seconds of work before the line appears.
DELAY_S = 1.0
#: How often the line is redrawn while a step of unknown length runs (its clock keeps moving).
TICK_S = 0.5

_BAR = "{desc}: {percentage:3.0f}%|{bar:28}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}{postfix}]"
_STAGE = "{desc} [{elapsed}{postfix}]"
#: The bar of a job counted in shares of its steps: the counts would be in no unit a user knows.
_SHARES = "{desc}: {percentage:3.0f}%|{bar:28}| [{elapsed}<{remaining}{postfix}]"
#: Resolution of a bar counted in shares.
SHARES = 1000


def wanted(args: argparse.Namespace, stream: TextIO | None = None) -> bool:
    """Whether ``args`` (a parsed ``mixdown`` command) may show progress on ``stream`` (default stderr)."""
    stream = stream or sys.stderr
    if getattr(args, "json", False) or getattr(args, "quiet", False):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A progress line: call it with ``(done, total)``, or name each ``stage`` of work of unknown size.

    A disabled ``Progress`` accepts every call and shows nothing, so commands call it unconditionally.
    """

    def __init__(self, label: str, *, enabled: bool, unit: str = "", stream: TextIO | None = None,
                 delay: float = DELAY_S) -> None:
        self.label = label
        self.unit = unit
        self._delay = delay
        self._started = time.monotonic()
        self._bar = tqdm(total=None, desc=label, unit=unit, disable=not enabled, file=stream or sys.stderr,
                         delay=delay, bar_format=_STAGE, leave=False, dynamic_ncols=True, unit_scale=bool(unit))
        self._sized_format = _BAR
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if enabled:
            self._ticker = threading.Thread(target=self._tick, name="mixdown-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            self._redraw()

    def _redraw(self) -> None:
        if time.monotonic() - self._started >= self._delay:
            self._bar.refresh()

    @property
    def enabled(self) -> bool:
        return not self._bar.disable

    def __call__(self, done: int, total: int | None = None, note: str | None = None) -> None:
        """``done`` of ``total`` units so far (absolute, not an increment); ``note`` trails the line."""
        if not self.enabled:
            return
        sized = total is not None and total != self._bar.total
        if sized:
            self._bar.total = total
            self._bar.bar_format = self._sized_format
        if note is not None:
            self._bar.set_postfix_str(note, refresh=False)
        self._bar.update(done - self._bar.n)
        if sized:
            self._redraw()

    def share(self, start: float, stop: float) -> Callable[[int, int | None], None]:
        """A ``(done, total)`` callback for one step of a job shown as one bar, the step covering the
        fraction ``[start, stop]`` of it (weigh steps by their expected time). A step of unknown total
        holds the bar at ``start``."""
        self._sized_format = _SHARES

        def report(done: int, total: int | None) -> None:
            fraction = min(done / total, 1.0) if total else 0.0
            self(round(SHARES * (start + (stop - start) * fraction)), SHARES)

        return report

    def stage(self, what: str) -> None:
        """Say what the command is doing now (``decoding``, ``encoding``), for work of unknown size."""
        if self.enabled:
            self._bar.set_description_str(f"{self.label}: {what}", refresh=False)
            self._redraw()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._redraw()
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def progress_for(args: argparse.Namespace, label: str, *, unit: str = "") -> Progress:
    """The progress line of the command ``args`` describes (shown only when :func:`wanted`)."""
    return Progress(label, enabled=wanted(args), unit=unit, delay=DELAY_S)
