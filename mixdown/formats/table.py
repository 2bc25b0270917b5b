"""The TwistedWave output formats as data: options, allowed values, defaults, and the route that writes each.

Everything that validates an output object, lists what is allowed in an error message, picks a default, or
chooses an encoder reads these tables; nothing else knows a format by name. The option lists are the
TwistedWave document's ("File formats"); the per-rate limits and the ``unavailable`` values are what the
encoders here can actually write, measured (see ``FORMATS.md`` beside this file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Option:
    """One format option: its allowed values, its default, and the option value it depends on.

    ``only_when = ("codec", "none")`` means the option may only be given when ``codec`` is ``"none"``; when
    that does not hold the option is absent from the resolved options. ``unavailable`` maps values the
    document lists but no encoder here can write to the reason.
    """

    allowed: tuple[Any, ...]
    default: Any
    only_when: tuple[str, Any] | None = None
    unavailable: Mapping[Any, str] = field(default_factory=dict)

    @property
    def kind(self) -> type:
        return type(self.default)


@dataclass(frozen=True)
class RateSet:
    """Sample rates a format can carry: a list of discrete rates, or an inclusive range."""

    values: tuple[int, ...] = ()
    low: int = 1
    high: int = 768_000

    def __contains__(self, rate: object) -> bool:
        if self.values:
            return rate in self.values
        return isinstance(rate, int) and self.low <= rate <= self.high

    def describe(self) -> str:
        if self.values:
            return ", ".join(str(rate) for rate in self.values)
        return f"{self.low} to {self.high} Hz"


@dataclass(frozen=True)
class FormatSpec:
    """A TwistedWave output format and how mixdown writes it.

    ``route`` names the encoder module (see :mod:`mixdown.formats.encoders`) and ``settings`` is that
    route's own data. ``per_rate`` narrows an option's allowed values by the output sample rate (MPEG
    bitrate tables). ``extensions`` are further file extensions that name this format.
    """

    name: str
    extension: str
    description: str
    options: Mapping[str, Option]
    route: str
    settings: Mapping[str, Any]
    sample_rates: RateSet = RateSet()
    max_channels: int | None = None
    per_rate: Mapping[str, Mapping[tuple[int, ...], tuple[Any, ...]]] = field(default_factory=dict)
    extensions: tuple[str, ...] = ()

    def allowed_at(self, option: str, rate: int) -> tuple[Any, ...]:
        """Values of ``option`` this format can write at ``rate`` Hz."""
        for rates, values in self.per_rate.get(option, {}).items():
            if rate in rates:
                return values
        return self.options[option].allowed


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


# Options shared by several formats, exactly as the document lists them.
PCM_DEPTHS = (8, 16, 24, 32)
LOSSY_BIT_RATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_BIT_RATES = (8, 16, 24, *LOSSY_BIT_RATES)


def _codec_options(codecs: tuple[str, ...], unavailable: Mapping[str, str] | None = None) -> Mapping[str, Option]:
    return _frozen({
        "codec": Option(codecs, "none", unavailable=_frozen(unavailable or {})),
        "bit_depth": Option(PCM_DEPTHS, 16, only_when=("codec", "none")),
    })


def _bit_rate_option() -> Mapping[str, Option]:
    return _frozen({"bit_rate": Option(LOSSY_BIT_RATES, 128)})


# libsndfile (format, subtype, endian) per (codec, bit_depth); bit_depth is None for the compressed codecs
# and for "float", mixdown's own codec beside the document's: 32-bit IEEE float samples, written unclipped
# (WAVE_FORMAT_IEEE_FLOAT, AIFF-C 'fl32'; ffmpeg's pcm_f32le / pcm_f32be).
_WAV_SUBTYPES = {
    ("none", 8): ("PCM_U8", None), ("none", 16): ("PCM_16", None), ("none", 24): ("PCM_24", None),
    ("none", 32): ("PCM_32", None), ("u_law", None): ("ULAW", None), ("a_law", None): ("ALAW", None),
    ("ima4", None): ("IMA_ADPCM", None), ("ms_adpcm", None): ("MS_ADPCM", None), ("float", None): ("FLOAT", None),
}
_BIG_ENDIAN_PCM = {
    ("none", 8): ("PCM_S8", None), ("none", 16): ("PCM_16", None), ("none", 24): ("PCM_24", None),
    ("none", 32): ("PCM_32", None),
}
# AIFF-C: big-endian PCM ('twos', 'in24', 'in32'), unsigned 8-bit ('raw '), and the compressed codecs.
_AIFC_SUBTYPES = {
    ("none", 8): ("PCM_U8", None), ("none", 16): ("PCM_16", "BIG"), ("none", 24): ("PCM_24", "BIG"),
    ("none", 32): ("PCM_32", "BIG"), ("u_law", None): ("ULAW", None), ("a_law", None): ("ALAW", None),
    ("ima4", None): ("IMA_ADPCM", None), ("float", None): ("FLOAT", None),
}

# MPEG audio: which bitrates each family of sample rates has (ISO 11172-3 / 13818-3; LAME caps MPEG-2.5 at
# 64 kbps). An mp3 at 22050 Hz cannot be 320 kbps; an mp2 at 44100 Hz cannot be 40 kbps.
MPEG1_RATES = (32_000, 44_100, 48_000)
MPEG2_RATES = (16_000, 22_050, 24_000)
MPEG25_RATES = (8_000, 11_025, 12_000)
_MP3_PER_RATE = {
    MPEG1_RATES: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    MPEG2_RATES: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160),
    MPEG25_RATES: (8, 16, 24, 32, 40, 48, 56, 64),
}
_MP2_PER_RATE = {
    MPEG1_RATES: (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    MPEG2_RATES: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160),
}
AAC_RATES = (7_350, 8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 64_000, 88_200, 96_000)

_SNDFILE_NOTE = "libsndfile via soundfile"

FORMATS: Mapping[str, FormatSpec] = _frozen({
    "wav": FormatSpec(
        "wav", "wav", "WAVE", _codec_options(("none", "u_law", "a_law", "ima4", "ms_adpcm", "float")),
        "sndfile", _frozen({"container": "WAV", "subtypes": _frozen(_WAV_SUBTYPES)}),
        extensions=("wave",),
    ),
    "w64": FormatSpec(
        "w64", "w64", "Sony Wave64", _codec_options(("none", "u_law", "a_law", "ima4", "ms_adpcm", "float")),
        "sndfile", _frozen({"container": "W64", "subtypes": _frozen(_WAV_SUBTYPES)}),
    ),
    "aiff": FormatSpec(
        "aiff", "aiff", "AIFF", _frozen({"bit_depth": Option(PCM_DEPTHS, 16)}),
        "sndfile", _frozen({"container": "AIFF", "subtypes": _frozen(
            {(None, depth): value for (_, depth), value in _BIG_ENDIAN_PCM.items()})}),
        extensions=("aif",),
    ),
    "aifc": FormatSpec(
        "aifc", "aifc", "AIFF-C",
        _codec_options(("none", "u_law", "a_law", "ima4", "ms_adpcm", "float"), {
            "ms_adpcm": "neither libsndfile nor FFmpeg writes MS ADPCM into AIFF-C, and no common decoder reads it"
        }),
        "sndfile", _frozen({"container": "AIFF", "subtypes": _frozen(_AIFC_SUBTYPES)}),
    ),
    "au": FormatSpec(
        "au", "au", "Sun/NeXT AU", _codec_options(("none", "u_law", "float")),
        "sndfile", _frozen({"container": "AU", "subtypes": _frozen(
            {**_BIG_ENDIAN_PCM, ("u_law", None): ("ULAW", None), ("float", None): ("FLOAT", None)})}),
        extensions=("snd",),
    ),
    "caf": FormatSpec(
        "caf", "caf", "Core Audio Format", _codec_options(("none", "u_law", "a_law", "float")),
        "sndfile", _frozen({"container": "CAF", "subtypes": _frozen(
            {**_BIG_ENDIAN_PCM, ("u_law", None): ("ULAW", None), ("a_law", None): ("ALAW", None),
             ("float", None): ("FLOAT", None)})}),
    ),
    "flac": FormatSpec(
        "flac", "flac", "FLAC",
        _frozen({"compression_level": Option(tuple(range(9)), 5), "bit_depth": Option((16, 20, 24), 16)}),
        "flac", _frozen({}), sample_rates=RateSet(low=1, high=655_350), max_channels=8,
    ),
    "wv": FormatSpec(
        "wv", "wv", "WavPack",
        _frozen({"compression_level": Option((0, 1, 2, 3), 0), "bit_depth": Option((8, 16, 20, 24, 32), 16)}),
        "av", _frozen({
            "codec": "wavpack", "muxer": "wv",
            # TwistedWave's levels (0 default, 1 high, 2 very high, 3 fast) as FFmpeg's wavpack levels.
            "levels": _frozen({0: 1, 1: 2, 2: 3, 3: 0}),
            # bit_depth -> (sample format, bits_per_raw_sample, WavPack SHIFT field written afterwards)
            "depths": _frozen({8: ("u8p", None, 0), 16: ("s16p", None, 0), 20: ("s32p", 24, 4),
                               24: ("s32p", 24, 0), 32: ("s32p", None, 0)}),
        }),
        max_channels=8,
    ),
    "mp3": FormatSpec(
        "mp3", "mp3", "MPEG-1/2 Layer III",
        _frozen({
            "vbr": Option((False, True), False),
            "joint_stereo": Option((False, True), True),
            "vbr_quality": Option(tuple(range(10)), 2, only_when=("vbr", True)),
            "bit_rate": Option(MP3_BIT_RATES, 128, only_when=("vbr", False)),
            "quality": Option(tuple(range(10)), 2),
        }),
        "av", _frozen({"codec": "libmp3lame", "muxer": "mp3", "sample_format": "fltp", "info_frame": True,
                       "muxer_options": _frozen({"id3v2_version": "0"})}),
        sample_rates=RateSet(MPEG25_RATES + MPEG2_RATES + MPEG1_RATES), max_channels=2,
        per_rate=_frozen({"bit_rate": _frozen(_MP3_PER_RATE)}),
    ),
    "ogg": FormatSpec(
        "ogg", "ogg", "Ogg Vorbis",
        _frozen({
            "vbr": Option((False, True), False),
            "bit_rate": Option(LOSSY_BIT_RATES, 128, only_when=("vbr", False)),
            "vbr_quality": Option(tuple(range(11)), 7, only_when=("vbr", True)),
        }),
        "vorbis", _frozen({}), sample_rates=RateSet(low=8_000, high=192_000), max_channels=8,
        extensions=("oga",),
    ),
    "mp2": FormatSpec(
        "mp2", "mp2", "MPEG-1/2 Layer II", _bit_rate_option(),
        "av", _frozen({"codec": "mp2", "muxer": "mp2", "sample_format": "s16", "tail_out_frames": 1}),
        sample_rates=RateSet(MPEG2_RATES + MPEG1_RATES), max_channels=2,
        per_rate=_frozen({"bit_rate": _frozen(_MP2_PER_RATE)}),
    ),
    "wma": FormatSpec(
        "wma", "wma", "Windows Media Audio 2", _bit_rate_option(),
        "av", _frozen({"codec": "wmav2", "muxer": "asf", "sample_format": "fltp", "lead_in_frames": 1,
                       "tail_out_frames": 1}),
        sample_rates=RateSet(low=8_000, high=48_000), max_channels=2,
    ),
    "aac": FormatSpec(
        "aac", "m4a", "AAC-LC in MPEG-4 (.m4a)", _bit_rate_option(),
        "av", _frozen({"codec": "aac", "muxer": "ipod", "sample_format": "fltp", "timescale": "rate",
                       "codec_options": _frozen({"aac_coder": "fast"})}),
        sample_rates=RateSet(AAC_RATES), max_channels=8,
        extensions=("aac", "mp4"),
    ),
})

#: Extensions (without the dot, lower case) to format names, for picking a format from a file name.
EXTENSIONS: Mapping[str, str] = _frozen({
    extension: spec.name for spec in FORMATS.values() for extension in (spec.extension, spec.name, *spec.extensions)
})

#: Output-object attributes besides the format options: the type each must have. ``state`` and
#: ``file_size`` are read-only in TwistedWave's replies and are accepted and ignored so a reply can be
#: sent back; ``url``, ``post_note``, ``public`` and ``if_modified`` are carried for the caller that
#: delivers the file. ``dither`` is mixdown's own (TPDF dither when reducing to 16 or 8 bits).
COMMON_ATTRIBUTES: Mapping[str, tuple[type, ...]] = _frozen({
    "format": (str,), "sample_rate": (int,), "begin": (int, float), "end": (int, float),
    "begin_sample": (int,), "end_sample": (int,), "exported_filename": (str,), "url": (str,),
    "post_note": (bool,), "public": (bool,), "if_modified": (bool,), "dither": (bool,),
    "state": (str,), "file_size": (int,),
})
IGNORED_ATTRIBUTES = ("state", "file_size")
DELIVERY_ATTRIBUTES = ("url", "post_note", "public", "if_modified")
