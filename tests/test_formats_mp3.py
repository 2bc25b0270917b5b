"""Gapless MP3: for every rate and mode, decoders return exactly the samples that were encoded."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from mixdown.errors import OutputError
from mixdown.formats import encode
from mixdown.formats.lame_tag import crc16_arc, read_info_frame, set_gapless
from tests.test_formats_support import align, ffmpeg_decode, needs_ffmpeg, tonal

RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
MODES = {
    "cbr": {"bit_rate": 64}, "vbr": {"vbr": True, "vbr_quality": 4},
    "cbr-stereo": {"bit_rate": 64, "joint_stereo": False}, "vbr-best": {"vbr": True, "vbr_quality": 0, "quality": 0},
}


def _lengths(rate: int, mode: str) -> list[int]:
    """A frame boundary, one past it, and an uneven length; they differ by rate and mode."""
    frame = 1152 if rate >= 32_000 else 576
    return [4 * frame, 7 * frame + 1, rate // 5 + 7 * len(mode) + rate % 97]


@needs_ffmpeg
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("rate", RATES)
def test_ffmpeg_and_mpg123_decode_exactly_the_encoded_samples(tmp_path, rate, mode):
    channels = 1 if mode == "vbr" else 2
    for frames in _lengths(rate, mode):
        source = tonal(frames / rate, rate, channels)
        assert source.shape[1] == frames
        path = tmp_path / f"{frames}.mp3"
        encode(path, source, rate, {"format": "mp3", **MODES[mode]})
        decoded = ffmpeg_decode(path, channels)
        assert decoded.shape == (channels, frames)
        assert soundfile.info(str(path)).frames == frames
        if frames > rate // 10:
            lag, correlation = align(source, decoded, 1500)
            assert lag == 0 and correlation > 0.99


@pytest.mark.parametrize("frames", [1, 2, 47, 576, 577])
def test_mpg123_is_exact_even_for_a_handful_of_samples(tmp_path, frames):
    path = tmp_path / "tiny.mp3"
    encode(path, np.full((1, frames), 0.25, np.float32), 22_050, "mp3")
    assert soundfile.info(str(path)).frames == frames


def test_the_tag_states_lames_delay_and_the_padding_the_frames_hold(tmp_path):
    path = tmp_path / "tag.mp3"
    encode(path, tonal(0.5, 44_100), 44_100, "mp3")
    info = read_info_frame(path.read_bytes())
    assert info is not None and info.samples_per_frame == 1152 and info.delay == 576
    assert info.encoded_samples == 22_050
    assert info.frames * 1152 == 576 + 22_050 + info.padding
    data = path.read_bytes()
    crc_at = info.lame_start + 34
    assert int.from_bytes(data[crc_at:crc_at + 2], "big") == crc16_arc(data[info.frame_start:crc_at])


def test_crc16_arc_matches_its_check_value():
    assert crc16_arc(b"123456789") == 0xBB3D


def test_set_gapless_refuses_a_stream_without_an_info_frame(tmp_path):
    path = tmp_path / "plain.mp3"
    path.write_bytes(b"\xff\xfb\x90\x64" + bytes(413))
    assert read_info_frame(path.read_bytes()) is None
    with pytest.raises(OutputError, match="no Xing/LAME info frame"):
        set_gapless(path, 100)
