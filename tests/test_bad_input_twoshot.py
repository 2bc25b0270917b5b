"""TwoShot bodies and sample libraries a user gets wrong: each is refused with exit 2 and an error body
naming the field (issue 18), never an internal error, a hang or an escape."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from mixdown.api_compat.fields import DEFAULT_MAX_DURATION_S, MAX_FRAMES, shown, whole_frames
from mixdown.api_compat.json_input import MAX_DEPTH, parse_json
from mixdown.errors import InvalidInputError
from mixdown.formats import read, write
from tests.bad_input import cli, process, refused

SR = 44_100


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    write(folder / "kick.wav", np.full((1, 4410), 0.25, dtype=np.float32), SR, subtype="FLOAT")
    return folder


def _project(clip=None, track=None, **fields):
    clip = {"id": 1, "source": {"audioId": "kick"}, **(clip or {})}
    return {"tempo": 120, "tracks": [{"id": "t", "clips": [clip], **(track or {})}], **fields}


def _render(tmp_path, library, document, *options):
    path = tmp_path / "p.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return cli("render", path, "--library", library, "-o", tmp_path / "out.wav", "--json", *options)


@pytest.mark.parametrize(("document", "field"), [
    (_project({"position": 1e308}), "tracks[0].clips[0].position"),
    (_project(track={"loopEvery": 1e-300}), "tracks[0].loopEvery"),
    ({**_project(), "tempo": 5e-324}, "tempo"),
    ({**_project(), "playHead": {"end": 1e308}}, "playHead.end"),
    ({"project": _project(), "render": {"endTime": 1e308}}, "endTime"),
    ({"project": _project(), "render": {"startTime": 1e308}}, "startTime"),
    ('{"tempo": 120, "tracks": [{"id": "t", "clips": [{"id": 1, "source": {"audioId": "kick"}, "speed": '
     + "9" * 400 + "}]}]}", "tracks[0].clips[0].speed"),
])
def test_overflowing_times_are_refused_at_the_conversion(tmp_path, library, document, field):
    body = refused(_render(tmp_path, library, document), field)
    assert body["code"] == "VALIDATION_ERROR"
    assert not (tmp_path / "out.wav").exists()


def test_a_huge_loop_every_just_never_repeats(tmp_path, library):
    code, out, err = _render(tmp_path, library, _project(track={"loopEvery": 1e308}))
    assert code == 0, err
    assert json.loads(out)["clips"] == 1


def test_end_option_of_1e308_is_refused(tmp_path, library):
    refused(_render(tmp_path, library, _project(), "--end", "1e308"), "endTime")


def test_render_length_is_bounded_by_max_duration(tmp_path, library):
    body = refused(_render(tmp_path, library, {"project": _project(), "render": {"endTime": 1e9}}), "endTime")
    assert f"{DEFAULT_MAX_DURATION_S:g} s limit" in body["details"]["message"]
    refused(_render(tmp_path, library, _project(), "--end", "3", "--max-duration", "2"), "endTime")
    code, out, _ = _render(tmp_path, library, _project(), "--end", "3", "--max-duration", "0")
    assert code == 0 and json.loads(out)["frames"] == 3 * SR


def test_whole_frames_bounds_and_rounds():
    assert whole_frames(2.5, "x") == 3 and whole_frames(-0.5, "x") == 0
    assert whole_frames(float(MAX_FRAMES), "x") == MAX_FRAMES
    for bad in (float("inf"), float("nan"), MAX_FRAMES * 2.0, -MAX_FRAMES * 2.0):
        with pytest.raises(InvalidInputError) as caught:
            whole_frames(bad, "where")
        assert caught.value.field == "where"


@pytest.mark.parametrize(("render", "kind"), [("fast", "str"), ([], "list"), (5, "int")])
def test_a_render_body_that_is_not_an_object_is_refused(tmp_path, library, render, kind):
    body = refused(_render(tmp_path, library, {"project": _project(), "render": render}), "render")
    assert body["details"]["message"] == f"expected an object, got {kind}"


@pytest.mark.parametrize("document", ["[1, 2]", '"text"', "5", "null"])
def test_a_document_that_is_not_an_object_is_blamed_on_the_project(tmp_path, library, document):
    body = refused(_render(tmp_path, library, document), "project")
    assert "expected a JSON object" in body["details"]["message"]


def test_union_member_tags_do_not_leak_into_field_names(tmp_path, library):
    document = {"tempo": 120, "tracks": [{"id": 1.5, "clips": []}]}
    body = refused(_render(tmp_path, library, document), "tracks[0].id")
    assert body["details"]["message"] == "Input should be a valid string or a valid integer"


def test_a_huge_bad_value_is_not_echoed_whole(tmp_path, library):
    document = _project({"speed": "x" * 100_000})
    code, out, err = _render(tmp_path, library, document)
    refused((code, out, err), "tracks[0].clips[0].speed")
    assert len(out) < 1000 and len(err) < 500
    assert len(shown("y" * 100_000)) < 80


@pytest.mark.parametrize(("text", "words"), [
    ("[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
    ('{"tempo": NaN, "tracks": []}', "NaN is not a JSON number"),
    ('{"tempo": 1e400, "tracks": []}', "too large"),
    ('{"tempo": 120, "tracks": [}', "is not valid JSON"),
    ('{"n": ' + "7" * 5000 + "}", "too many digits"),
])
def test_json_the_loader_refuses(tmp_path, library, text, words):
    body = refused(_render(tmp_path, library, text), "project")
    assert words in body["details"]["message"]


def test_non_utf8_project_file(tmp_path, library):
    path = tmp_path / "p.json"
    path.write_bytes(b'{"tempo": "\xff\xfe"}')
    body = refused(cli("render", path, "--library", library, "-o", tmp_path / "o.wav", "--json"), "project")
    assert body["details"]["message"] == "p.json is not UTF-8 text (byte 0xff at offset 11)"


def test_parse_json_refuses_lone_surrogates():
    with pytest.raises(InvalidInputError, match="surrogate"):
        parse_json('{"audioId": "\\udcff"}', "x")
    assert parse_json('"\\ud83d\\ude00"') == "\U0001f600"


def test_parse_json_accepts_a_byte_order_mark_and_bounds_depth():
    assert parse_json(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(InvalidInputError):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "x")


# --- library paths -------------------------------------------------------------------------------------


def _library_render(tmp_path, library, audio_id, manifest=None):
    if manifest is not None:
        (library / "library.json").write_text(json.dumps(manifest))
    return _render(tmp_path, library, _project({"source": {"audioId": audio_id}}))


def test_an_audio_id_over_255_bytes_is_not_a_file_name(tmp_path, library):
    refused(_library_render(tmp_path, library, "x" * 300), "tracks[0].clips[0].source.audioId")


def test_an_audio_id_with_a_nul_is_not_a_file_name(tmp_path, library):
    refused(_library_render(tmp_path, library, "ki\0ck"), "tracks[0].clips[0].source.audioId")


@pytest.mark.parametrize("path", [".", "a\0b", "y" * 300, "../lib/kick.wav/.."])
def test_manifest_paths_that_are_no_audio_file(tmp_path, library, path):
    refused(_library_render(tmp_path, library, "kick", {"kick": {"path": path}}), "library.json['kick'].path")


def test_a_manifest_path_in_a_symlink_loop(tmp_path, library):
    os.symlink("loop.wav", library / "loop.wav")
    refused(_library_render(tmp_path, library, "kick", {"kick": {"path": "loop.wav"}}),
            "library.json['kick'].path")
    (library / "library.json").unlink()
    refused(_library_render(tmp_path, library, "loop"), "tracks[0].clips[0].source.audioId")


def test_a_fifo_in_the_library_is_refused_not_waited_on(tmp_path, library):
    os.mkfifo(library / "pipe.wav")
    results = []
    for manifest in ({"kick": {"path": "pipe.wav"}}, None):
        worker = threading.Thread(target=lambda m=manifest: results.append(
            _library_render(tmp_path, library, "kick" if m else "pipe", m)), daemon=True)
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "the render waited on the FIFO"
        (library / "library.json").unlink(missing_ok=True)
    refused(results[0], "library.json['kick'].path")
    refused(results[1], "tracks[0].clips[0].source.audioId")


def test_the_source_cache_never_opens_a_fifo(tmp_path):
    from mixdown.api_compat.sources import SourceCache
    from mixdown.errors import AudioReadError

    os.mkfifo(tmp_path / "pipe.wav")
    with pytest.raises(AudioReadError, match="FIFO"):
        SourceCache().get(tmp_path / "pipe.wav", SR, "pipe")


def test_a_real_process_refuses_overflow_with_the_error_body(tmp_path, library):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_project({"position": 1e308})))
    code, out, err = process("render", path, "--library", library, "-o", tmp_path / "o.wav", "--json")
    body = refused((code, out, err), "tracks[0].clips[0].position")
    assert body["code"] == "VALIDATION_ERROR" and body["path"] == "/project/render"
    assert not (tmp_path / "o.wav").exists()
    code, out, _ = process("render", path.parent / "missing.json", "--library", library, "-o", tmp_path / "o.wav")
    assert code == 2
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(_project()))
    assert cli("render", ok, "--library", library, "-o", tmp_path / "ok.wav")[0] == 0
    assert read(tmp_path / "ok.wav")[0].shape[1] == 4410


def test_an_undecodable_library_file_is_described_in_words(tmp_path, library):
    (library / "kick.wav").write_bytes(b"not audio at all, just words" * 10)
    body = refused(_library_render(tmp_path, library, "kick"), "tracks[0].clips[0].source")
    message = body["details"]["message"]
    assert "cannot decode" in message and "Errno" not in message and "1094995529" not in message
