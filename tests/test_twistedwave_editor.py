"""The editor's remaining offline commands: selection and cursor, clipboard, EQ, noise reduction,
metadata, analyze, and markers in WAV files; checked sample by sample and, for tags, by ffprobe."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import struct
import subprocess

import numpy as np
import pytest

from mixdown import twistedwave
from mixdown.api_compat.twistedwave import TwistedWave
from mixdown.api_compat.twistedwave.edits import EditorState, Take, apply
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.models import parse_command
from mixdown.api_compat.twistedwave.store import SCHEMA_VERSION, Store
from mixdown.formats import export, read
from mixdown.formats.tags import read_markers, read_tags
from tests.conftest import tone
from tests.denoise_measure import tone_fit, tone_plus_noise
from tests.test_twistedwave_edits import RATE, ramp
from tests.test_twistedwave_transfer import write_source

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")


def run(take: Take, *commands: dict) -> Take:
    for index, raw in enumerate(commands):
        take = apply(parse_command(raw, index), take, index)
    return take


def refused(take: Take, command: dict, param: str, words: str) -> None:
    with pytest.raises(TwistedWaveError, match=words) as info:
        run(take, command)
    assert info.value.param == param


# --- selection and cursor -------------------------------------------------------------------------------


def test_selection_commands_set_the_state_later_commands_use():
    take = Take(ramp(), RATE)
    state = run(take, {"command": "select-all"}).state
    assert (state.cursor, state.selection) == (0, (0, 1_000))
    assert run(take, {"command": "select-all"}, {"command": "select-none"}).state.selection is None
    marked = run(take, {"command": "mark-in", "position": 200}, {"command": "mark-out", "position": 300})
    assert (marked.state.cursor, marked.state.selection) == (200, (200, 300))
    assert run(marked, {"command": "select-to-end"}).state.selection == (200, 1_000)
    assert run(marked, {"command": "select-to-start"}).state.selection == (0, 200)
    assert run(marked, {"command": "move-to-end"}).state.cursor == 1_000
    assert run(marked, {"command": "move-to-start"}).state == EditorState(cursor=0)
    # a command without a selection works on the document's, one with its own on that alone
    amplified = run(marked, {"command": "amplify", "gain": -6.0206})
    np.testing.assert_array_equal(amplified.audio[:, :200], take.audio[:, :200])
    np.testing.assert_allclose(amplified.audio[:, 200:300], take.audio[:, 200:300] * 0.5, atol=1e-7)
    np.testing.assert_array_equal(amplified.audio[:, 300:], take.audio[:, 300:])
    assert amplified.state.selection == (200, 300)
    own = run(marked, {"command": "silence", "selection": [0, 10]})
    assert not own.audio[:, :10].any() and own.state.selection == (200, 300)


def test_mark_in_and_out_keep_the_other_edge_and_seconds_work():
    take = Take(ramp(), RATE)
    state = run(take, {"command": "mark-out", "position": 0.1, "unit": "seconds"},
                {"command": "mark-in", "position": 0.025, "unit": "seconds"}).state
    assert state.selection == (200, 800)
    assert run(take, {"command": "mark-in", "position": 900}).state.selection == (900, 1_000)
    refused(take, {"command": "mark-in", "position": 1_001}, "edit.commands[0].position", "beyond")


def test_selection_and_cursor_move_with_the_audio():
    take = run(Take(ramp(), RATE), {"command": "mark-in", "position": 500}, {"command": "mark-out", "position": 600})
    later = run(take, {"command": "insert-silence", "position": 100, "length": 50})
    assert (later.state.cursor, later.state.selection) == (550, (550, 650))
    deleted = run(take, {"command": "delete", "selection": [0, 100]})
    assert (deleted.state.cursor, deleted.state.selection) == (400, (400, 500))
    cut = run(take, {"command": "cut"})
    assert (cut.state.cursor, cut.state.selection) == (500, None) and cut.frames == 900


def test_effects_in_place_keep_the_selection():
    take = run(Take(ramp(), RATE), {"command": "mark-in", "position": 100}, {"command": "mark-out", "position": 400})
    for command in ({"command": "reverse"}, {"command": "fade-in"}, {"command": "graphic-eq", "graphic": [3.0] * 10}):
        after = run(take, command)
        assert (after.state.cursor, after.state.selection) == (100, (100, 400)), command
    np.testing.assert_array_equal(run(take, {"command": "reverse"}).audio[:, 100:400], ramp()[:, 399:99:-1])


def test_a_clipboard_from_another_rate_is_resampled_when_pasted():
    clip = tone(1000, 0.1, 16_000)
    take = Take(np.zeros((1, 800), np.float32), RATE, state=EditorState(clipboard=clip, clipboard_rate=16_000))
    out = run(take, {"command": "paste", "position": 800})
    assert out.frames == 1_600 and out.state.cursor == 1_600
    np.testing.assert_allclose(out.audio[:, 800 + 100:1_600 - 100], tone(1000, 0.1, RATE)[:, 100:-100], atol=2e-3)


def test_commands_needing_a_selection_are_refused_without_one():
    for name in ("crop", "cut", "delete", "copy", "learn-noise"):
        refused(Take(ramp(), RATE), {"command": name}, "edit.commands[0].selection", "needs a selection")


# --- clipboard ------------------------------------------------------------------------------------------


def test_copy_then_paste_inserts_exactly_at_the_cursor():
    audio = ramp()
    take = run(Take(audio, RATE, [[700, "m"]]), {"command": "copy", "selection": [100, 150]},
               {"command": "mark-in", "position": 600}, {"command": "select-none"}, {"command": "paste"})
    expected = np.concatenate([audio[:, :600], audio[:, 100:150], audio[:, 600:]], axis=1)
    np.testing.assert_array_equal(take.audio, expected)
    assert take.markers == [[750, "m"]] and take.state.cursor == 650
    np.testing.assert_array_equal(take.state.clipboard, audio[:, 100:150])


def test_paste_over_replaces_from_the_cursor_and_runs_past_the_end():
    audio = ramp()
    take = run(Take(audio, RATE), {"command": "copy", "selection": [0, 100]},
               {"command": "paste-over", "position": 200})
    expected = audio.copy()
    expected[:, 200:300] = audio[:, :100]
    np.testing.assert_array_equal(take.audio, expected)
    longer = run(take, {"command": "paste-over", "position": 950})
    np.testing.assert_array_equal(longer.audio, np.concatenate([expected[:, :950], audio[:, :100]], axis=1))
    assert longer.frames == 1_050 and longer.state.cursor == 1_050


def test_cut_fills_the_clipboard_and_paste_puts_it_back():
    audio = ramp()
    take = run(Take(audio, RATE), {"command": "cut", "selection": [300, 400]}, {"command": "paste", "position": 300})
    np.testing.assert_array_equal(take.audio, audio)
    refused(Take(audio, RATE), {"command": "paste"}, "edit.commands[0].command", "clipboard is empty")


def test_paste_converts_mono_to_stereo():
    mono = ramp(100, channels=1)
    take = Take(ramp(), RATE, state=EditorState(clipboard=mono, clipboard_rate=RATE))
    out = run(take, {"command": "paste", "position": 0})
    np.testing.assert_array_equal(out.audio[:, :100], np.repeat(mono, 2, axis=0))


# --- the whole job: state in the undo history, analyze, tags, markers ---------------------------------------


@pytest.fixture
def tw(tmp_path):
    return TwistedWave(tmp_path / "store")


def _export(tw, tmp_path, doc, name, output=None):
    job = tw.submit({"document": {"id": doc}, "output": output or {"format": "wav", "bit_depth": 32}})
    assert job["state"] == "completed", job.get("error")
    return tw.download(job["id"], tmp_path / name)


def _edit(tw, doc, *commands):
    job = tw.submit({"document": {"id": doc}, "edit": {"max_duration": 0, "commands": list(commands)}})
    assert job["state"] == "completed", job.get("error")
    return job


def test_clipboard_and_selection_live_in_the_undo_history_across_jobs(tmp_path, tw):
    audio = tone(440, 0.25, 44_100, channels=2)
    source = write_source(tmp_path / "in.wav", audio)
    doc = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0}})["document"]["id"]
    original = _export(tw, tmp_path, doc, "original.wav").read_bytes()
    _edit(tw, doc, {"command": "mark-in", "position": 1000}, {"command": "mark-out", "position": 3000},
          {"command": "copy"}, {"command": "move-to-end"})
    pasted = _edit(tw, doc, {"command": "paste"}, {"command": "graphic-eq", "graphic": [6.0] * 10})
    assert pasted["document"]["duration"] == (audio.shape[1] + 2000) / 44_100
    _edit(tw, doc, *[{"command": "undo"}] * 6)
    assert _export(tw, tmp_path, doc, "undone.wav").read_bytes() == original
    _edit(tw, doc, *[{"command": "redo"}] * 4)  # back to after move-to-end: the clipboard is there again
    _edit(tw, doc, {"command": "paste"})
    out = read(_export(tw, tmp_path, doc, "again.wav"))[0]
    np.testing.assert_allclose(out, np.concatenate([audio, audio[:, 1000:3000]], axis=1), atol=2**-30)  # 32-bit
    clipboards = {json.loads(row[0]).get("clipboard") for row in tw.store.connection().execute(
        "SELECT state FROM history WHERE doc_id = ?", (doc,))} - {None}
    assert clipboards and all((tw.store.audio_folder(doc) / name).is_file() for name in clipboards)
    tw.store.sweep()
    assert all((tw.store.audio_folder(doc) / name).is_file() for name in clipboards)


def test_learn_noise_then_denoise_in_a_job(tmp_path, tw):
    mixed, alone = tone_plus_noise(2.0, 44_100, channels=1)
    source = write_source(tmp_path / "noisy.wav", np.concatenate([alone[:, :44_100], mixed], axis=1))
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "learn-noise", "selection": [0, 1.0], "unit": "seconds"},
        {"command": "delete", "selection": [0, 1.0], "unit": "seconds"}]}})
    assert job["state"] == "completed", job.get("error")
    doc = job["document"]["id"]
    tw.store.sweep()  # the profile is a file of the undo history, kept for the next job
    _edit(tw, doc, {"command": "denoise", "reduction_db": 12})
    out = read(_export(tw, tmp_path, doc, "clean.wav"))[0]
    assert tone_fit(out, 1000.3, 44_100)[1] - tone_fit(mixed, 1000.3, 44_100)[1] >= 9
    missing = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "denoise"}]}})
    assert missing["error"] == ("edit.commands[0].command: denoise: there is no noise profile: run learn-noise on a "
                                "stretch of noise first")


def test_analyze_attaches_its_report_to_the_job(tmp_path, tw):
    audio = np.concatenate([tone(1000, 1.0, 48_000, amplitude=0.5, channels=2),
                            np.zeros((2, 48_000), dtype=np.float32)], axis=1)
    audio[0, 100] = 1.0
    source = write_source(tmp_path / "a.wav", audio + np.float32(0.01), rate=48_000)
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "analyze"}, {"command": "analyze", "selection": [0, 48_000]}]}})
    whole, first = job["edit"]["analysis"]
    assert whole["command"] == 0 and whole["selection"] == [0, 96_000] and first["selection"] == [0, 48_000]
    assert whole["peak_dbfs"] == pytest.approx(20 * math.log10(1.01), abs=1e-3)
    assert whole["clipped_samples"] == 1
    assert whole["dc_offset"] == pytest.approx([0.01, 0.01], abs=2e-5)
    assert whole["silence_ratio"] == 0.0  # a 0.01 offset is -40 dBFS, not silence
    assert first["rms_dbfs"] == pytest.approx(10 * math.log10(0.125 + 1e-4), abs=0.01)
    # two channels of mean square 0.125: -0.691 + 10 log10(0.25) + 0.69 (K-weighting's gain at 1 kHz)
    assert first["integrated_lufs"] == pytest.approx(-6.02, abs=0.1)
    assert first["true_peak_dbtp"] >= first["peak_dbfs"]
    plain = write_source(tmp_path / "b.wav", np.concatenate([audio[:, :48_000], np.zeros((2, 48_000), np.float32)],
                                                            axis=1), rate=48_000)
    report = tw.submit({"document": {"url": str(plain)}, "edit": {"max_duration": 0, "commands": [
        {"command": "analyze"}]}})["edit"]["analysis"][0]
    assert report["silence_ratio"] == 0.5
    assert tw.get_document(job["document"]["id"])["duration"] == 2.0  # analyze changes nothing
    doc = job["document"]["id"]
    first_export = tw.submit({"document": {"id": doc}, "output": {"format": "wav", "if_modified": True}})
    tw.submit({"document": {"id": doc}, "edit": {"max_duration": 0, "commands": [{"command": "analyze"}]}})
    again = tw.submit({"document": {"id": doc}, "output": {"format": "wav", "if_modified": True}})
    assert (first_export["output"]["state"], again["output"]["state"]) == ("completed", "skipped")


def _cue_wav(path, audio, rate, markers):
    """A WAV with cue points and labels, built by hand (independently of mixdown's writer)."""
    pcm = (np.clip(audio.T, -1, 1) * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, audio.shape[0], rate, rate * 2 * audio.shape[0], 2 * audio.shape[0], 16)
    cue = struct.pack("<I", len(markers)) + b"".join(
        struct.pack("<II4sIII", 7 + i, p, b"data", 0, 0, p) for i, (p, _) in enumerate(markers))
    labels = b"".join(b"labl" + struct.pack("<I", 4 + len(n) + 1 + ((len(n) + 1) & 1)) + struct.pack("<I", 7 + i)
                      + n.encode() + b"\0" + b"\0" * ((len(n) + 1) & 1) for i, (_, n) in enumerate(markers))
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
              + b"cue " + struct.pack("<I", len(cue)) + cue + b"LIST" + struct.pack("<I", 4 + len(labels)) + b"adtl"
              + labels)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


def test_wav_markers_are_imported_and_exported(tmp_path, tw):
    audio = tone(440, 1.0, 44_100)
    source = _cue_wav(tmp_path / "cued.wav", audio, 44_100, [(28458, "Marker 1"), (6233, "Verse")])
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "add-marker", "position": 40000, "name": "Outro ü"}]}})
    assert job["document"]["markers"] == [[6233, "Verse"], [28458, "Marker 1"], [40000, "Outro ü"]]
    wav = _export(tw, tmp_path, job["document"]["id"], "marked.wav", {"format": "wav", "bit_depth": 16})
    assert read_markers(wav) == job["document"]["markers"]
    np.testing.assert_allclose(read(wav)[0], read(source)[0], atol=2**-15)
    again = tw.submit({"document": {"url": str(wav)}, "edit": {"max_duration": 0}})
    assert again["document"]["markers"] == job["document"]["markers"]
    # a range and a rate conversion move them; those outside the range are left out
    cut = export(audio, 44_100, {"format": "wav", "begin_sample": 5_000, "end_sample": 22_050,
                                 "sample_rate": 22_050}, tmp_path / "cut.wav",
                 markers=[[6233, "a"], [28458, "b"]])
    assert read_markers(cut.path) == [[14229 - 5000, "b"]]


TAG_FORMATS = [("wav", {"bit_depth": 16}), ("flac", {}), ("ogg", {}), ("mp3", {}), ("aac", {}), ("wv", {}),
               ("aiff", {}), ("aifc", {}), ("mp2", {}), ("wma", {})]


@needs_ffprobe
@pytest.mark.parametrize(("name", "options"), TAG_FORMATS, ids=[name for name, _ in TAG_FORMATS])
def test_metadata_tags_are_read_back_by_ffprobe(tmp_path, tw, name, options):
    source = write_source(tmp_path / "in.wav", tone(440, 0.3, 44_100, channels=2))
    tags = {"title": "Zozo — take 2", "artist": "Ünïcode Artist", "album": "The Album", "year": 2015,
            "genre": "Ambient", "comment": "made offline", "track": 3}
    job = tw.submit({"document": {"url": str(source)}, "edit": {"max_duration": 0, "commands": [
        {"command": "metadata", "title": "draft", "genre": "Rock"}, {"command": "metadata", **tags}]}})
    path = _export(tw, tmp_path, job["document"]["id"], f"tagged.{name}", {"format": name, **options})
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json", str(path)],
        check=True, capture_output=True, text=True).stdout)
    found = {key.lower(): value for section in ("format", "streams") for entry in
             ([probe.get(section, {})] if section == "format" else probe.get(section, []))
             for key, value in entry.get("tags", {}).items()}
    assert found.get("title") == tags["title"] and found.get("artist") == tags["artist"]
    assert found.get("album") == tags["album"] and found.get("genre") == tags["genre"]
    assert (found.get("date") or found.get("year") or found.get("wm/year")) == "2015"
    assert found.get("comment", found.get("description")) == tags["comment"]
    assert str(found.get("track", found.get("wm/tracknumber"))).split("/")[0] == "3"
    plain = tmp_path / "plain"
    plain.mkdir()
    untagged = export(read(source)[0], 44_100, {"format": name, **options}, plain).path
    np.testing.assert_array_equal(read(path)[0], read(untagged)[0])  # the tags change no sample


@pytest.mark.parametrize("name", ["wav", "flac", "mp3", "aac", "wv"])
def test_an_imported_files_tags_are_kept_and_can_be_changed(tmp_path, tw, name):
    tagged = export(tone(440, 0.3, 44_100), 44_100, {"format": name}, tmp_path,
                    tags={"title": "Old", "artist": "Someone", "track": "2/10"}).path
    job = tw.submit({"document": {"url": str(tagged)}, "edit": {"max_duration": 0, "commands": [
        {"command": "metadata", "title": "New", "track": ""}]}})
    out = _export(tw, tmp_path, job["document"]["id"], "again.flac", {"format": "flac"})
    assert read_tags(out) == {"title": "New", "artist": "Someone"}


def test_metadata_empty_value_removes_and_clear_removes_all():
    take = run(Take(ramp(), RATE), {"command": "metadata", "title": "a", "artist": "b", "year": 1999},
               {"command": "metadata", "artist": ""})
    assert take.state.tags == {"title": "a", "year": "1999"}
    assert run(take, {"command": "metadata", "clear": True, "genre": "x"}).state.tags == {"genre": "x"}
    with pytest.raises(TwistedWaveError) as info:
        parse_command({"command": "metadata", "title": 5}, 0)
    assert info.value.param.startswith("edit.commands[0].title")


def test_graphic_eq_command_validation():
    for raw, param in (({"command": "graphic-eq"}, "edit.commands[0]"),
                       ({"command": "graphic-eq", "graphic": [1.0] * 11}, "edit.commands[0].graphic"),
                       ({"command": "graphic-eq", "bands": [{"type": "bell", "frequency": 100}]},
                        "edit.commands[0].bands")):
        with pytest.raises(TwistedWaveError) as info:
            parse_command(raw, 0)
        assert info.value.param.startswith(param), info.value.param
    refused(Take(ramp(), RATE), {"command": "graphic-eq", "bands": [{"type": "peak", "frequency": 5000,
                                                                     "gain_db": 3}]},
            "edit.commands[0].bands[0].frequency", "Nyquist")
    flat = run(Take(ramp(), RATE), {"command": "graphic-eq", "graphic": [0.0] * 31})
    np.testing.assert_array_equal(flat.audio, ramp())


@pytest.mark.parametrize("name", ["loop", "play", "record", "record-mp3-128", "zoom-in", "view-whole-sound",
                                  "center-on-cursor", "rewind", "fast-forward", "select-audio-input", "dump-db",
                                  "export-download", "export-soundcloud"])
def test_ui_only_commands_stay_refused(name):
    with pytest.raises(TwistedWaveError, match="drives the browser editor and has no offline meaning") as info:
        parse_command({"command": name}, 0)
    assert info.value.param == "edit.commands[0].command"


def test_a_version_1_store_gains_the_state_column(tmp_path):
    folder = tmp_path / "old"
    Store(folder).close()
    conn = sqlite3.connect(folder / "twistedwave.db")
    conn.execute("ALTER TABLE history DROP COLUMN state")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = Store(folder)
    columns = [row[1] for row in store.connection().execute("PRAGMA table_info(history)")]
    assert "state" in columns
    assert store.connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_the_python_api_writes_tags_and_markers_and_lets_analyze_pass(tmp_path):
    done = twistedwave.render_to(tmp_path / "a.wav", [
        {"command": "analyze"}, {"command": "metadata", "title": "T"},
        {"command": "add-marker", "position": 10, "name": "m"}], ramp(), RATE)
    assert done.frames == 1_000 and read_tags(done.path) == {"title": "T"} and read_markers(done.path) == [[10, "m"]]
