"""Songclip create events a user gets wrong: JSEND ``fail`` naming the field, exit 2 (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixdown.api_compat.songclip.clips import SongclipFailError, render_clips
from mixdown.formats import write
from tests.bad_input import cli, refused

SR = 44_100


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.wav"
    write(path, np.full((2, 2 * SR), 0.1, dtype=np.float32), SR, subtype="FLOAT")
    return path


def _spec(**fields):
    return {"context": {"uniqueId": "u1"}, "start": 0, "end": 1000, **fields}


def _run(tmp_path, song, document):
    path = tmp_path / "spec.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return cli("songclip", path, "--song", song, "-o", tmp_path / "clip.wav", "--json")


@pytest.mark.parametrize(("fields", "field"), [
    ({"end": 1e308}, "end"), ({"start": 1e308, "end": 1e308}, "start"), ({"fadeIn": 1e308}, "fadeIn"),
])
def test_overflowing_milliseconds_fail_the_field(tmp_path, song, fields, field):
    body = refused(_run(tmp_path, song, _spec(**fields)), field)
    assert body["status"] == "fail"
    assert not (tmp_path / "clip.wav").exists()


def test_a_list_names_the_spec_that_overflows(tmp_path, song):
    body = refused(_run(tmp_path, song, [_spec(), _spec(end=1e308)]), "[1].end")
    assert list(body["data"]) == ["[1].end"]


def test_nan_in_the_context_never_reaches_the_reply(tmp_path, song):
    body = refused(_run(tmp_path, song, '{"context": {"uniqueId": "u", "score": NaN}, "start": 0, "end": 10}'),
                   "spec")
    assert "NaN is not a JSON number" in body["data"]["spec"]
    with pytest.raises(SongclipFailError) as caught:
        render_clips(_spec(context={"uniqueId": "u", "deep": [{"x": float("inf")}]}), song, tmp_path / "c.wav")
    assert "context.deep[0].x" in caught.value.data
    with pytest.raises(SongclipFailError) as caught:  # found by the campaign: a lone surrogate broke the clip id
        render_clips(_spec(songId="\udcff"), song, tmp_path / "c.wav")
    assert "songId" in caught.value.data


def test_union_tags_do_not_leak_into_songclip_fields(tmp_path, song):
    body = refused(_run(tmp_path, song, _spec(songId=1.5)), "songId")
    assert body["data"]["songId"] == "Input should be a valid string or a valid integer"


@pytest.mark.parametrize(("data", "words"), [
    (b"[" * 5000 + b"]" * 5000, "nested deeper"),
    (b'{"context": {"uniqueId": "\xff"}}', "not UTF-8"),
])
def test_spec_files_the_loader_refuses(tmp_path, song, data, words):
    path = tmp_path / "spec.json"
    path.write_bytes(data)
    body = refused(cli("songclip", path, "--song", song, "-o", tmp_path / "c.wav", "--json"), "spec")
    assert words in body["data"]["spec"]


def test_options_that_are_not_json(tmp_path, song):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_spec()))
    body = refused(cli("songclip", path, "--song", song, "-o", tmp_path / "c.wav", "--json", "--options", "[" * 999),
                   "options")
    assert "--options" in body["data"]["options"]
