"""``mixdown stretch`` and ``mixdown bpm`` report the fraction of their work done: the engine's callbacks count
real work (phase vocoder frames, onset analysis frames) and change no output; decoding and encoding count too;
the command line shows one bar on a terminal and nothing with ``--json`` or ``-q``."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from mixdown import cli, progress
from mixdown.engine import stretch
from mixdown.engine.tempo import detect_bpm
from mixdown.files import read_whole
from mixdown.formats import write
from tests.tempo_signals import groove

SR = 48_000


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def loop() -> np.ndarray:
    return groove("rock", 120.0, 8, SR)


def _counting() -> tuple[list[tuple[int, int]], object]:
    calls: list[tuple[int, int]] = []
    return calls, lambda done, total: calls.append((done, total))


def _rising_to_the_end(calls: list[tuple[int, int]]) -> None:
    assert len(calls) > 1
    done = [d for d, _ in calls]
    assert done == sorted(done) and len({t for _, t in calls}) == 1
    assert 0 < done[0] < calls[0][1] and done[-1] == calls[-1][1]


@pytest.mark.parametrize("semitones", [0.0, 3.0])
def test_stretch_reports_its_frames_and_renders_the_same_samples(loop, semitones):
    calls, report = _counting()
    reported = stretch(loop, SR, 0.8, semitones, progress=report)
    _rising_to_the_end(calls)
    assert reported.tobytes() == stretch(loop, SR, 0.8, semitones).tobytes()


def test_bpm_reports_its_onset_analysis_and_finds_the_same_tempo(loop):
    calls, report = _counting()
    estimate = detect_bpm(loop, SR, progress=report)
    _rising_to_the_end(calls)
    assert estimate == detect_bpm(loop, SR)


def test_decoding_and_encoding_count_their_frames_and_keep_the_bytes(tmp_path, loop):
    calls, report = _counting()
    write(tmp_path / "plain.flac", loop, SR)
    write(tmp_path / "reported.flac", loop, SR, progress=report)
    _rising_to_the_end(calls)
    assert (tmp_path / "plain.flac").read_bytes() == (tmp_path / "reported.flac").read_bytes()
    calls, report = _counting()
    audio, rate = read_whole(tmp_path / "plain.flac", "test", progress=report)
    _rising_to_the_end(calls)
    assert rate == SR and audio.flags.c_contiguous
    assert audio.tobytes() == read_whole(tmp_path / "plain.flac", "test")[0].tobytes()


def test_one_bar_over_the_steps_of_a_job():
    screen = Terminal()
    with progress.Progress("stretch", enabled=True, stream=screen, delay=0.0) as bar:
        decoding, stretching = bar.share(0.0, 0.25), bar.share(0.25, 1.0)
        decoding(10, 10)
        stretching(1, 3)
        assert bar._bar.n == progress.SHARES // 2
        stretching(3, 3)
    assert "100%" in screen.getvalue() and "/1000" not in screen.getvalue()


def _on_a_terminal(monkeypatch) -> Terminal:
    """stderr a terminal for the test's body (pytest's capture sets its own between setup and call)."""
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    return screen


def _command(command: str, folder) -> list[str]:
    if command == "bpm":
        return ["bpm", str(folder / "in.wav")]
    return ["stretch", str(folder / "in.wav"), "-o", str(folder / "out.wav"), "--ratio", "1.5"]


@pytest.mark.parametrize("command", ["stretch", "bpm"])
def test_the_command_line_shows_a_percentage_on_a_terminal(tmp_path, loop, monkeypatch, command):
    write(tmp_path / "in.wav", loop, SR)
    terminal = _on_a_terminal(monkeypatch)
    assert cli.main(_command(command, tmp_path)) == 0
    assert re.search(rf"{command}: \w+: +100%\|", terminal.getvalue()), terminal.getvalue()


@pytest.mark.parametrize("quiet", ["--json", "-q"])
@pytest.mark.parametrize("command", ["stretch", "bpm"])
def test_json_and_quiet_show_no_progress(tmp_path, loop, monkeypatch, command, quiet):
    write(tmp_path / "in.wav", loop, SR)
    terminal = _on_a_terminal(monkeypatch)
    assert cli.main([*_command(command, tmp_path), quiet]) == 0
    assert terminal.getvalue() == ""


def test_stretch_weighs_its_steps_by_what_they_decode_compute_and_encode():
    import argparse

    def shares(ratio: float = 1.5, **given: object) -> tuple[float, float]:
        args = {"input": "in.wav", "output": "out.wav", "format": None, "varispeed": False, "semitones": 0.0}
        return cli._stretch_shares(argparse.Namespace(**{**args, **given}), ratio)

    decoded, stretched = shares()
    assert 0 < decoded < stretched < 1
    assert shares(input="in.flac")[0] > decoded
    assert shares(output="out.ogg")[1] < stretched and shares(format="OGG")[1] < stretched
    assert shares(semitones=3.0)[1] > stretched and shares(varispeed=True)[1] < stretched
    assert shares(ratio=0.0) == shares(ratio=1 / 16)
