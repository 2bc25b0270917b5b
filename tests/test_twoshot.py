"""TwoShot projects rendered per the contract in shared/docs/twoshot-project.md, rule by rule."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import soundfile

from mixdown.analysis import fit_tone, middle_half
from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.jobs import JobRegistry
from mixdown.api_compat.twoshot.service import parse_document, render_document
from mixdown.cli import main
from mixdown.formats import read, write
from tests.conftest import tone

SR = 44_100
CENTRE = math.cos(math.pi / 4)


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    impulse = np.zeros((1, SR), dtype=np.float32)
    impulse[0, 0] = 1.0
    write(folder / "imp.wav", impulse, SR, subtype="FLOAT")
    write(folder / "tone.wav", tone(440, 2.0, SR, amplitude=0.5), SR, subtype="FLOAT")
    write(folder / "ramp.wav", (np.arange(1, 1001, dtype=np.float32) / 1000)[np.newaxis], SR, subtype="FLOAT")
    loop = np.zeros((1, 4 * SR), dtype=np.float32)
    loop[0, :: SR // 2] = 1.0
    write(folder / "loop.wav", loop, SR, subtype="FLOAT")
    write(folder / "tone48k.wav", tone(1000, 1.0, 48_000, amplitude=0.5), 48_000, subtype="FLOAT")
    stereo = np.zeros((2, SR), dtype=np.float32)
    stereo[:, 0] = 1.0
    write(folder / "stereo.wav", stereo, SR, subtype="FLOAT")
    manifest = {"loop": {"path": "loop.wav", "bpm": 120.0, "sampleId": 77}, "tone": {"name": "A4"}}
    (folder / "library.json").write_text(json.dumps(manifest))
    return folder


def clip(cid, audio, position=0.0, **fields):
    return {"id": cid, "position": position, "source": {"audioId": audio}, "speed": 1.0, **fields}


def project(*tracks, tempo=120.0, **fields):
    return {"tempo": tempo, "tracks": list(tracks), **fields}


def track(tid, *clips, **fields):
    return {"id": tid, "clips": list(clips), **fields}


def render(tmp_path, library, document, name="out.wav", **options):
    output = tmp_path / name
    reply = render_document(document, library, output, **options)
    audio, _ = read(output)
    assert audio.shape[1] == reply["frames"]
    return audio, reply


def impulses(audio, channel=0):
    return np.flatnonzero(np.abs(audio[channel]) > 1e-6).tolist()


def test_positions_land_on_the_sample(tmp_path, library):
    document = project(track("t", clip("a", "imp", 1.5), clip("b", "imp", 3.001)), playHead={"start": 0, "end": 8})
    audio, _ = render(tmp_path, library, document)
    assert impulses(audio) == [33_075, round(3.001 * 0.5 * SR)]
    assert audio[0, 33_075] == pytest.approx(CENTRE, abs=1e-6) and audio[1, 33_075] == pytest.approx(CENTRE, abs=1e-6)
    assert audio.shape[1] == 8 * SR // 2


def test_numeric_loop_repeats_until_the_render_ends(tmp_path, library):
    document = project(track("t", clip("a", "imp", 0.5), loopEvery=2), playHead={"end": 8.0})
    audio, reply = render(tmp_path, library, document)
    assert impulses(audio) == [SR // 4 + k * SR for k in range(4)]
    assert reply["clips"] == 4


def test_auto_loop_rounds_the_span_up_to_whole_bars(tmp_path, library):
    document = project(track("t", clip("a", "imp", 0.0), clip("b", "imp", 5.0)), playHead={"end": 24.0})
    document["tracks"][0]["loopEvery"] = "auto"
    audio, _ = render(tmp_path, library, document)
    bar = 2 * SR
    assert impulses(audio) == [0, 5 * SR // 2, 2 * bar, 2 * bar + 5 * SR // 2, 4 * bar, 4 * bar + 5 * SR // 2]


def test_auto_loop_ignores_float_noise_past_a_bar(tmp_path, library):
    noisy = clip("a", "tone", 0.0, cutStart=0.0, cutEnd=2.0 + 0.004 * 0.5)
    document = project(track("t", noisy, loopEvery="auto"), playHead={"end": 12.0})
    from mixdown.api_compat.twoshot.library import SampleLibrary
    from mixdown.api_compat.twoshot.translate import translate

    parsed = parse_document(document)
    plan = translate(parsed.project, SampleLibrary(library), parsed.request, detect_bpm=lambda s: None)
    positions = sorted(c.position for c in plan.timeline.tracks[0].clips)
    assert positions == [0, 2 * SR, 4 * SR]


@pytest.mark.parametrize("tempo,source_tempo,ratio", [(150.0, None, 1.25), (90.0, None, 0.75), (150.0, 100.0, 1.5)])
def test_tempo_sync_ratio_and_length(tmp_path, library, tempo, source_tempo, ratio):
    source = {"audioId": "loop"} if source_tempo is None else {"audioId": "loop", "tempo": source_tempo}
    document = project(track("t", {"id": "c", "position": 0, "source": source, "speed": "tempo-sync"}), tempo=tempo)
    audio, _ = render(tmp_path, library, document)
    assert audio.shape[1] == round(4 * SR / ratio)
    found = impulses(np.where(np.abs(audio) > 0.3, audio, 0))
    peaks = [p for p in found if not found or p - 1 not in found]
    assert abs(peaks[1] - round(SR // 2 / ratio)) <= 2


def test_tempo_sync_by_sample_id_through_the_manifest(tmp_path, library):
    document = project(track("t", {"id": "c", "source": {"sampleId": 77}, "speed": "tempo-sync"}), tempo=240.0)
    audio, _ = render(tmp_path, library, document)
    assert audio.shape[1] == 2 * SR


def test_tempo_null_reads_beats_as_seconds_and_syncs_nothing(tmp_path, library):
    document = project(track("t", clip("a", "imp", 1.25), {"id": "b", "position": 2.0, "source": {"audioId": "loop"},
                                                           "speed": "tempo-sync"}), tempo=None)
    audio, _ = render(tmp_path, library, document)
    assert impulses(audio)[0] == round(1.25 * SR)
    assert audio.shape[1] == 2 * SR + 4 * SR


@pytest.mark.parametrize("speed,length", [(2.0, SR // 2), ("1.5", round(SR / 1.5)), ("0.5", 2 * SR)])
def test_numeric_speed_sets_the_length(tmp_path, library, speed, length):
    audio, _ = render(tmp_path, library, project(track("t", clip("a", "imp", 0, speed=speed))))
    assert audio.shape[1] == length


@pytest.mark.parametrize("offset", [-12.0, 7.0, 0.5])
def test_pitch_offset_moves_a_tone(tmp_path, library, offset):
    audio, _ = render(tmp_path, library, project(track("t", clip("a", "tone", 0, pitchOffset=offset))))
    assert audio.shape[1] == 2 * SR
    fit = fit_tone(middle_half(audio[0]), SR)
    assert abs(fit.cents_from(440 * 2 ** (offset / 12))) < 0.1


def test_reverse_and_cut(tmp_path, library):
    cut = clip("a", "ramp", 0, cutStart=100 / SR, cutEnd=110 / SR, reversed=True, pan=-1.0)
    audio, _ = render(tmp_path, library, project(track("t", cut)))
    np.testing.assert_allclose(audio[0], np.arange(110, 100, -1) / 1000, atol=1e-6)


@pytest.mark.parametrize("cut,frames", [({"cutEnd": 99.0}, 1000), ({"cutStart": 0.5, "cutEnd": 0.1}, 1000),
                                         ({"cutStart": 500 / SR}, 500), ({"cutStart": 5.0}, 1000), ({}, 1000)])
def test_cut_clamping(tmp_path, library, cut, frames):
    audio, _ = render(tmp_path, library, project(track("t", clip("a", "ramp", 0, **cut))))
    assert audio.shape[1] == frames


def test_volume_times_volume_and_pan_law(tmp_path, library):
    document = project(track("t", clip("a", "imp", 0, volume=0.5, pan=-0.5), volume=0.8, pan=0.25))
    audio, _ = render(tmp_path, library, document)
    angle = (-0.5 + 1) * math.pi / 4
    balance_angle = (0.25 + 1) * math.pi / 4
    left = 0.4 * math.cos(angle) * min(1, math.sqrt(2) * math.cos(balance_angle))
    right = 0.4 * math.sin(angle) * min(1, math.sqrt(2) * math.sin(balance_angle))
    assert audio[0, 0] == pytest.approx(left, abs=1e-6) and audio[1, 0] == pytest.approx(right, abs=1e-6)
    stereo, _ = render(tmp_path, library, project(track("t", clip("s", "stereo", 0, pan=1.0))), name="s.wav")
    assert stereo[0, 0] == pytest.approx(0, abs=1e-7) and stereo[1, 0] == pytest.approx(1.0)


def solo_project(solo):
    return project(
        track("t1", clip("c1", "imp", 0), clip("c2", "imp", 1, muted=True)),
        track("t2", clip("c3", "imp", 2), muted=True),
        track("t3", clip("c4", "imp", 3)),
        soloTarget=solo, playHead={"end": 4},
    )


@pytest.mark.parametrize("solo,expected", [
    (None, [0, 3 * SR // 2]), ({"track": "t1"}, [0]), ({"track": "t2"}, [SR]), ({"clip": "c2"}, [SR // 2]),
    ({"clip": "c3"}, [SR]),
])
def test_solo_and_mute(tmp_path, library, solo, expected):
    audio, _ = render(tmp_path, library, solo_project(solo))
    assert impulses(audio) == expected


def test_render_range_defaults_and_overrides(tmp_path, library):
    document = project(track("t", clip("a", "imp", 1), clip("b", "imp", 6, muted=True)))
    audio, _ = render(tmp_path, library, document)
    assert audio.shape[1] == SR // 2 + SR
    document["playHead"] = {"start": 1.0, "end": 4.0}
    audio, _ = render(tmp_path, library, document, name="b.wav")
    assert audio.shape[1] == 3 * SR // 2 and impulses(audio) == [0]
    audio, _ = render(tmp_path, library, {"project": document, "render": {"startTime": 0.25, "endTime": 1.0}},
                      name="c.wav")
    assert audio.shape[1] == 3 * SR // 4 and impulses(audio) == [SR // 4]
    audio, _ = render(tmp_path, library, document, name="d.wav", start=0.0, end=0.5)
    assert audio.shape[1] == SR // 2 and impulses(audio) == []


def test_loops_without_an_end_stop_at_the_last_natural_clip_end(tmp_path, library):
    document = project(track("t", clip("a", "imp", 0), loopEvery=1), track("u", clip("b", "tone", 1)))
    audio, _ = render(tmp_path, library, document)
    assert audio.shape[1] == SR // 2 + 2 * SR
    assert impulses(np.where(np.abs(audio) > 0.6, audio, 0)) == [k * SR // 2 for k in range(5)]


def test_sources_at_other_rates_are_resampled_once(tmp_path, library):
    audio, reply = render(tmp_path, library, project(track("t", clip("a", "tone48k", 0))), sample_rate=48_000)
    assert reply["sampleRate"] == 48_000 and audio.shape[1] == 48_000
    audio, _ = render(tmp_path, library, project(track("t", clip("a", "tone48k", 0))), name="b.wav")
    assert audio.shape[1] == SR
    assert abs(fit_tone(middle_half(audio[0]), SR).cents_from(1000.0)) < 0.01


def test_one_shot_placed_400_times_costs_one_stretch(tmp_path, library, monkeypatch):
    from mixdown.engine import materials

    calls = []
    real = materials.stretch
    monkeypatch.setattr(materials, "stretch", lambda *a, **k: calls.append(1) or real(*a, **k))
    clips = [clip(f"c{i}", "imp", i * 0.25, speed=1.25, pitchOffset=2.0) for i in range(400)]
    _, reply = render(tmp_path, library, project(track("t", *clips)))
    assert reply["clips"] == 400 and len(calls) == 1


DOCUMENT_PROJECT = {
    "name": "My New Track", "version": "1.0.0", "tempo": 120.0, "grid": 0.25, "snapToGrid": True,
    "playHead": {"start": 0.0, "end": 16.0}, "soloTarget": None,
    "tracks": [{
        "id": "550e8400-e29b-41d4-a716-446655440001", "name": "Drums",
        "clips": [{
            "id": "550e8400-e29b-41d4-a716-446655440002", "name": "Kick Pattern",
            "color": {"hue": 0.8, "saturation": 0.7, "lightness": 0.5}, "position": 0.0, "muted": False,
            "volume": 0.8, "source": {"audioId": "550e8400-e29b-41d4-a716-446655440003", "sampleId": 12345},
            "pitchOffset": 0.0, "reversed": False, "speed": "tempo-sync", "cutStart": 0.0, "cutEnd": 2.5, "pan": 0.0,
        }],
        "pan": 0.0, "loopEvery": "auto", "volume": 0.9, "muted": False,
    }],
}
DOCUMENT_RENDER = {"format": "wav", "quality": "high", "startTime": 0.0, "endTime": 60.0}


def test_the_documents_own_examples_parse_and_render(tmp_path, library):
    loop = np.zeros((2, 4 * SR), dtype=np.float32)
    loop[:, :: SR // 2] = 0.5
    write(library / "550e8400-e29b-41d4-a716-446655440003.wav", loop, SR)
    parsed = parse_document({"project": DOCUMENT_PROJECT, "render": DOCUMENT_RENDER})
    assert parsed.project.tracks[0].clips[0].model_extra["color"]["hue"] == 0.8
    jobs = JobRegistry(tmp_path / "jobs")
    output = tmp_path / "doc.wav"
    reply = render_document({"project": DOCUMENT_PROJECT, "render": DOCUMENT_RENDER}, library, output, jobs=jobs)
    assert set(reply) >= {"jobId", "status", "estimatedCompletion"} and reply["status"] == "completed"
    assert soundfile.info(str(output)).frames == 60 * SR
    assert jobs.get(reply["jobId"])["status"] == "completed"


@pytest.mark.parametrize("mutate,code,field", [
    (lambda p: p["tracks"][0]["clips"][0].update(speed="fast"), "VALIDATION_ERROR", "tracks[0].clips[0].speed"),
    (lambda p: p["tracks"][0]["clips"][0].update(speed=float("nan")), "VALIDATION_ERROR", "tracks[0].clips[0].speed"),
    (lambda p: p["tracks"][0]["clips"][0].update(volume="0.5"), "VALIDATION_ERROR", "tracks[0].clips[0].volume"),
    (lambda p: p["tracks"][0]["clips"][0].update(cutStart=-1.0), "VALIDATION_ERROR", "tracks[0].clips[0].cutStart"),
    (lambda p: p["tracks"][0]["clips"][0].update(position=float("inf")), "VALIDATION_ERROR",
     "tracks[0].clips[0].position"),
    (lambda p: p["tracks"][0].update(loopEvery=-4), "VALIDATION_ERROR", "tracks[0].loopEvery"),
    (lambda p: p.update(tempo="fast"), "VALIDATION_ERROR", "tempo"),
    (lambda p: p["tracks"][0]["clips"][0]["source"].update(audioId="nope"), "NOT_FOUND",
     "tracks[0].clips[0].source.audioId"),
    (lambda p: p["tracks"][0]["clips"][0]["source"].update(audioId="../library/imp"), "VALIDATION_ERROR",
     "tracks[0].clips[0].source.audioId"),
    (lambda p: p["tracks"][0]["clips"][0].update(source={"sampleId": 4}), "NOT_FOUND",
     "tracks[0].clips[0].source.sampleId"),
    (lambda p: p.update(soloTarget={"track": "missing"}), "NOT_FOUND", "soloTarget.track"),
    (lambda p: p["tracks"][0]["clips"][0].update(speed=100), "VALIDATION_ERROR", "tracks[0].clips[0].speed"),
    (lambda p: p.update(playHead={"start": 4, "end": 2}), "VALIDATION_ERROR", "playHead.end"),
])
def test_bad_projects_answer_with_the_error_body(tmp_path, library, mutate, code, field):
    document = project(track("t", clip("a", "imp", 0)))
    mutate(document)
    with pytest.raises(TwoShotError) as info:
        render_document(document, library, tmp_path / "x.wav")
    body = info.value.body()
    assert body["code"] == code and body["details"]["field"] == field
    assert set(body) == {"error", "code", "details", "timestamp", "path"}
    assert not (tmp_path / "x.wav").exists()


def test_manifest_paths_escaping_the_library_are_refused(tmp_path, library):
    (tmp_path / "secret.wav").write_bytes((library / "imp.wav").read_bytes())
    (library / "library.json").write_text(json.dumps({"evil": {"path": "../secret.wav"}}))
    with pytest.raises(TwoShotError) as info:
        render_document(project(track("t", clip("a", "evil", 0))), library, tmp_path / "x.wav")
    assert info.value.code == "VALIDATION_ERROR" and "escapes" in info.value.message
    (library / "library.json").write_text(json.dumps({"evil": {"path": str(tmp_path / "secret.wav")}}))
    with pytest.raises(TwoShotError, match="escapes"):
        render_document(project(track("t", clip("a", "evil", 0))), library, tmp_path / "x.wav")


def test_cli_render_json_reply_status_and_error_body(tmp_path, library, capsys):
    jobs = tmp_path / "jobs"
    path = tmp_path / "project.json"
    path.write_text(json.dumps({"project": project(track("t", clip("a", "imp", 0))), "render": {"quality": "low"}}))
    out = tmp_path / "cli.flac"
    status = main(["render", str(path), "--library", str(library), "-o", str(out), "--jobs", str(jobs), "--json"])
    reply = json.loads(capsys.readouterr().out)
    assert status == 0 and reply["format"] == "flac" and soundfile.info(str(out)).subtype == "PCM_16"
    assert main(["render", "--status", reply["jobId"], "--jobs", str(jobs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    bad = copy.deepcopy(json.loads(path.read_text()))
    bad["project"]["tracks"][0]["clips"][0]["speed"] = "warp"
    path.write_text(json.dumps(bad))
    status = main(["render", str(path), "--library", str(library), "-o", str(tmp_path / "bad.wav"), "--json"])
    captured = capsys.readouterr()
    assert status == 2
    body = json.loads(captured.out)
    assert body["code"] == "VALIDATION_ERROR" and body["details"]["field"] == "tracks[0].clips[0].speed"
    assert not (tmp_path / "bad.wav").exists()
    path.write_text("{not json")
    assert main(["render", str(path), "--library", str(library), "-o", str(tmp_path / "bad.wav")]) == 2
    assert main(["render", "--status", "render-" + "0" * 32, "--jobs", str(jobs)]) == 2


@pytest.mark.parametrize("fmt,codec", [("mp3", "mp3"), ("ogg", "vorbis"), ("flac", "flac"), ("m4a", "aac")])
def test_renders_encode_to_every_format_with_the_quality_settings(tmp_path, library, fmt, codec):
    import shutil
    import subprocess

    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe not installed")
    output = tmp_path / f"song.{fmt}"
    reply = render_document(project(track("t", clip("a", "tone", 0))), library, output, quality="medium")
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(output)],
                                      capture_output=True, text=True, check=True).stdout)["streams"][0]
    assert probe["codec_name"] == codec and reply["frames"] == 2 * SR
    if fmt == "mp3":
        assert int(probe["bit_rate"]) == 192_000
        decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(output), "-f", "f32le", "-"],
                                 capture_output=True, check=True).stdout
        assert len(decoded) // 8 == 2 * SR


def test_tempo_sync_detects_the_bpm_when_nobody_gives_it(tmp_path, library):
    loop = np.zeros((1, 4 * SR), dtype=np.float32)
    for beat in range(8):
        start = beat * SR // 2
        loop[0, start : start + 2000] = np.exp(-np.arange(2000) / 300) * (1.0 if beat % 2 == 0 else 0.6)
    write(library / "unlabelled.wav", loop, SR, subtype="FLOAT")
    document = project(track("t", {"id": "c", "source": {"audioId": "unlabelled"}, "speed": "tempo-sync"}),
                       tempo=150.0)
    audio, reply = render(tmp_path, library, document)
    assert reply["tempoSync"]["unlabelled"] == pytest.approx(1.25, abs=0.005)
    assert abs(audio.shape[1] - round(4 * SR / 1.25)) <= round(4 * SR / 1.25 * 0.004)
