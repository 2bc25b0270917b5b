"""Songclip clips: exact lengths, exact fades, JSEND replies, fail cases, presets checked by ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile

from mixdown.api_compat.songclip import clips as clips_module
from mixdown.api_compat.songclip.clips import SongclipFailError, estimate_bytes, render_clips
from mixdown.api_compat.songclip.presets import PRESETS, Preset
from mixdown.cli import main
from mixdown.engine import Fade, fade_envelope
from mixdown.formats import read, write
from tests.conftest import tone

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
EVENT = {"context": {"uniqueId": "111-asf_123"}, "start": 1000, "end": 3000, "fadeIn": 500, "fadeOut": 300,
         "tags": ["happy"], "songId": "5958929698"}


def make_song(tmp_path, rate=44_100, seconds=40.0, name="song.wav"):
    path = tmp_path / name
    write(path, tone(440, seconds, rate, amplitude=0.3, channels=2), rate, subtype="FLOAT")
    return path


def decoded_frames(path) -> int:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
                         capture_output=True, check=True).stdout
    return len(raw) // 4


def ffprobe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["streams"][0]


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000])
@pytest.mark.parametrize("start,end", [(0, 5000), (1000.4, 3000.6), (12_345.678, 29_999.999), (1, 2)])
def test_clip_length_is_exact_to_the_sample(tmp_path, rate, start, end):
    song = make_song(tmp_path, rate)
    out = tmp_path / "clip.wav"
    reply = render_clips({**EVENT, "start": start, "end": end, "fadeIn": 0, "fadeOut": 0}, song, out)
    expected = int(np.floor(end * rate / 1000 + 0.5) - np.floor(start * rate / 1000 + 0.5))
    assert soundfile.info(str(out)).frames == expected == reply["data"]["songclip"]["frames"]
    audio, _ = read(out)
    source, _ = read(song)
    first = int(np.floor(start * rate / 1000 + 0.5))
    np.testing.assert_allclose(audio, source[:, first : first + expected], atol=2 / 32768)


@needs_ffmpeg
def test_mp3_clip_decodes_to_the_exact_length(tmp_path):
    song = make_song(tmp_path)
    out = tmp_path / "clip.mp3"
    render_clips(EVENT, song, out)
    assert decoded_frames(out) == 88_200


@pytest.mark.parametrize("curve", ["equal-power", "linear", "exponential"])
def test_fades_have_the_exact_curve(tmp_path, curve):
    song = tmp_path / "dc.wav"
    write(song, np.full((1, 44_100 * 10), 0.5, dtype=np.float32), 44_100, subtype="FLOAT")
    out = tmp_path / "clip.wav"
    render_clips({**EVENT, "start": 500, "end": 2500, "fadeIn": 250, "fadeOut": 750}, song, out, curve=curve,
                 options={"bit_depth": 32})
    audio, _ = read(out)
    expected = 0.5 * fade_envelope(88_200, Fade(11_025, curve), Fade(33_075, curve))
    np.testing.assert_allclose(audio[0], expected, atol=1e-6)
    assert audio[0, 0] == 0 and audio[0, -1] == 0


def test_reply_is_jsend_with_the_documents_clip_shape(tmp_path):
    song = make_song(tmp_path)
    reply = render_clips(EVENT, song, tmp_path / "c.mp3", artist="Elton John", title="Rocket Man")
    assert reply["status"] == "success"
    clip = reply["data"]["songclip"]
    assert {"id", "artist", "title", "duration", "audioUrl", "coverUrl"} <= set(clip)
    assert clip["artist"] == "Elton John" and clip["duration"] == 2.0 and clip["coverUrl"] is None
    assert clip["audioUrl"] == (tmp_path / "c.mp3").resolve().as_uri() and clip["id"].isdigit()
    assert clip["context"] == {"uniqueId": "111-asf_123"} and clip["tags"] == ["happy"]
    again = render_clips(EVENT, song, tmp_path / "d.mp3", artist="Elton John", title="Rocket Man")
    assert again["data"]["songclip"]["id"] == clip["id"]


@pytest.mark.parametrize("change,field", [
    ({"start": -5}, "start"), ({"start": "1000"}, "start"), ({"end": 500}, "end"), ({"end": 1000}, "end"),
    ({"fadeIn": 2500}, "fadeIn"), ({"fadeOut": 2001}, "fadeOut"), ({"end": 41_000}, "end"),
    ({"context": {}}, "context.uniqueId"), ({"tags": "happy"}, "tags"), ({"end": float("nan")}, "end"),
    ({"fadeIn": None}, "fadeIn"),
])
def test_bad_specs_fail_naming_the_field(tmp_path, change, field):
    song = make_song(tmp_path)
    with pytest.raises(SongclipFailError) as info:
        render_clips({**EVENT, **change}, song, tmp_path / "c.wav")
    assert field in info.value.data
    assert not (tmp_path / "c.wav").exists()


def test_limits_are_options_and_the_songclip_preset_holds_5_to_30_seconds(tmp_path):
    song = make_song(tmp_path)
    render_clips(EVENT, song, tmp_path / "a.mp3")
    with pytest.raises(SongclipFailError, match="minimum"):
        render_clips(EVENT, song, tmp_path / "b.mp3", preset_name="songclip")
    with pytest.raises(SongclipFailError, match="maximum"):
        render_clips({**EVENT, "end": 35_000}, song, tmp_path / "b.mp3", preset_name="songclip")
    with pytest.raises(SongclipFailError, match="maximum"):
        render_clips(EVENT, song, tmp_path / "b.mp3", max_length=1.5)
    render_clips({**EVENT, "end": 8000}, song, tmp_path / "b.mp3", preset_name="songclip")


def test_a_list_of_specs_is_cut_from_one_decode(tmp_path, monkeypatch):
    song = make_song(tmp_path)
    reads = []
    real_load = clips_module.Song.load
    monkeypatch.setattr(clips_module.Song, "load", lambda song, *span: reads.append(span) or real_load(song, *span))
    specs = [{**EVENT, "start": 1000 * i, "end": 1000 * i + 1500} for i in range(5)]
    reply = render_clips(specs, song, tmp_path / "clips", fmt="wav")
    assert reads == [(0, 44_100 * 4 + 66_150)]
    assert [c["frames"] for c in reply["data"]["songclips"]] == [66_150] * 5
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [f"clip-00{i}.wav" for i in range(1, 6)]
    with pytest.raises(SongclipFailError) as info:
        render_clips([EVENT, {**EVENT, "end": 0}, {**EVENT, "fadeIn": -1}], song, tmp_path / "more", fmt="wav")
    assert set(info.value.data) == {"[1].end", "[2].fadeIn"}
    assert not (tmp_path / "more").exists()


@needs_ffmpeg
@pytest.mark.parametrize("preset,fmt,codec,rate,channels,bit_rate", [
    ("oursong", None, "mp3", 44_100, 2, 320_000), ("oursong", "wav", "pcm_s16le", 44_100, 2, None),
    ("songclip", None, "mp3", 44_100, 2, 192_000), ("twoshot-preview", None, "mp3", 22_050, 1, 64_000),
    ("twine", "flac", "flac", 44_100, 2, None),
])
def test_presets_write_what_they_promise(tmp_path, preset, fmt, codec, rate, channels, bit_rate):
    song = make_song(tmp_path)
    extension = {"mp3": "mp3", "pcm_s16le": "wav", "flac": "flac"}[codec]
    out = tmp_path / f"clip.{extension}"
    reply = render_clips({**EVENT, "end": 7000}, song, out, preset_name=preset, fmt=fmt)
    stream = ffprobe(out)
    assert stream["codec_name"] == codec and int(stream["sample_rate"]) == rate and stream["channels"] == channels
    if bit_rate:
        assert int(stream["bit_rate"]) == bit_rate
    assert decoded_frames(out) == round(6.0 * rate)
    if preset == "twine":
        meta = json.loads((tmp_path / f"clip.{extension}.json").read_text())
        assert meta == {"title": "song", "description": "", "tags": ["happy"], "mediaType": "audio",
                        "size": out.stat().st_size}
        assert reply["data"]["songclip"]["size"] == out.stat().st_size


def test_upload_limit_is_estimated_before_encoding_and_verified_after(tmp_path, monkeypatch):
    song = make_song(tmp_path)
    assert estimate_bytes({"format": "mp3", "bit_rate": 320}, 44_100 * 3600 * 4, 44_100, 2) > 500 * 2**20
    assert estimate_bytes({"format": "wav", "bit_depth": 16}, 44_100, 44_100, 2) == 4096 + 44_100 * 4
    tiny = Preset(PRESETS["oursong"].formats, max_bytes=100_000)
    monkeypatch.setattr(clips_module, "PRESETS", {**PRESETS, "tiny": tiny})
    with pytest.raises(SongclipFailError, match="would encode to about"):
        render_clips({**EVENT, "end": 30_000}, song, tmp_path / "big.mp3", preset_name="tiny")
    assert not (tmp_path / "big.mp3").exists()
    monkeypatch.setattr(clips_module, "estimate_bytes", lambda *args: 1)
    with pytest.raises(SongclipFailError, match="encoded to"):
        render_clips({**EVENT, "end": 30_000}, song, tmp_path / "big.mp3", preset_name="tiny")
    assert not (tmp_path / "big.mp3").exists()


def test_cli_prints_jsend_and_exits_by_outcome(tmp_path, capsys):
    song = make_song(tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(EVENT))
    assert main(["songclip", str(spec), "--song", str(song), "-o", str(tmp_path / "c.mp3"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "success"
    spec.write_text(json.dumps({**EVENT, "end": 10}))
    assert main(["songclip", str(spec), "--song", str(song), "-o", str(tmp_path / "d.mp3"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {"status": "fail", "data": {
        "end": "end (10 ms) must be after start (1000 ms)"}}
    assert main(["songclip", str(spec), "--song", str(tmp_path / "none.wav"), "-o", str(tmp_path / "e.mp3"),
                 "--json"]) == 2
    assert "song" in json.loads(capsys.readouterr().out)["data"]
    spec.write_text("{oops")
    assert main(["songclip", str(spec), "--song", str(song), "-o", str(tmp_path / "e.mp3"), "--json"]) == 2
    assert "spec" in json.loads(capsys.readouterr().out)["data"]


def test_progress_counts_the_clip_frames_encoded_block_by_block(tmp_path):
    song = make_song(tmp_path, seconds=30.0)
    events = [{**EVENT, "start": 0, "end": 14_000}, {**EVENT, "start": 15_000, "end": 16_000}]
    seen = []
    render_clips(events, song, tmp_path / "clips", fmt="wav", progress=lambda done, total: seen.append((done, total)))
    total = (14_000 + 1_000) * 44_100 // 1000
    assert {t for _, t in seen} == {total} and seen[-1][0] == total
    done = [d for d, _ in seen]
    # Real fractions of the work: the 14 s clip alone reports several times on its way, never backwards.
    assert done == sorted(done) and len(done) >= 4 and 0 < done[0] < 14 * 44_100
    one, _ = soundfile.read(tmp_path / "clips" / "clip-001.wav", dtype="float32")
    assert one.shape[0] == 14 * 44_100
