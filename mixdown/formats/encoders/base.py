"""What every encoder is: a sink for float32 ``(channels, n)`` blocks that becomes one file on ``finish``."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from mixdown import stop
from mixdown.formats.table import FormatSpec
from mixdown.formats.write_failure import write_failures


class Encoder(abc.ABC):
    """Writes one file at ``path`` from blocks given in order; used as a context manager.

    Leaving the ``with`` block normally finishes the file; leaving it by an exception releases the
    encoder without finishing (the caller's atomic write then removes the partial file). Blocks arrive
    already checked (float32, C-contiguous, the right channel count), and clipped to [-1, 1] unless the
    encoder stores floats that can exceed it (``clips`` false).
    """

    #: Whether blocks must be clipped to [-1, 1] before they reach :meth:`_write`.
    clips = True

    def __init__(self, path: Path, fmt: FormatSpec, options: Mapping[str, Any], sample_rate: int, channels: int,
                 *, dither: bool, expected_frames: int | None = None) -> None:
        self.path = path
        #: The number of frames that will come, when the caller knows it (for size-dependent headers).
        self.expected_frames = expected_frames
        self.format = fmt
        self.options = options
        self.sample_rate = sample_rate
        self.channels = channels
        self.dither = dither
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        stop.check()
        if block.shape[1]:
            with write_failures(self.path, self.format.name):
                self._write(block)
            self.frames += block.shape[1]

    @abc.abstractmethod
    def _write(self, block: np.ndarray) -> None:
        """Encode one non-empty block."""

    @abc.abstractmethod
    def finish(self) -> None:
        """Flush the encoder and complete the file."""

    def abort(self) -> None:  # noqa: B027 - encoders with nothing to release keep this
        """Release resources after a failure; the file is abandoned."""

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            with write_failures(self.path, self.format.name):
                self.finish()
        else:
            with contextlib.suppress(Exception):
                self.abort()
