"""Every format and every allowed option value, encoded by mixdown and decoded by ffprobe/ffmpeg.

Each case checks what an independent decoder sees: codec, sample rate, channels, bit depth or bitrate,
and the frame count: exact for the lossless formats, MP3 and (by its container) Ogg Vorbis and AAC; for
the formats whose containers cannot say where the music ends (ADPCM blocks, MP2, WMA) the documented
residual. Lossy outputs must correlate with the source at 0.99 or better after alignment, at the lag
FORMATS.md states (0 everywhere but MP2). Expectations are restated here from the TwistedWave document
and the codecs' specifications, not read from mixdown's table.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.formats import FORMATS, export
from tests.test_formats_support import (
    align,
    ffmpeg_decode,
    ffmpeg_decode_int,
    ffprobe,
    needs_ffmpeg,
    oggdec_frames,
    tonal,
    tool,
    wvunpack_bits,
)

pytestmark = needs_ffmpeg

SECONDS = 0.3

# The document's option lists ("File formats"), restated.
DOCUMENT = {
    "wav": {"codec": ["none", "u_law", "a_law", "ima4", "ms_adpcm"], "bit_depth": [8, 16, 24, 32]},
    "w64": {"codec": ["none", "u_law", "a_law", "ima4", "ms_adpcm"], "bit_depth": [8, 16, 24, 32]},
    "aiff": {"bit_depth": [8, 16, 24, 32]},
    "aifc": {"codec": ["none", "u_law", "a_law", "ima4"], "bit_depth": [8, 16, 24, 32]},
    "au": {"codec": ["none", "u_law"], "bit_depth": [8, 16, 24, 32]},
    "caf": {"codec": ["none", "u_law", "a_law"], "bit_depth": [8, 16, 24, 32]},
    "flac": {"compression_level": list(range(9)), "bit_depth": [16, 20, 24]},
    "wv": {"compression_level": [0, 1, 2, 3], "bit_depth": [8, 16, 20, 24, 32]},
    "mp3": {"bit_rate": [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
            "vbr_quality": list(range(10)), "quality": list(range(10)), "joint_stereo": [True, False]},
    "ogg": {"bit_rate": [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
            "vbr_quality": list(range(11))},
    "mp2": {"bit_rate": [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]},
    "wma": {"bit_rate": [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]},
    "aac": {"bit_rate": [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]},
}
# What switches an option on: bit_depth needs codec none, vbr_quality needs vbr.
ENABLING = {"vbr_quality": {"vbr": True}}

PCM_CODECS = {
    "wav": {8: "pcm_u8", 16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"},
    "w64": {8: "pcm_u8", 16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"},
    "aiff": {8: "pcm_s8", 16: "pcm_s16be", 24: "pcm_s24be", 32: "pcm_s32be"},
    "aifc": {8: "pcm_u8", 16: "pcm_s16be", 24: "pcm_s24be", 32: "pcm_s32be"},
    "au": {8: "pcm_s8", 16: "pcm_s16be", 24: "pcm_s24be", 32: "pcm_s32be"},
    "caf": {8: "pcm_s8", 16: "pcm_s16be", 24: "pcm_s24be", 32: "pcm_s32be"},
}
COMPRESSED_CODECS = {"u_law": "pcm_mulaw", "a_law": "pcm_alaw", "ms_adpcm": "adpcm_ms"}
IMA_CODECS = {"aifc": "adpcm_ima_qt"}
LOSSY_CODECS = {"mp3": "mp3", "ogg": "vorbis", "mp2": "mp2", "wma": "wmav2", "aac": "aac"}
CONTAINERS = {"wav": "wav", "w64": "w64", "aiff": "aiff", "aifc": "aiff", "au": "au", "caf": "caf",
              "flac": "flac", "wv": "wv", "mp3": "mp3", "ogg": "ogg", "mp2": "mp3", "wma": "asf",
              "aac": "mov,mp4,m4a,3gp,3g2,mj2"}
# ADPCM decoders return whole blocks: at most this many frames past the end.
ADPCM_BLOCK = {"wav": 2048, "w64": 2048, "aifc": 64}
# MPEG-1 rates carry 32-320 kbps, MPEG-2 8-160, MPEG-2.5 (LAME) 8-64; Layer II has no 40 at MPEG-1.
MPEG1, MPEG2, MPEG25 = (32_000, 44_100, 48_000), (16_000, 22_050, 24_000), (8_000, 11_025, 12_000)
# libvorbis' nominal bitrate at 44.1 kHz stereo for quality 0-10 (kbps).
VORBIS_NOMINAL = [64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 499]
MP2_DELAY = 481


def _rate_for(fmt: str, options: dict) -> int:
    """44.1 kHz where the option allows it; the MPEG-2 or 2.5 family for the bitrates only they carry."""
    bit_rate = options.get("bit_rate", 128)
    if fmt == "mp3" and bit_rate < 32:
        return 8_000
    if fmt == "mp2" and bit_rate == 40:
        return 22_050
    return 44_100


def bit_rate_default(fmt: str, rate: int) -> int:
    """128 kbps, or the nearest an MPEG-2.5 mp3 can carry (64)."""
    return 64 if fmt == "mp3" and rate in MPEG25 else 128


def _cases():
    for fmt, options in DOCUMENT.items():
        yield pytest.param(fmt, {}, id=f"{fmt}-defaults")
        for name, values in options.items():
            for value in values:
                extra = dict(ENABLING.get(name, {}))
                if name == "codec" and value == "none":
                    continue
                yield pytest.param(fmt, {**extra, name: value}, id=f"{fmt}-{name}={value}")


def _expected_codes(source: np.ndarray, bits: int) -> np.ndarray:
    scale = 2.0 ** (bits - 1)
    return np.clip(np.floor(source.astype(np.float64) * scale + 0.5), -scale, scale - 1).astype(np.int64)


def _mpeg_modes(path) -> set[int]:
    """Channel-mode fields (0 stereo, 1 joint, 3 mono) of every audio frame of an MP3 after the info frame."""
    data = path.read_bytes()
    modes, position, first = set(), 0, True
    bitrates = {3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
    rates = {3: (44_100, 48_000, 32_000), 2: (22_050, 24_000, 16_000), 0: (11_025, 12_000, 8_000)}
    while position + 4 <= len(data):
        header = int.from_bytes(data[position:position + 4], "big")
        assert header >> 21 == 0x7FF, f"lost frame sync at byte {position}"
        version = (header >> 19) & 3
        kbps = bitrates[3 if version == 3 else 2][(header >> 12) & 15]
        rate = rates[version][(header >> 10) & 3]
        size = (144 if version == 3 else 72) * kbps * 1000 // rate + ((header >> 9) & 1)
        if not first:
            modes.add((header >> 6) & 3)
        first = False
        position += size
    return modes


def check_output(path, fmt: str, options: dict, source: np.ndarray, rate: int, tmp_path) -> None:
    """Everything an independent decoder should find in ``path``, ``source`` encoded with dither off."""
    channels, n = source.shape
    stream = ffprobe(path)
    assert stream["format_name"] == CONTAINERS[fmt]
    assert int(stream["sample_rate"]) == rate
    assert stream["channels"] == channels
    codec = options.get("codec", "none")
    bits = options.get("bit_depth", 16)
    if fmt in PCM_CODECS and codec == "none":
        assert stream["codec_name"] == PCM_CODECS[fmt][bits]
        assert int(stream["bits_per_sample"]) == bits
        decoded = ffmpeg_decode_int(path, channels)
        assert decoded.shape == (channels, n)
        np.testing.assert_array_equal(decoded >> (32 - bits), _expected_codes(source, bits))
        if fmt == "aifc":
            assert path.read_bytes()[8:12] == b"AIFC"
    elif fmt in PCM_CODECS:
        expected = {**COMPRESSED_CODECS, "ima4": IMA_CODECS.get(fmt, "adpcm_ima_wav")}[codec]
        assert stream["codec_name"] == expected
        decoded = ffmpeg_decode(path, channels)
        if codec in ("u_law", "a_law"):
            assert decoded.shape == (channels, n)
        else:
            assert 0 <= decoded.shape[1] - n < ADPCM_BLOCK[fmt]
        lag, correlation = align(source, decoded, 200)
        assert lag == 0 and correlation > 0.995
    elif fmt in ("flac", "wv"):
        assert stream["codec_name"] == {"flac": "flac", "wv": "wavpack"}[fmt]
        stored = 24 if fmt == "wv" and bits == 20 else bits
        assert int(stream["bits_per_raw_sample"]) == stored
        assert int(stream["duration_ts"]) == n
        decoded = ffmpeg_decode_int(path, channels)
        assert decoded.shape == (channels, n)
        np.testing.assert_array_equal(decoded >> (32 - bits), _expected_codes(source, bits))
        assert not np.any(decoded & ((1 << (32 - bits)) - 1))
    else:
        assert stream["codec_name"] == LOSSY_CODECS[fmt]
        decoded = ffmpeg_decode(path, channels)
        lag, correlation = align(source, decoded, 2000)
        assert correlation >= 0.99, f"correlation {correlation:.4f}"
        assert lag == (MP2_DELAY if fmt == "mp2" else 0)
        extra = decoded.shape[1] - n
        if fmt == "mp3":
            assert extra == 0
        elif fmt == "ogg":
            assert int(stream["duration_ts"]) == n
        elif fmt == "aac":
            assert int(stream["duration_ts"]) == n and 0 <= extra < 1024
        elif fmt == "wma":
            assert 0 <= extra < 2 * 2048
        else:
            assert 0 <= extra - MP2_DELAY < 2 * 1152
    if fmt == "ogg":
        check_vorbis_bit_rate(options, rate, channels, stream)
    if fmt in ("mp3", "mp2", "wma") and not options.get("vbr"):
        assert int(stream["bit_rate"]) == options.get("bit_rate", bit_rate_default(fmt, rate)) * 1000
    if fmt == "mp3":
        check_mp3_frames(path, options, channels)


def check_vorbis_bit_rate(options, rate, channels, stream) -> None:
    """At 44.1 kHz stereo the header's nominal bitrate is the quality's, or the target (64 kbps at least)."""
    if (rate, channels) != (44_100, 2):
        return
    nominal = int(stream["bit_rate"]) / 1000
    if options.get("vbr"):
        assert nominal == pytest.approx(VORBIS_NOMINAL[options["vbr_quality"]], abs=1)
    else:
        assert nominal == pytest.approx(max(64, options.get("bit_rate", 128)), rel=0.01)


def check_mp3_frames(path, options, channels) -> None:
    tag = b"Xing" if options.get("vbr") else b"Info"
    assert tag in path.read_bytes()[:64]
    modes = _mpeg_modes(path)
    if channels == 1:
        assert modes == {3}
    elif options.get("joint_stereo", True):
        assert 1 in modes
    else:
        assert modes == {0}


@pytest.mark.parametrize("fmt,options", list(_cases()))
def test_every_option_value_decodes_as_asked(tmp_path, fmt, options):
    rate = _rate_for(fmt, options)
    source = tonal(SECONDS, rate)
    path = tmp_path / f"out.{FORMATS[fmt].extension}"
    result = export(source, rate, {"format": fmt, **options, "dither": False}, path)
    assert result.frames == source.shape[1] and result.path == path
    check_output(path, fmt, options, source, rate, tmp_path)


RATES = (8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000)
# Which of those each format carries, restated from the codecs: MPEG audio its nine (Layer II the MPEG-1
# and MPEG-2 six), WMA up to 48 kHz, AAC and the rest all of them.
CARRIES = {"mp3": MPEG25 + MPEG2 + MPEG1, "mp2": MPEG2 + MPEG1, "wma": RATES[:7]}


def _rate_cases():
    for fmt in DOCUMENT:
        for rate in RATES:
            if rate in CARRIES.get(fmt, RATES):
                yield pytest.param(fmt, rate, id=f"{fmt}-{rate}")


@pytest.mark.parametrize("fmt,rate", list(_rate_cases()))
def test_every_sample_rate_decodes_as_asked(tmp_path, fmt, rate):
    source = tonal(0.2, rate, channels=1)
    path = tmp_path / f"out.{FORMATS[fmt].extension}"
    export(source, rate, {"format": fmt, "dither": False}, path)
    check_output(path, fmt, {}, source, rate, tmp_path)


@pytest.mark.parametrize("fmt", ["mp3", "mp2", "wma"])
def test_rates_a_format_cannot_carry_are_refused_before_writing(tmp_path, fmt):
    rate = 96_000
    with pytest.raises(Exception, match="cannot carry 96000 Hz; allowed") as info:
        export(tonal(0.1, rate), rate, {"format": fmt}, tmp_path / "x.out")
    assert info.value.field == "sample_rate"
    assert list(tmp_path.iterdir()) == []


@tool("wvunpack")
@pytest.mark.parametrize("bits", DOCUMENT["wv"]["bit_depth"])
def test_libwavpack_reads_the_stored_depth(tmp_path, bits):
    path = tmp_path / "depth.wv"
    export(tonal(0.1, 44_100), 44_100, {"format": "wv", "bit_depth": bits}, path)
    assert wvunpack_bits(path) == bits


@tool("oggdec")
@pytest.mark.parametrize("frames", [1000, 12_345, 44_100])
def test_the_reference_vorbis_decoder_returns_every_frame(tmp_path, frames):
    path = tmp_path / "count.ogg"
    source = tonal(frames / 44_100, 44_100)
    assert source.shape[1] == frames
    export(source, 44_100, "ogg", path)
    assert oggdec_frames(path, tmp_path) == frames
    assert int(ffprobe(path)["duration_ts"]) == frames
