"""File reading and atomic writing, cross-checked by independent decoders (ffprobe, sox, flac)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from mixdown.errors import AudioReadError, InvalidInputError
from mixdown.formats import read, write, write_blocks
from tests.conftest import noise, tone

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")


def ffprobe(path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-count_packets", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)["streams"][0]


@needs_ffprobe
@pytest.mark.parametrize("subtype,codec,bits", [("PCM_16", "pcm_s16le", 16), ("PCM_24", "pcm_s24le", 24),
                                                 ("FLOAT", "pcm_f32le", 32)])
def test_wav_written_is_what_ffprobe_reads(tmp_path, subtype, codec, bits):
    audio = noise(1.0, 48_000, channels=2, amplitude=0.1)
    path = tmp_path / "out.wav"
    write(path, audio, 48_000, subtype=subtype)
    stream = ffprobe(path)
    assert stream["codec_name"] == codec
    assert int(stream["sample_rate"]) == 48_000 and stream["channels"] == 2
    assert int(stream["bits_per_sample"]) == bits
    assert int(stream["duration_ts"]) == 48_000
    back, rate = read(path)
    assert rate == 48_000 and back.shape == audio.shape and back.dtype == np.float32
    assert np.max(np.abs(back - audio)) <= 2.0 ** -(bits - 1)


@pytest.mark.skipif(shutil.which("flac") is None, reason="flac not installed")
def test_flac_written_passes_flac_test_and_is_lossless(tmp_path):
    audio = tone(997, 0.5, 44_100, channels=2)
    path = tmp_path / "out.flac"
    write(path, audio, 44_100, subtype="PCM_16")
    subprocess.run(["flac", "-t", "-s", str(path)], check=True)
    back, _ = read(path)
    quantized = np.round(audio * 32767) / 32767
    np.testing.assert_allclose(back, quantized, atol=1.0 / 32768)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_streamed_blocks_make_one_exact_file(tmp_path):
    audio = noise(2.0, 44_100, channels=2)
    path = tmp_path / "stream.wav"
    frames = write_blocks(path, (audio[:, i : i + 1000] for i in range(0, audio.shape[1], 1000)), 44_100, 2,
                          subtype="FLOAT")
    assert frames == audio.shape[1]
    samples = subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True, check=True).stdout
    assert int(samples) == audio.shape[1]
    np.testing.assert_array_equal(read(path)[0], audio)


def test_integer_output_clips_instead_of_wrapping(tmp_path):
    audio = np.array([[2.0, -3.0, 0.5]], dtype=np.float32)
    path = tmp_path / "loud.wav"
    write(path, audio, 8000, subtype="PCM_16")
    back = soundfile.read(str(path), dtype="int16")[0]
    assert back.tolist() == [32767, -32768, 16384]


def test_failed_write_keeps_the_earlier_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "keep.wav"
    write(path, tone(440, 0.1, 8000), 8000)
    before = path.read_bytes()

    def broken():
        yield np.zeros((1, 100), dtype=np.float32)
        raise RuntimeError("render failed half way")

    with pytest.raises(RuntimeError):
        write_blocks(path, broken(), 8000, 1)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]
    with pytest.raises(InvalidInputError):
        write_blocks(tmp_path / "new.wav", [np.zeros((2, 10), np.float32)], 8000, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]


def test_unknown_extension_and_bad_subtype_are_named(tmp_path):
    with pytest.raises(InvalidInputError) as info:
        write(tmp_path / "x.nope", np.zeros((1, 4), np.float32), 8000)
    assert info.value.field == "output"
    with pytest.raises(InvalidInputError, match="allowed") as info:
        write(tmp_path / "x.flac", np.zeros((1, 4), np.float32), 8000, subtype="FLOAT")
    assert info.value.field == "subtype"
    assert list(tmp_path.iterdir()) == []


def test_reading_missing_junk_truncated_and_nan_files_fails_clearly(tmp_path):
    with pytest.raises(AudioReadError, match="no such file"):
        read(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 64)
    with pytest.raises(AudioReadError, match="cannot decode"):
        read(junk)
    whole = tmp_path / "whole.wav"
    write(whole, noise(0.5, 44_100), 44_100)
    for suffix in ("wav", "aiff"):
        source = tmp_path / f"whole.{suffix}"
        write(source, noise(0.5, 44_100), 44_100)
        cut = tmp_path / f"cut.{suffix}"
        cut.write_bytes(source.read_bytes()[:20_000])
        with pytest.raises(AudioReadError, match="truncated"):
            read(cut)
    flac = tmp_path / "whole.flac"
    write(flac, noise(2.0, 44_100), 44_100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    with pytest.raises(AudioReadError):
        read(cut)
    bad = noise(0.1, 8000)
    bad[1, 10] = np.nan
    nan_file = tmp_path / "nan.wav"
    soundfile.write(str(nan_file), bad.T, 8000, subtype="FLOAT")
    with pytest.raises(AudioReadError, match="NaN"):
        read(nan_file)
