"""One reply convention for every command (``mixdown.console``): error objects, exit codes, -q/-v, warnings,
usage errors under --json, plain modes, the progress line and --help."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from mixdown import cli, console, progress
from mixdown.api_compat.songclip.clips import render_clips
from mixdown.api_compat.twoshot.service import parse_document
from mixdown.formats import write
from tests.conftest import tone
from tests.test_songclip import EVENT, make_song
from tests.test_twoshot import clip, project, track

OWN_CODES = {"invalid_input", "unreadable_audio", "output", "usage", "internal", "interrupted"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A short song, a TwoShot library and project, a Songclip spec, a manifest; MIXDOWN_HOME in tmp."""
    monkeypatch.setenv("MIXDOWN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MIXDOWN_TWISTEDWAVE_WEBHOOK", raising=False)
    song = tmp_path / "song.wav"
    write(song, tone(440, 1.0, 44_100, amplitude=0.3, channels=2), 44_100, subtype="PCM_16")
    library = tmp_path / "library"
    library.mkdir()
    write(library / "tone.wav", tone(440, 0.5, 44_100, amplitude=0.5), 44_100, subtype="FLOAT")
    (tmp_path / "project.json").write_text(json.dumps(project(track("t", clip("c", "tone", 0)))))
    (tmp_path / "spec.json").write_text(json.dumps({**EVENT, "end": 10}))
    (tmp_path / "manifest.jsonl").write_text('{"kind": "nope"}\n')
    return {"song": str(song), "library": str(library), "project": str(tmp_path / "project.json"),
            "spec": str(tmp_path / "spec.json"), "manifest": str(tmp_path / "manifest.jsonl"),
            "missing": str(tmp_path / "missing.wav"), "out": str(tmp_path / "out.wav"),
            "nodir": str(tmp_path / "nodir" / "x.wav"), "store": str(tmp_path / "store"), "tmp": str(tmp_path)}


# (argv, exit status, shape: "own" / "twoshot" / "jsend" / "twistedwave", expected field)
FAILURES = [
    (["loudness", "{missing}"], 2, "own", "path"),
    (["info", "{missing}"], 2, "own", "path"),
    (["bpm", "{missing}"], 2, "own", "path"),
    (["normalize", "{missing}", "-o", "{out}", "--peak", "-1"], 2, "own", "path"),
    (["normalize", "{song}", "-o", "{nodir}", "--peak", "-1"], 2, "own", "output"),
    (["stretch", "{song}", "-o", "{out}", "--ratio", "0"], 2, "own", "ratio"),
    (["stretch", "{song}", "-o", "{nodir}"], 2, "own", "output"),
    (["export", "{song}", "-o", "{out}", "--spec", "["], 2, "own", "--spec"),
    (["export", "{song}", "-o", "{nodir}"], 2, "own", "output"),
    (["batch", "{missing}", "--out", "{tmp}/batch"], 2, "own", None),
    (["demo", "-o", "{song}/x.wav"], 2, "own", "output"),
    (["render", "{project}", "-o", "{out}"], 2, "twoshot", "--library"),
    (["render", "{project}", "--library", "{library}"], 2, "twoshot", "--output"),
    (["render", "{project}", "--library", "{library}", "-o", "{nodir}"], 2, "twoshot", "output"),
    (["songclip", "{spec}", "--song", "{song}", "-o", "{out}"], 2, "jsend", "end"),
    (["job", "get", "job_nope", "--store", "{store}"], 2, "twistedwave", None),
    (["document", "get", "doc_nope", "--store", "{store}"], 2, "twistedwave", None),
    (["job", "create", "{missing}", "--store", "{store}"], 2, "twistedwave", None),
    (["serve", "--port", "70000", "--home", "{tmp}/server"], 2, "own", "--port"),
]


def _check_shape(body: dict, shape: str, field: str | None) -> None:
    if shape == "own":
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
        assert body["error"]["code"] in OWN_CODES and body["error"]["message"]
        if field is not None:
            assert body["error"]["field"] == field
    elif shape == "twoshot":
        assert set(body) == {"error", "code", "details", "timestamp", "path"}
        assert body["code"] == "VALIDATION_ERROR" and body["details"]["field"] == field
    elif shape == "jsend":
        assert body["status"] == "fail" and (field is None or field in body["data"])
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"message", "param"}


@pytest.mark.parametrize("argv,status,shape,field", FAILURES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_command_answers_a_failure_with_its_error_object_under_json(capsys, files, argv, status, shape,
                                                                          field):
    words = [word.format(**files) for word in argv]
    code, out, err = run(capsys, *words, "--json")
    assert code == status
    _check_shape(json.loads(out), shape, field)
    assert err.count("\n") == 1 and err.startswith(f"mixdown {argv[0]}") and "Traceback" not in err
    code, out, err = run(capsys, *words)
    assert code == status and out == "" and err.count("\n") == 1


USAGE = [
    (["loudness"], "own", "FILE"),
    (["info"], "own", "FILE"),
    (["bpm", "{song}", "--loop", "--no-loop"], "own", "--no-loop"),
    (["normalize", "{song}", "-o", "{out}", "--lufs", "abc"], "own", "--lufs"),
    (["stretch", "{song}"], "own", "--output"),
    (["export"], "own", "IN"),
    (["batch", "{manifest}"], "own", "--out"),
    (["demo", "--quality", "ultra"], "own", "--quality"),
    (["demo", "--bogus"], "own", "--bogus"),
    (["render", "{project}", "--sample-rate", "fast"], "twoshot", "--sample-rate"),
    (["songclip", "{spec}", "-o", "{out}"], "jsend", "--song"),
    (["job", "get"], "twistedwave", None),
    (["document", "list", "--include-deleted=3"], "twistedwave", None),
    (["serve", "--workers", "0"], "own", "--workers"),
]


@pytest.mark.parametrize("argv,shape,field", USAGE, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_option_errors_print_the_error_object_under_json_and_exit_2(capsys, files, argv, shape, field):
    code, out, err = run(capsys, *(word.format(**files) for word in argv), "--json")
    assert code == 2
    body = json.loads(out)
    if shape == "own":
        assert body["error"]["code"] == "usage"
    _check_shape(body, shape, field)
    assert err.count("\n") == 1 and "usage:" not in err


def test_a_huge_bad_option_value_is_not_echoed_whole(capsys, files):
    huge = "9" * 100_000 + "x"
    code, out, err = run(capsys, "normalize", files["song"], "-o", files["out"], "--lufs", huge, "--json")
    assert code == 2 and len(out) < 1000 and len(err) < 500 and json.loads(out)["error"]["field"] == "--lufs"


def test_a_bare_mixdown_and_an_unknown_command_are_usage_errors(capsys):
    code, out, err = run(capsys, "--json")
    assert code == 2 and json.loads(out)["error"]["code"] == "usage"
    code, out, err = run(capsys, "mix")
    assert code == 2 and out == "" and "invalid choice" in err


def test_internal_failures_exit_1_with_the_internal_code_and_a_traceback_only_with_v(capsys, files, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr("mixdown.formats.commands.probe", broken)
    code, out, err = run(capsys, "info", files["song"], "--json")
    assert code == 1 and json.loads(out) == {"error": {"code": "internal", "message": "RuntimeError: kaput",
                                                       "field": None}}
    assert err == "mixdown info: internal error: RuntimeError: kaput\n"
    code, out, err = run(capsys, "info", files["song"], "-v")
    assert code == 1 and "Traceback" in err and "RuntimeError: kaput" in err


def test_ctrl_c_exits_130_with_the_interrupted_code(capsys, files, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("mixdown.formats.commands.probe", interrupted)
    code, out, err = run(capsys, "info", files["song"], "--json")
    assert code == 130 and json.loads(out)["error"]["code"] == "interrupted"
    assert err == "mixdown info: interrupted\n"


def test_q_and_v(capsys, files):
    code, out, err = run(capsys, "loudness", files["song"], "-v")
    assert code == 0 and "integrated" in out and "mixdown loudness: done in" in err
    code, out, err = run(capsys, "loudness", files["song"], "-q")
    assert code == 0 and "integrated" in out and err == ""
    code, out, err = run(capsys, "loudness", files["song"], "-q", "-v")
    assert code == 2 and "not allowed with" in err


def _typo_project(tmp_path) -> str:
    body = {"project": project(track("t", clip("c", "tone", 0, volumne=0.5, color={"hue": 0.1}), volume=0.5),
                               colour="red", id="p1"),
            "render": {"format": "wav", "qualty": "low"}, "extra": 1}
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_unknown_twoshot_fields_are_kept_and_reported_by_path(capsys, files, tmp_path):
    path = _typo_project(tmp_path)
    code, out, err = run(capsys, "render", path, "--library", files["library"], "-o", files["out"], "--json")
    assert code == 0 and err == ""
    warnings = json.loads(out)["warnings"]
    assert [w["field"] for w in warnings] == ["tracks[0].clips[0].volumne", "colour", "render.qualty", "extra"]
    code, out, err = run(capsys, "render", path, "--library", files["library"], "-o", files["out"])
    assert code == 0 and "mixdown render: warning: tracks[0].clips[0].volumne: unknown field" in err
    assert err.count("\n") == 4
    code, out, err = run(capsys, "render", path, "--library", files["library"], "-o", files["out"], "-q")
    assert code == 0 and err == "" and out


def test_parse_document_reports_nothing_for_a_clean_or_documented_body():
    clean = project(track("t", clip("c", "tone", 0, color={"hue": 0.8})), id="p", public=True, owner={"id": 1})
    assert parse_document(clean).unknown == ()


def test_unknown_songclip_fields_are_warnings_in_data_and_context_is_open(files, tmp_path):
    song = make_song(tmp_path, seconds=4.0, name="long.wav")
    spec = {**EVENT, "fadein": 300, "context": {"uniqueId": "u", "sourcePlatform": "app"}}
    reply = render_clips(spec, song, tmp_path / "a.wav")
    assert reply["data"]["warnings"] == [{"field": "fadein", "message": "unknown field, kept but not used"}]
    many = render_clips([EVENT, {**EVENT, "tgas": []}], song, tmp_path / "many")
    assert [w["field"] for w in many["data"]["warnings"]] == ["[1].tgas"]


def test_plain_modes_of_songclip_job_and_document(capsys, files, tmp_path):
    song = make_song(tmp_path, seconds=4.0, name="long.wav")
    (tmp_path / "good.json").write_text(json.dumps({**EVENT, "fadein": 1}))
    code, out, err = run(capsys, "songclip", str(tmp_path / "good.json"), "--song", str(song), "-o",
                         str(tmp_path / "c.wav"))
    assert code == 0 and out.startswith(f"{tmp_path / 'c.wav'}: 2.000 s (88200 frames)")
    assert "warning: fadein: unknown field" in err
    (tmp_path / "job.json").write_text(json.dumps({"document": {"url": files["song"]},
                                                   "output": {"format": "flac"}}))
    code, out, err = run(capsys, "job", "create", str(tmp_path / "job.json"), "--store", files["store"])
    assert code == 0 and out.startswith("job_") and " completed: document doc_" in out and "-> flac" in out
    code, out, err = run(capsys, "document", "list", "--store", files["store"])
    assert code == 0 and out.startswith("doc_") and "2 ch, 44100 Hz, 1.000 s" in out


def test_help_shows_defaults_and_only_the_options_a_command_takes(capsys):
    def helptext(*argv: str) -> str:
        with pytest.raises(SystemExit):
            cli.main([*argv, "--help"])
        return " ".join(capsys.readouterr().out.split())

    assert "(default: high)" in helptext("stretch") and "(default: high)" in helptext("demo")
    assert "(default: equal-power)" in helptext("songclip")
    for action in (("job", "get"), ("job", "list"), ("document", "delete"), ("job", "create")):
        assert ("--webhook" in helptext(*action)) == (action[1] == "create")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_only_never_with_json_or_q():
    import argparse

    assert progress.wanted(argparse.Namespace(json=False, quiet=False), Terminal())
    assert not progress.wanted(argparse.Namespace(json=True, quiet=False), Terminal())
    assert not progress.wanted(argparse.Namespace(json=False, quiet=True), Terminal())
    assert not progress.wanted(argparse.Namespace(json=False, quiet=False), io.StringIO())
    screen = Terminal()
    with progress.Progress("rendering", enabled=True, unit="frames", stream=screen, delay=0.0) as bar:
        bar(50, 100)
        bar(100, 100, note="2 failed")
    assert "rendering" in screen.getvalue() and "100/100" in screen.getvalue() and "2 failed" in screen.getvalue()
    staged = Terminal()
    with progress.Progress("loudness", enabled=True, stream=staged, delay=0.0) as bar:
        bar.stage("decoding")
    assert "loudness: decoding" in staged.getvalue()
    hidden = Terminal()
    with progress.Progress("rendering", enabled=False, stream=hidden, delay=0.0) as bar:
        bar(1, 2)
        bar.stage("encoding")
    assert hidden.getvalue() == ""


def test_error_codes_follow_the_error_types():
    from mixdown.errors import AudioReadError, InvalidInputError, OutputPathError

    assert console.error_code(AudioReadError("x")) == "unreadable_audio"
    assert console.error_code(OutputPathError("x")) == "output"
    assert console.error_code(InvalidInputError("x")) == "invalid_input"
    assert console.usage_error("argument --lufs: not a number: 'x'").field == "--lufs"


def test_the_error_cases_above_cover_every_command():
    import argparse

    commands = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {argv[0] for argv, *_ in FAILURES} == set(commands)
    assert {argv[0] for argv, *_ in USAGE} == set(commands)


def _keys(value, skip: frozenset[str] = frozenset({"render"})):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            if key not in skip:
                yield from _keys(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, skip)


def test_mixdowns_own_replies_use_snake_case_keys_and_name_the_files(capsys, files, tmp_path):
    out = str(tmp_path / "o.wav")
    replies = {}
    for argv in (["loudness", files["song"]], ["info", files["song"]], ["bpm", files["song"]],
                 ["normalize", files["song"], "-o", out, "--lufs", "-20"], ["stretch", files["song"], "-o", out],
                 ["export", files["song"], "-o", str(tmp_path / "o.flac")]):
        code, text, _ = run(capsys, *argv, "--json")
        assert code == 0, argv
        replies[argv[0]] = json.loads(text)
    for name, reply in replies.items():
        keys = set(_keys(reply))
        assert all(key == key.lower() and " " not in key for key in keys), (name, keys)
        assert reply["path"] == files["song"], name
    assert {replies[name]["output"] for name in ("normalize", "stretch")} == {out}


def test_the_python_api_warns_of_unknown_fields(tmp_path):
    import mixdown.songclip
    import mixdown.twoshot
    from mixdown.api_compat.fields import UnknownFieldWarning

    source = np.zeros((1, 44_100), dtype=np.float32)
    body = project(track("t", clip("c", "s", 0, volumne=0.5, color={"hue": 0.2})))
    with pytest.warns(UnknownFieldWarning, match=r"tracks\[0\]\.clips\[0\]\.volumne") as caught:
        mixdown.twoshot.render(body, {"s": source})
    assert len(caught) == 1
    with pytest.warns(UnknownFieldWarning, match="fadeout"):
        mixdown.songclip.render({**EVENT, "end": 1500, "fadeout": 2}, np.zeros((2, 88_200), np.float32), 44_100)


def test_every_command_takes_json_q_and_v():
    parser = cli._parser()
    leaves = [leaf for leaf in cli._leaves(parser) if leaf is not parser]
    assert len(leaves) >= 17
    for leaf in leaves:
        assert {"--json", "-q", "--quiet", "-v", "--verbose"} <= set(leaf._option_string_actions), leaf.prog


def test_reply_options_may_come_before_the_command(capsys, files):
    code, out, _ = run(capsys, "--json", "-q", "info", files["song"])
    assert code == 0 and json.loads(out)["path"] == files["song"]
    code, out, _ = run(capsys, "--json", "job", "get", "job_nope", "--store", files["store"])
    assert code == 2 and set(json.loads(out)["error"]) == {"message", "param"}
