"""MP3, MP2, WMA, AAC and WavPack through PyAV, which bundles FFmpeg's encoders and muxers.

What each format needs beyond "encode and mux" is data in the format table (``settings``) plus one
function per format turning TwistedWave options into FFmpeg codec options:

- mp3: libmp3lame in the mp3 muxer, then :func:`mixdown.formats.lame_tag.set_gapless` corrects the info
  frame's padding so decoders return exactly the encoded samples;
- wma: FFmpeg's decoder drops the first frame of a WMA stream (measured: 512/1024/2048 samples by rate)
  and garbles the last partial one, so one frame of silence (the encoder's frame size) goes in before
  and after the audio: decoded, the music starts at sample 0 and every sample of it is intact;
- aac: the ``ipod`` (.m4a) muxer with the movie timescale set to the sample rate, so the edit list that
  skips the 1024 samples of priming, and the stated duration, are exact in samples. FFmpeg's AAC encoder
  runs with its constant-quantizer coder (``aac_coder=fast``): its default two-loop search trades the
  waveform for noise substitution and intensity stereo, and at 64 kbps and below (stereo, 44.1 kHz and
  up) its output correlates with the source at only 0.82-0.98, against 0.988-1.0 for the fast coder,
  which is also 3-5x faster and lands on the target bitrate for music;
- wv: the sample format and stored depth follow ``bit_depth``; 20-bit streams get WavPack's SHIFT field
  afterwards (:mod:`mixdown.formats.wavpack_shift`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import av
import numpy as np

from mixdown.errors import OutputError
from mixdown.formats.encoders.base import Encoder
from mixdown.formats.lame_tag import set_gapless
from mixdown.formats.quantize import Quantizer
from mixdown.formats.wavpack_shift import set_shift

#: FFmpeg's lambda per quality step: LAME's VBR quality V is ``global_quality = V * FF_QP2LAMBDA``.
FF_QP2LAMBDA = 118
LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _mp3_options(options: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    codec = {"joint_stereo": str(int(options["joint_stereo"])), "compression_level": str(options["quality"])}
    if options["vbr"]:
        codec.update({"flags": "+qscale", "global_quality": str(options["vbr_quality"] * FF_QP2LAMBDA)})
    else:
        codec["b"] = f"{options['bit_rate']}k"
    return codec


def _bit_rate_options(options: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    return {"b": f"{options['bit_rate']}k", **settings.get("codec_options", {})}


def _wavpack_options(options: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    codec = {"compression_level": str(settings["levels"][options["compression_level"]])}
    raw_bits = settings["depths"][options["bit_depth"]][1]
    if raw_bits is not None:
        codec["bits_per_raw_sample"] = str(raw_bits)
    return codec


CODEC_OPTIONS: Mapping[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, str]]] = {
    "mp3": _mp3_options, "mp2": _bit_rate_options, "wma": _bit_rate_options, "aac": _bit_rate_options,
    "wv": _wavpack_options,
}


class FfmpegEncoder(Encoder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = self.format.settings
        self._sample_format, raw_bits, self._shift_field = self._sample_layout(settings)
        bits = self.options.get("bit_depth", 16)
        self._quantize = Quantizer(bits, self.channels, dither=self.dither)
        self._align = 32 - (raw_bits or 32)
        self._layout = LAYOUTS[self.channels]
        self._time_base = Fraction(1, self.sample_rate)
        self._pts = 0
        muxer_options = dict(settings.get("muxer_options", {}))
        if settings.get("timescale") == "rate":
            muxer_options["movie_timescale"] = str(self.sample_rate)
        try:
            self._container = av.open(str(self.path), "w", format=settings["muxer"], options=muxer_options)
            self._stream = self._container.add_stream(
                settings["codec"], rate=self.sample_rate,
                options=CODEC_OPTIONS[self.format.name](self.options, settings),
            )
            self._stream.layout = self._layout
            self._stream.format = self._sample_format
            self._stream.codec_context.open()
        except (av.FFmpegError, ValueError) as error:
            self.abort()
            raise OutputError(f"FFmpeg cannot open the {self.format.name} encoder: {error}", field="output") from None
        self._silence = np.zeros((self.channels, self._stream.codec_context.frame_size), dtype=np.float32)
        for _ in range(settings.get("lead_in_frames", 0)):
            self._encode(self._silence)

    def _sample_layout(self, settings: Mapping[str, Any]) -> tuple[str, int | None, int]:
        if "depths" in settings:
            return settings["depths"][self.options["bit_depth"]]
        return settings["sample_format"], None, 0

    def _planes(self, block: np.ndarray) -> list[np.ndarray]:
        """The block in the encoder's sample format, one array per plane (one for a packed format)."""
        fmt = self._sample_format
        if fmt == "fltp":
            return list(block)
        codes = self._quantize(block)
        if fmt == "u8p":
            return list((codes + 128).astype(np.uint8))
        if fmt == "s16p":
            return list(codes.astype(np.int16))
        if fmt == "s16":
            return [np.ascontiguousarray(codes.T.astype(np.int16))]
        return list(codes << self._align)

    def _encode(self, block: np.ndarray) -> None:
        # Planes are filled one by one: PyAV 18.1's from_ndarray miscounts the planes of 8-channel audio.
        frame = av.AudioFrame(format=self._sample_format, layout=self._layout, samples=block.shape[1])
        for index, data in enumerate(self._planes(block)):
            frame.planes[index].update(np.ascontiguousarray(data).tobytes())
        frame.sample_rate = self.sample_rate
        frame.time_base = self._time_base
        frame.pts = self._pts
        self._pts += block.shape[1]
        self._mux(frame)

    def _mux(self, frame: av.AudioFrame | None) -> None:
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except av.FFmpegError as error:
            if isinstance(error, OSError):
                raise  # a file-system failure (disk full, size limit): the caller names it
            raise OutputError(f"FFmpeg failed to encode {self.format.name}: {error}", field="output") from None

    def _write(self, block: np.ndarray) -> None:
        self._encode(block)

    def finish(self) -> None:
        try:
            for _ in range(self.format.settings.get("tail_out_frames", 0)):
                self._encode(self._silence)
            self._mux(None)
        finally:
            self._container.close()
        if self.format.settings.get("info_frame"):
            set_gapless(self.path, self.frames)
        if self._shift_field:
            set_shift(self.path, self._shift_field)

    def abort(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
