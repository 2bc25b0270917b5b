"""``mixdown export`` and ``mixdown info`` through an argparse harness shaped like ``mixdown.cli.main``."""

from __future__ import annotations

import argparse
import json
import sys

import pytest
import soundfile

from mixdown.errors import MixdownError
from mixdown.formats.commands import add_commands
from tests.test_formats_support import ffprobe, needs_ffmpeg, tonal


def run(argv: list[str]) -> int:
    """Parse and run like the main command: mixdown errors become one stderr line and their exit status."""
    parser = argparse.ArgumentParser(prog="mixdown")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except MixdownError as error:
        print(f"mixdown {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "in.wav"
    soundfile.write(str(path), tonal(1.1, 44_100).T, 44_100, subtype="PCM_24")
    return path


@needs_ffmpeg
def test_export_takes_the_format_from_the_extension_and_options_from_the_spec(tmp_path, source, capsys):
    out = tmp_path / "cut.mp3"
    spec = {"vbr": True, "vbr_quality": 0, "begin_sample": 1000, "end_sample": 45_100}
    assert run(["export", str(source), "-o", str(out), "--spec", json.dumps(spec), "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["format"] == "mp3" and reply["frames"] == 44_100 and reply["options"]["vbr_quality"] == 0
    assert ffprobe(out)["codec_name"] == "mp3"


def test_export_into_a_folder_uses_exported_filename(tmp_path, source, capsys):
    assert run(["export", str(source), "-o", str(tmp_path), "--spec", '{"format": "flac", "bit_depth": 24}']) == 0
    assert (tmp_path / "export.flac").is_file()
    assert "export.flac: flac, 2 ch, 44100 Hz, 48510 frames" in capsys.readouterr().out


@pytest.mark.parametrize("argv,words", [
    (["--spec", '{"bit_rate": 100}', "-o", "x.mp3"], "bit_rate: 100 is not allowed for mp3; allowed: 8, 16"),
    (["--spec", "{nope", "-o", "x.wav"], "--spec: not valid JSON"),
    (["--spec", "[1]", "-o", "x.wav"], "--spec: expected a JSON object"),
    (["-o", "x.xyz"], "format: cannot tell the output format"),
    (["--spec", '{"format": "wav"}', "-o", "x.mp3"], "--output: 'x.mp3' has the extension of mp3"),
    (["--spec", '{"bit_depth": 16}'], "format: give -o OUT"),
    (["-o", "x.wav", "--spec", '{"end_sample": 99999999}'], "end_sample: ends at sample 99999999"),
])
def test_export_errors_are_one_line_naming_the_field(tmp_path, source, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    assert run(["export", str(source), *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_export_of_a_missing_input_is_a_read_error(tmp_path, capsys):
    assert run(["export", str(tmp_path / "none.wav"), "-o", str(tmp_path / "x.wav")]) == 2
    assert "path: no such file" in capsys.readouterr().err


def test_info_json_prints_the_summary(tmp_path, source, capsys):
    out = tmp_path / "x.m4a"
    assert run(["export", str(source), "-o", str(out), "--spec", '{"sample_rate": 48000}']) == 0
    capsys.readouterr()
    assert run(["info", str(out), "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply == {"path": str(out), "format": "aac", "codec": "aac", "sample_rate": 48_000, "channels": 2,
                     "frames": 52_800, "duration": 1.1}
    assert run(["info", str(source)]) == 0
    assert "pcm_s24le" in capsys.readouterr().out
    assert run(["info", str(tmp_path / "missing.wav")]) == 2
