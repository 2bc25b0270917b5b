"""Reading what the platforms send: files from independent encoders (ffmpeg, lame, flac, wavpack) and
mixdown's own, decoded to float32 ``(channels, frames)``; ``probe`` and truncation."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile

from mixdown.errors import AudioReadError
from mixdown.formats import FORMATS, export, probe, read
from tests.test_formats_support import align, needs_ffmpeg, tonal, tool

FRAMES = 12_345


@pytest.fixture
def reference(tmp_path):
    """A float WAV of FRAMES frames at 48 kHz, the input of every external encoder."""
    source = tonal(FRAMES / 48_000, 48_000)
    path = tmp_path / "reference.wav"
    soundfile.write(str(path), source.T, 48_000, subtype="FLOAT")
    return source, path


def ffmpeg_encode(reference, target, *codec):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(reference), *codec, str(target)], check=True)


@needs_ffmpeg
@pytest.mark.parametrize("name,codec,frames,lag", [
    ("x.opus", ["-c:a", "libopus", "-b:a", "128k"], FRAMES, 0),
    ("x.ogg", ["-c:a", "libvorbis"], FRAMES, 0),
    ("x.wv", ["-c:a", "wavpack"], FRAMES, 0),
    ("x.flac", ["-c:a", "flac", "-sample_fmt", "s32"], FRAMES, 0),
    ("x.aiff", ["-c:a", "pcm_s24be"], FRAMES, 0),
    ("x.m4a", ["-c:a", "aac"], None, 0),
    ("x.wma", ["-c:a", "wmav2"], None, None),
    ("x.mp2", ["-c:a", "mp2"], None, None),
])
def test_files_from_ffmpeg_decode_to_float_channels_by_frames(tmp_path, reference, name, codec, frames, lag):
    source, wav = reference
    path = tmp_path / name
    ffmpeg_encode(wav, path, *codec)
    audio, rate = read(path)
    assert rate == 48_000 and audio.dtype == np.float32 and audio.flags.c_contiguous and audio.shape[0] == 2
    if frames is not None:
        assert audio.shape[1] == frames
    found, correlation = align(source, audio, 3000)
    assert correlation > 0.98
    if lag is not None:
        assert found == lag
    assert probe(path).frames == audio.shape[1]


@tool("lame")
def test_an_mp3_from_lame_is_trimmed_by_its_lame_tag(tmp_path, reference):
    source, wav = reference
    path = tmp_path / "lame.mp3"
    subprocess.run(["lame", "--quiet", "-V", "2", str(wav), str(path)], check=True)
    audio, rate = read(path)
    assert (rate, audio.shape) == (48_000, (2, FRAMES))
    assert align(source, audio, 2000)[0] == 0


@tool("wavpack")
@tool("sox")
@pytest.mark.parametrize("bits", [16, 20, 24])
def test_wavpack_from_its_own_encoder_reads_bit_exact(tmp_path, bits):
    top = 2 ** (bits - 1)
    integers = np.random.default_rng(bits).integers(-top, top, (2, 5000))
    wav = tmp_path / "in.wav"
    container = (integers << (24 - bits)).astype(np.int32) << 8
    soundfile.write(str(wav), container.T, 44_100, subtype="PCM_24")
    path = tmp_path / "in.wv"
    if bits == 20:
        subprocess.run(["sox", str(wav), "-b", "20", str(tmp_path / "in20.wav")], check=True)
        wav = tmp_path / "in20.wav"
    subprocess.run(["wavpack", "-q", "-y", str(wav), "-o", str(path)], check=True)
    audio, _ = read(path)
    np.testing.assert_array_equal(audio, (integers / top).astype(np.float32))


@pytest.mark.parametrize("fmt,options", [("aac", {}), ("wv", {"bit_depth": 20}), ("flac", {"bit_depth": 20}),
                                         ("mp3", {}), ("ogg", {}), ("aifc", {"codec": "a_law"})])
def test_mixdown_outputs_read_back_at_their_exact_length(tmp_path, fmt, options):
    source = tonal(0.4, 44_100)
    path = tmp_path / f"back.{FORMATS[fmt].extension}"
    export(source, 44_100, {"format": fmt, **options}, path)
    audio, rate = read(path)
    assert (rate, audio.shape) == (44_100, source.shape)
    assert align(source, audio, 100)[0] == 0
    summary = probe(path)
    assert (summary.format, summary.sample_rate, summary.channels, summary.frames) == (fmt, 44_100, 2, source.shape[1])
    assert summary.duration == pytest.approx(0.4)


@pytest.mark.parametrize("fmt,codec", [("wav", "pcm_s16le"), ("aifc", "pcm_s16be"), ("aiff", "pcm_s16be"),
                                       ("au", "pcm_s16be"), ("caf", "pcm_s16be"), ("w64", "pcm_s16le"),
                                       ("flac", "flac"), ("wv", "wavpack"), ("mp3", "mp3"), ("ogg", "vorbis"),
                                       ("mp2", "mp2"), ("wma", "wmav2"), ("aac", "aac")])
def test_probe_names_the_format_and_codec(tmp_path, fmt, codec):
    path = tmp_path / f"p.{FORMATS[fmt].extension}"
    export(tonal(0.1, 32_000, channels=1), 32_000, fmt, path)
    summary = probe(path).to_dict()
    assert (summary["format"], summary["codec"], summary["sample_rate"], summary["channels"]) == (fmt, codec, 32_000, 1)
    assert set(summary) == {"path", "format", "codec", "sample_rate", "channels", "frames", "duration"}


@pytest.mark.parametrize("fmt,words", [("wv", "truncated"), ("flac", "truncated"), ("aac", "cannot decode")])
def test_a_cut_file_is_an_error_not_a_short_read(tmp_path, fmt, words):
    path = tmp_path / f"whole.{FORMATS[fmt].extension}"
    export(tonal(2.0, 44_100), 44_100, {"format": fmt, "bit_depth": 20} if fmt != "aac" else fmt, path)
    cut = tmp_path / f"cut.{FORMATS[fmt].extension}"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.raises(AudioReadError, match=words) as info:
        read(cut)
    assert info.value.field == "path"


def test_junk_and_missing_files_are_read_errors(tmp_path):
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"\x00\x01 not audio " * 100)
    with pytest.raises(AudioReadError, match="cannot decode"):
        read(junk)
    with pytest.raises(AudioReadError, match="cannot decode"):
        probe(junk)
    with pytest.raises(AudioReadError, match="no such file"):
        probe(tmp_path / "missing.wv")
