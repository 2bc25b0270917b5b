"""FLAC at 16, 20 or 24 bits and libFLAC's own compression levels 0-8, through pyflac.

pyflac takes its bit depth from the numpy dtype of the first block (16 or 32); 20 and 24 bits are set
on the libFLAC encoder just before it is initialised (``_init``), the one private hook used here, pinned
by the tests (``flac -t`` and ffprobe read the depth back). Seek and tell callbacks let libFLAC rewrite
STREAMINFO at the end with the total sample count and the MD5 signature.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import pyflac

from mixdown.errors import OutputError
from mixdown.formats.encoders.base import Encoder
from mixdown.formats.quantize import Quantizer


class _FileStreamEncoder(pyflac.StreamEncoder):
    def __init__(self, handle: BinaryIO, sample_rate: int, bits: int, level: int) -> None:
        self._handle = handle
        self._bits = bits
        #: The first failed write: raising inside libFLAC's callback would only print a cffi traceback.
        self.failure: OSError | None = None
        super().__init__(sample_rate, self._on_write, seek_callback=handle.seek, tell_callback=handle.tell,
                         compression_level=level)

    def _on_write(self, buffer: bytes, num_bytes: int, num_samples: int, current_frame: int) -> None:
        if self.failure is not None:
            return
        try:
            self._handle.write(buffer)
        except OSError as error:
            self.failure = error

    def _init(self) -> None:
        self._bits_per_sample = self._bits
        super()._init()


class FlacEncoder(Encoder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bits = self.options["bit_depth"]
        self._quantize = Quantizer(bits, self.channels, dither=self.dither)
        self._handle = self.path.open("wb")
        self._encoder = _FileStreamEncoder(self._handle, self.sample_rate, bits, self.options["compression_level"])

    def _write(self, block: np.ndarray) -> None:
        try:
            self._encoder.process(np.ascontiguousarray(self._quantize(block).T))
        except (pyflac.EncoderInitException, pyflac.EncoderProcessException) as error:
            raise OutputError(f"libFLAC refused the audio: {error}", field="output") from None
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._encoder.failure is not None:
            raise self._encoder.failure

    def finish(self) -> None:
        try:
            finished = self._encoder.finish()
            self._raise_failure()
            self._handle.flush()
            if not finished:
                raise OutputError("libFLAC could not finish the stream", field="output")
        finally:
            self._handle.close()

    def abort(self) -> None:
        self._handle.close()
