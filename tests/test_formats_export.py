"""Export as a whole: ranges, resampling, dither, clipping, file names, atomic writes, lossless round trips."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from mixdown.engine.resample import resample, resampled_length
from mixdown.errors import InvalidInputError, OutputError
from mixdown.formats import FORMATS, encode, encode_blocks, export, parse_output, read
from tests.test_formats_support import ffmpeg_decode, ffmpeg_decode_int, ffprobe, needs_ffmpeg, tonal

# Outputs whose decoders return exactly the frames encoded (AAC and Vorbis by their containers' counts).
EXACT = [
    ("wav", {}), ("w64", {}), ("aiff", {}), ("aifc", {}), ("au", {}), ("caf", {}), ("wav", {"codec": "u_law"}),
    ("aifc", {"codec": "a_law"}), ("flac", {}), ("wv", {}), ("mp3", {}), ("mp3", {"vbr": True}), ("ogg", {}),
    ("aac", {}),
]
# Integer outputs and their word length, to check codes (clipping, dither) sample by sample.
INTEGER = [("wav", 8), ("wav", 16), ("wav", 24), ("wav", 32), ("aiff", 8), ("caf", 24), ("au", 32),
           ("w64", 16), ("aifc", 8), ("flac", 16), ("flac", 20), ("flac", 24), ("wv", 8), ("wv", 16), ("wv", 20),
           ("wv", 24), ("wv", 32)]


def codes(audio: np.ndarray, bits: int) -> np.ndarray:
    scale = 2.0 ** (bits - 1)
    return np.clip(np.floor(audio.astype(np.float64) * scale + 0.5), -scale, scale - 1).astype(np.int64)


@needs_ffmpeg
@pytest.mark.parametrize("fmt,options", EXACT, ids=[f"{f}-{o}" for f, o in EXACT])
def test_begin_sample_1000_to_45100_is_exactly_44100_frames(tmp_path, fmt, options):
    source = tonal(1.1, 44_100)
    path = tmp_path / f"cut.{FORMATS[fmt].extension}"
    result = export(source, 44_100, {"format": fmt, **options, "begin_sample": 1000, "end_sample": 45_100}, path)
    assert result.frames == 44_100
    stream = ffprobe(path)
    decoded = ffmpeg_decode(path, 2)
    if fmt in ("ogg", "aac"):
        # The container's count; ffmpeg 5.1 decodes AAC to whole frames and drops Vorbis' last 128.
        assert int(stream["duration_ts"]) == 44_100
        decoded = decoded[:, :44_100]
        assert decoded.shape[1] >= 44_100 - 128
    else:
        assert decoded.shape == (2, 44_100)
    expected = source[:, 1000:1000 + decoded.shape[1]]
    assert min(np.corrcoef(expected[c], decoded[c])[0, 1] for c in range(2)) > 0.99
    assert np.abs(decoded[:, :2000] - expected[:, :2000]).mean() < 0.02


@needs_ffmpeg
@pytest.mark.parametrize("fmt,options,lead,tail", [
    ("wav", {"codec": "ima4"}, 0, 2048), ("wav", {"codec": "ms_adpcm"}, 0, 2048), ("aifc", {"codec": "ima4"}, 0, 64),
    ("wma", {}, 0, 4096), ("mp2", {}, 481, 481 + 2304),
])
def test_formats_that_cannot_carry_an_exact_count_stay_within_their_residual(tmp_path, fmt, options, lead, tail):
    source = tonal(1.1, 44_100)
    path = tmp_path / f"cut.{FORMATS[fmt].extension}"
    export(source, 44_100, {"format": fmt, **options, "begin_sample": 1000, "end_sample": 45_100}, path)
    decoded = ffmpeg_decode(path, 2)
    assert lead <= decoded.shape[1] - 44_100 < tail
    expected = source[0, 1000:45_100]
    assert np.corrcoef(expected, decoded[0, lead:lead + 44_100])[0, 1] > 0.99


@needs_ffmpeg
def test_sample_rate_converts_first_and_the_range_counts_at_the_new_rate(tmp_path):
    source = tonal(0.5, 48_000)
    path = tmp_path / "down.wav"
    result = export(source, 48_000, {"format": "wav", "bit_depth": 24, "sample_rate": 22_050, "begin_sample": 100,
                                     "end_sample": 5100}, path)
    assert (result.sample_rate, result.frames) == (22_050, 5000)
    assert int(ffprobe(path)["sample_rate"]) == 22_050
    converted = resample(source, 48_000, 22_050)
    assert converted.shape[1] == resampled_length(24_000, 48_000, 22_050)
    np.testing.assert_array_equal(ffmpeg_decode_int(path, 2) >> 8, codes(converted[:, 100:5100], 24))


def test_seconds_count_at_the_output_rate(tmp_path):
    source = tonal(1.0, 44_100)
    result = export(source, 44_100, {"format": "wav", "sample_rate": 8000, "begin": 0.25, "end": 0.75},
                    tmp_path / "s.wav")
    assert result.frames == 4000
    assert soundfile.info(str(result.path)).frames == 4000


@pytest.mark.parametrize("fmt,bits", INTEGER)
def test_clipping_saturates_and_never_wraps(tmp_path, fmt, bits):
    loud = np.array([[1.5, -1.5, 1.0, -1.0, 0.999999, 2.0 ** -(bits - 1) * 0.49, -3.0]] * 2, np.float32)
    loud = np.repeat(loud, 20, axis=1)
    path = tmp_path / f"loud.{fmt}"
    export(loud, 44_100, {"format": fmt, "bit_depth": bits, "dither": False}, path)
    top, bottom = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    decoded = ffmpeg_decode_int(path, 2)[0] >> (32 - bits)
    np.testing.assert_array_equal(decoded[::20], [top, bottom, top, bottom, codes(loud[0, 80:81], bits)[0], 0, bottom])
    np.testing.assert_array_equal(decoded, codes(loud[0], bits))


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "aac", "wma", "mp2"])
def test_lossy_outputs_of_overs_decode_without_sign_flips(tmp_path, fmt):
    source = 1.8 * tonal(0.3, 44_100)
    path = tmp_path / f"over.{FORMATS[fmt].extension}"
    export(source, 44_100, fmt, path)
    decoded = ffmpeg_decode(path, 2)
    lag = 481 if fmt == "mp2" else 0
    clipped = np.clip(source, -1, 1)
    n = min(source.shape[1], decoded.shape[1] - lag)
    assert np.corrcoef(clipped[0, :n], decoded[0, lag:lag + n])[0, 1] > 0.98
    assert np.abs(decoded).max() < 1.3


@pytest.mark.parametrize("fmt,bits", [("wav", 16), ("wav", 8), ("flac", 16), ("wv", 16), ("aiff", 8)])
def test_dither_is_tpdf_deterministic_and_on_by_default(tmp_path, fmt, bits):
    lsb = 2.0 ** -(bits - 1)
    steady = np.full((2, 20_000), 0.3 * lsb, np.float32)
    first, second, plain = (tmp_path / f"{name}.{fmt}" for name in ("a", "b", "plain"))
    export(steady, 44_100, {"format": fmt, "bit_depth": bits}, first)
    export(steady, 44_100, {"format": fmt, "bit_depth": bits}, second)
    export(steady, 44_100, {"format": fmt, "bit_depth": bits, "dither": False}, plain)
    assert first.read_bytes() == second.read_bytes()
    undithered = ffmpeg_decode_int(plain, 2) >> (32 - bits)
    dithered = ffmpeg_decode_int(first, 2) >> (32 - bits)
    assert not undithered.any()
    assert set(np.unique(dithered)) <= {-1, 0, 1}
    assert dithered.mean() == pytest.approx(0.3, abs=0.03)
    assert dithered.var() == pytest.approx(0.25, abs=0.02)
    assert np.corrcoef(dithered[0], dithered[1])[0, 1] < 0.05


def test_dither_does_not_depend_on_block_size(tmp_path):
    source = tonal(0.5, 44_100)
    whole, pieces = tmp_path / "whole.flac", tmp_path / "pieces.flac"
    encode(whole, source, 44_100, "flac")
    encode_blocks(pieces, (source[:, i:i + 777] for i in range(0, source.shape[1], 777)), 44_100, 2, "flac")
    assert whole.read_bytes() == pieces.read_bytes()


@pytest.mark.parametrize("fmt,bits", [("wav", 24), ("flac", 24), ("wv", 32)])
def test_no_dither_above_16_bits(tmp_path, fmt, bits):
    source = tonal(0.2, 44_100)
    a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    export(source, 44_100, {"format": fmt, "bit_depth": bits}, a)
    export(source, 44_100, {"format": fmt, "bit_depth": bits, "dither": False}, b)
    assert a.read_bytes() == b.read_bytes()


LOSSLESS = [("wav", 8), ("wav", 16), ("wav", 24), ("wav", 32), ("w64", 24), ("aiff", 16), ("aifc", 24),
            ("au", 16), ("caf", 32), ("flac", 16), ("flac", 20), ("flac", 24), ("wv", 8), ("wv", 16), ("wv", 20),
            ("wv", 24), ("wv", 32)]


@pytest.mark.parametrize("fmt,bits,channels", [(f, b, c) for f, b in LOSSLESS for c in (1, 2, 6)])
def test_lossless_round_trips_are_bit_exact(tmp_path, fmt, bits, channels):
    rng = np.random.default_rng(bits)
    top = 2 ** (bits - 1)
    integers = rng.integers(-top, top, (channels, 3000), dtype=np.int64)
    source = (integers / float(top)).astype(np.float32)
    path = tmp_path / f"exact.{fmt}"
    export(source, 48_000, {"format": fmt, "bit_depth": bits, "dither": False}, path)
    back, rate = read(path)
    assert rate == 48_000 and back.shape == source.shape
    np.testing.assert_array_equal(back, source)


def test_exported_filename_defaults_to_export_dot_extension(tmp_path, monkeypatch):
    source = tonal(0.05, 8000)
    assert export(source, 8000, "aac", tmp_path).path == tmp_path / "export.m4a"
    assert export(source, 8000, {"format": "wav", "exported_filename": "take.wav"}, tmp_path).path == \
        tmp_path / "take.wav"
    monkeypatch.chdir(tmp_path)
    assert export(source, 8000, {"format": "mp2", "sample_rate": 16_000}).path.name == "export.mp2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.m4a", "export.mp2", "take.wav"]


def test_failures_leave_the_earlier_file_and_no_temporary(tmp_path):
    path = tmp_path / "keep.mp3"
    export(tonal(0.2, 44_100), 44_100, "mp3", path)
    before = path.read_bytes()

    def failing():
        yield tonal(0.1, 44_100)
        raise RuntimeError("render failed half way")

    with pytest.raises(RuntimeError):
        encode_blocks(path, failing(), 44_100, 2, "mp3")
    with pytest.raises(InvalidInputError):
        export(tonal(0.2, 44_100), 44_100, {"format": "mp3", "end_sample": 10 ** 6}, path)
    with pytest.raises(InvalidInputError):
        encode_blocks(path, [np.zeros((1, 10), np.float32)], 44_100, 2, "mp3")
    with pytest.raises(InvalidInputError, match="no audio"):
        encode_blocks(path, [], 44_100, 2, "wv")
    bad = tonal(0.1, 44_100)
    bad[0, 5] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        encode(path, bad, 44_100, "flac")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp3"]


def test_a_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError) as info:
        export(tonal(0.05, 8000), 8000, "wav", tmp_path / "nope" / "x.wav")
    assert info.value.field == "output"


def test_encode_blocks_writes_what_it_is_given_and_refuses_ranges_and_rates(tmp_path):
    with pytest.raises(InvalidInputError) as info:
        encode_blocks(tmp_path / "x.wav", [tonal(0.1, 8000)], 8000, 2, {"format": "wav", "begin_sample": 3})
    assert info.value.field == "begin_sample"
    with pytest.raises(InvalidInputError) as info:
        encode(tmp_path / "x.wav", tonal(0.1, 8000), 8000, {"format": "wav", "sample_rate": 16_000})
    assert info.value.field == "sample_rate"
    spec = parse_output({"format": "wav", "sample_rate": 8000})
    assert encode(tmp_path / "x.wav", tonal(0.1, 8000), 8000, spec) == 800


# ffmpeg's channel j of a decoded Vorbis stream is Vorbis channel VORBIS_TO_FFMPEG[n][j]
# (Vorbis 5.1 is FL C FR RL RR LFE; 7.1 is FL C FR SL SR RL RR LFE).
VORBIS_TO_FFMPEG = {6: [0, 2, 1, 5, 3, 4], 8: [0, 2, 1, 7, 5, 6, 3, 4]}
# The LFE channel the codec band-limits: AAC's in 5.1 and 7.1 (channel 4), libvorbis' in its 5.1 mode.
BAND_LIMITED_LFE = {("aac", 6): 3, ("aac", 8): 3, ("ogg", 6): 5}


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["aac", "ogg", "flac", "wv"])
@pytest.mark.parametrize("channels", [6, 8])
def test_many_channels_where_the_format_holds_them(tmp_path, fmt, channels):
    wave = tonal(0.3, 48_000, channels=1)[0]
    source = np.stack([np.roll(wave, 37 * c) for c in range(channels)])
    path = tmp_path / f"many.{FORMATS[fmt].extension}"
    export(source, 48_000, fmt, path)
    assert ffprobe(path)["channels"] == channels
    decoded = ffmpeg_decode(path, channels)
    n = min(source.shape[1], decoded.shape[1])
    if fmt == "ogg":
        # Channels go into Vorbis as given, so they are in Vorbis I order; ffmpeg remaps that to its own.
        decoded = decoded[np.argsort(VORBIS_TO_FFMPEG[channels])]
    full_band = [c for c in range(channels) if c != BAND_LIMITED_LFE.get((fmt, channels))]
    assert min(np.corrcoef(source[c, :n], decoded[c, :n])[0, 1] for c in full_band) > 0.99
