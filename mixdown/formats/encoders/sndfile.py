"""The PCM family through libsndfile (soundfile): WAV, Wave64, AIFF, AIFF-C, AU and CAF with their codecs.

Integer PCM is quantized here (see :mod:`mixdown.formats.quantize`) and handed to libsndfile as
left-aligned int32, which it stores by exact shifts; u-law, a-law and the ADPCM codecs receive 16-bit
codes, rounded but not dithered (their own quantization is far coarser than a 16-bit LSB). The ``float``
codec stores the float32 samples themselves, unclipped: a decoder reads back exactly what was rendered.
"""

from __future__ import annotations

import numpy as np
import soundfile

from mixdown.errors import OutputError
from mixdown.formats.encoders.base import Encoder
from mixdown.formats.quantize import Quantizer
from mixdown.formats.size_limit import SizeGuard, container_for

#: Word length of each integer PCM subtype.
PCM_BITS = {"PCM_U8": 8, "PCM_S8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
#: Codes handed to the companding and ADPCM codecs.
CODEC_INPUT_BITS = 16


class SndfileEncoder(Encoder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = self.format.settings
        subtype, endian = settings["subtypes"][(self.options.get("codec"), self.options.get("bit_depth"))]
        self.clips = subtype != "FLOAT"
        bits = PCM_BITS.get(subtype, CODEC_INPUT_BITS)
        self._quantize = Quantizer(bits, self.channels, dither=self.dither and subtype in PCM_BITS) \
            if self.clips else None
        self._shift = 32 - bits
        container = container_for(settings["container"], self.expected_frames, self.channels, subtype)
        self._guard = SizeGuard(container, self.channels, subtype, self.format.name)
        try:
            self._handle = soundfile.SoundFile(
                self.path, "w", samplerate=self.sample_rate, channels=self.channels,
                format=container, subtype=subtype, endian=endian,
            )
        except (soundfile.LibsndfileError, ValueError) as error:
            raise OutputError(f"libsndfile cannot open {self.format.name} output: {error}", field="output") from None

    def _write(self, block: np.ndarray) -> None:
        self._guard.add(block.shape[1])
        if self._quantize is None:
            self._handle.write(block.T)
            return
        codes = self._quantize(block) << self._shift
        self._handle.write(np.ascontiguousarray(codes.T))

    def finish(self) -> None:
        self._handle.close()

    def abort(self) -> None:
        self._handle.close()
