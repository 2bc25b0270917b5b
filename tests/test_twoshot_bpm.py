"""The TwoShot adapter's tempo policy, tempo-sync of clips without a tempo, and ``mixdown bpm``.

Detection itself is the engine's (``tests/test_tempo.py``); here: which source of a BPM wins, that a one-shot
plays at its own speed when tempo-synced, and what the command prints.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from mixdown.api_compat.twoshot.bpm import SourceTempo, detect_source_bpm, source_tempo
from mixdown.api_compat.twoshot.bpm_command import add_command
from mixdown.api_compat.twoshot.service import render_document
from mixdown.engine import Source
from mixdown.errors import AudioReadError, InvalidInputError
from mixdown.formats import read, write
from tests.tempo_signals import groove, one_shot

SR = 48_000


def test_the_project_beats_the_library_beats_detection():
    def never() -> float:
        raise AssertionError("detection must not run when a BPM is given")

    assert source_tempo(100.0, 120.0, never) == SourceTempo(100.0, "project")
    assert source_tempo(None, 120.0, never) == SourceTempo(120.0, "library")
    assert source_tempo(None, None, lambda: 96.0) == SourceTempo(96.0, "detected")
    assert source_tempo(None, None, lambda: None) == SourceTempo(None, "none")


def test_detected_source_bpm_and_no_tempo():
    loop = Source(groove("rock", 87.5, 2, SR), SR)
    assert detect_source_bpm(loop) == pytest.approx(87.5, abs=0.01)
    hit = Source(np.ascontiguousarray(np.repeat(one_shot("snare", SR)[np.newaxis], 2, axis=0), np.float32), SR)
    assert detect_source_bpm(hit) is None


def test_tempo_synced_one_shot_plays_at_its_own_speed(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    hit = one_shot("clap", SR)[np.newaxis].astype(np.float32)
    write(library / "clap.wav", hit, SR, subtype="FLOAT")
    write(library / "loop.wav", groove("hiphop", 96.0, 2, SR), SR, subtype="FLOAT")
    clips = [{"id": "c", "position": 0, "source": {"audioId": "clap"}, "speed": "tempo-sync"},
             {"id": "l", "position": 0, "source": {"audioId": "loop"}, "speed": "tempo-sync"}]
    document = {"tempo": 120.0, "tracks": [{"id": "t", "clips": clips}]}
    reply = render_document(document, library, tmp_path / "out.wav", sample_rate=SR)
    assert reply["tempoSync"]["clap"] == 1.0
    assert reply["tempoSyncSources"]["clap"] == {"bpm": None, "origin": "none"}
    assert reply["tempoSync"]["loop"] == pytest.approx(120.0 / 96.0, abs=1e-4)
    assert reply["tempoSyncSources"]["loop"]["origin"] == "detected"
    audio, _ = read(tmp_path / "out.wav")
    # The loop, sped up, is the longer of the two: 2 bars at 120 BPM.
    assert audio.shape[1] == pytest.approx(4.0 * SR, abs=SR * 0.002)


# --- the command ----------------------------------------------------------------------------------------


def _command(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mixdown")
    add_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bpm") / "loop.wav"
    write(path, groove("rock", 87.5, 2, SR), SR, subtype="PCM_24")
    return path


@pytest.fixture(scope="module")
def hit_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bpm") / "kick.wav"
    write(path, one_shot("kick", SR)[np.newaxis].astype(np.float32), SR, subtype="PCM_24")
    return path


def test_command_prints_one_decimal(capsys, loop_file):
    args = _command("bpm", str(loop_file))
    assert args.run(args) == 0
    assert capsys.readouterr().out == "87.5\n"


def test_command_says_no_tempo_and_succeeds(capsys, hit_file):
    args = _command("bpm", str(hit_file))
    assert args.run(args) == 0
    assert capsys.readouterr().out == "no tempo\n"
    args = _command("bpm", str(hit_file), "--json")
    assert args.run(args) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["bpm"] is None and reply["method"] == "none" and reply["bars"] is None


def test_command_json(capsys, loop_file):
    args = _command("bpm", str(loop_file), "--json")
    assert args.run(args) == 0
    reply = json.loads(capsys.readouterr().out)
    assert set(reply) == {"bpm", "confidence", "bars", "method", "evidence", "path"}
    assert reply["bpm"] == pytest.approx(87.5, abs=0.01)
    assert reply["bars"] == 2 and reply["method"] == "loop-length" and reply["path"] == str(loop_file)
    assert 0.5 <= reply["confidence"] <= 1.0
    hypothesis = reply["evidence"]["bar_hypothesis"]
    assert hypothesis["bars"] == 2 and hypothesis["length"] == pytest.approx(2 * 4 * 60 / 87.5, abs=1e-3)
    assert reply["evidence"]["grid"]["coverage"] == pytest.approx(1.0)


def test_command_loop_flags(capsys, loop_file):
    args = _command("bpm", str(loop_file), "--no-loop", "--json")
    assert args.loop is False and args.run(args) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["method"] == "onset-grid" and reply["bars"] is None
    assert abs(reply["bpm"] - 87.5) <= 0.5
    assert _command("bpm", str(loop_file), "--loop").loop is True
    assert _command("bpm", str(loop_file)).loop is None
    with pytest.raises(SystemExit):
        _command("bpm", str(loop_file), "--loop", "--no-loop")


def test_command_errors_name_their_field(tmp_path):
    args = _command("bpm", str(tmp_path / "missing.wav"))
    with pytest.raises(AudioReadError) as error:
        args.run(args)
    assert error.value.field == "path" and error.value.exit_code == 2
    args = _command("bpm", str(tmp_path), "--loop")
    with pytest.raises((AudioReadError, InvalidInputError)):
        args.run(args)
