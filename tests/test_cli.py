"""The mixdown command: outputs, JSON replies, exit statuses, and no output left behind on failure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from mixdown.cli import main
from mixdown.formats import read, write
from tests.conftest import noise, tone


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.wav"
    audio = np.concatenate([tone(997, 3.0, 48_000, amplitude=0.3, channels=2), noise(3.0, 48_000, amplitude=0.05)],
                           axis=1)
    write(path, audio, 48_000, subtype="PCM_16")
    return path


def test_loudness_json_has_every_figure(capsys, song):
    status, out, _ = run(capsys, "loudness", str(song), "--json")
    assert status == 0
    figures = json.loads(out)
    assert set(figures) == {"path", "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs",
                            "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs", "sample_rate", "channels",
                            "frames"}
    assert figures["sample_rate"] == 48_000 and figures["channels"] == 2 and figures["frames"] == 288_000
    assert figures["sample_peak_dbfs"] == pytest.approx(20 * np.log10(0.3), abs=0.05)


def test_loudness_of_silence_is_valid_json_with_nulls(capsys, tmp_path):
    path = tmp_path / "silence.wav"
    write(path, np.zeros((2, 48_000), np.float32), 48_000)
    status, out, _ = run(capsys, "loudness", str(path), "--json")
    assert status == 0
    assert json.loads(out)["integrated_lufs"] is None


def test_normalize_to_lufs_keeps_the_input_encoding(capsys, song, tmp_path):
    from mixdown.engine.loudness import measure_loudness

    target = tmp_path / "loud.wav"
    status, out, _ = run(capsys, "normalize", str(song), "-o", str(target), "--lufs", "-16", "--json")
    assert status == 0
    reply = json.loads(out)
    assert reply["after"]["integrated_lufs"] == pytest.approx(-16, abs=0.1)
    assert soundfile.info(str(target)).subtype == "PCM_16"
    audio, rate = read(target)
    figures = measure_loudness(audio, rate)
    assert figures.integrated_lufs == pytest.approx(-16, abs=0.15)
    assert figures.true_peak_dbtp <= -1.0 + 0.05


def test_normalize_to_peak(capsys, song, tmp_path):
    target = tmp_path / "peak.wav"
    status, _, _ = run(capsys, "normalize", str(song), "-o", str(target), "--peak", "-3", "--subtype", "FLOAT")
    assert status == 0
    audio, _ = read(target)
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(-3.0, abs=1e-4)


@pytest.mark.parametrize("argv,needle", [
    (["normalize", "{song}", "-o", "{out}", "--lufs", "5"], "target_lufs"),
    (["normalize", "{song}", "-o", "{out}", "--lufs", "-14", "--true-peak", "3"], "true_peak"),
    (["normalize", "{missing}", "-o", "{out}", "--peak", "-1"], "no such file"),
    (["normalize", "{junk}", "-o", "{out}", "--peak", "-1"], "cannot decode"),
    (["normalize", "{song}", "-o", "{out}", "--peak", "-1", "--true-peak", "-2"], "--true-peak"),
    (["stretch", "{song}", "-o", "{out}", "--ratio", "0"], "ratio"),
    (["stretch", "{song}", "-o", "{out}", "--from-bpm", "120"], "--to-bpm"),
    (["stretch", "{song}", "-o", "{out}", "--quality", "draft", "--semitones", "2", "--varispeed", "--ratio", "2"],
     "semitones"),
    (["loudness", "{missing}"], "no such file"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(capsys, song, tmp_path, argv, needle):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF0000WAVEjunk" * 10)
    names = {"song": song, "out": tmp_path / "out.wav", "missing": tmp_path / "missing.wav", "junk": junk}
    status, _, err = run(capsys, *(a.format(**names) for a in argv))
    assert status == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.wav", "song.wav"]


def test_nan_audio_is_refused(capsys, tmp_path):
    path = tmp_path / "nan.wav"
    bad = noise(0.5, 8000)
    bad[0, 100] = np.nan
    soundfile.write(str(path), bad.T, 8000, subtype="FLOAT")
    status, _, err = run(capsys, "normalize", str(path), "-o", str(tmp_path / "o.wav"), "--peak", "0")
    assert status == 2 and "NaN" in err


def test_stretch_by_bpm_writes_24_bit_at_exact_length(capsys, song, tmp_path):
    target = tmp_path / "fast.wav"
    status, out, _ = run(capsys, "stretch", str(song), "-o", str(target), "--from-bpm", "100", "--to-bpm", "125",
                         "--semitones", "-2", "--json")
    assert status == 0
    reply = json.loads(out)
    info = soundfile.info(str(target))
    assert info.subtype == "PCM_24" and info.samplerate == 48_000
    assert info.frames == reply["frames"] == round(288_000 / 1.25)
    assert reply["formants"] == 0.4


def test_stretch_reports_the_formant_amount_read_from_the_source(capsys, tmp_path):
    """By default a pitch shift keeps what the input's own notes keep: a melody whose formant moves with its
    pitch (as a voice sampled once does) keeps none of it in place, and the reply says so."""
    from tests.test_formant_motion import SR, _melody

    source = tmp_path / "melody.wav"
    write(source, _melody(1.0), SR, subtype="FLOAT")
    status, out, _ = run(capsys, "stretch", str(source), "-o", str(tmp_path / "o.wav"), "--semitones", "3",
                         "--quality", "draft", "--json")
    assert status == 0 and json.loads(out)["formants"] <= 0.1


def test_stretch_without_a_pitch_shift_reports_no_formant_amount(capsys, song, tmp_path):
    status, out, _ = run(capsys, "stretch", str(song), "-o", str(tmp_path / "o.wav"), "--ratio", "1.25",
                         "--quality", "draft", "--json")
    assert status == 0 and json.loads(out)["formants"] is None


@pytest.mark.parametrize("flags,amount", [(["--formants"], 1.0), (["--formants", "0.7"], 0.7),
                                          (["--no-formants"], 0.0)])
def test_stretch_formants_amount_and_off_switch(capsys, song, tmp_path, flags, amount):
    status, out, _ = run(capsys, "stretch", str(song), "-o", str(tmp_path / "o.wav"), "--semitones", "3",
                         "--quality", "draft", "--json", *flags)
    assert status == 0 and json.loads(out)["formants"] == amount


def test_demo_writes_library_project_and_render(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MIXDOWN_HOME", str(tmp_path / "home"))
    target = tmp_path / "demo.wav"
    status, out, _ = run(capsys, "demo", "-o", str(target), "--json")
    assert status == 0
    reply = json.loads(out)
    assert soundfile.info(str(target)).frames == reply["frames"] == 44_100 * 16
    assert json.loads((tmp_path / "demo-files" / "project.json").read_text())["tempo"] == 120.0
    assert (tmp_path / "demo-files" / "library" / "library.json").is_file()
    assert reply["render"]["status"] == "completed" and reply["render"]["jobId"].startswith("render-")
    assert -30 < reply["loudness"]["integrated_lufs"] < -10
    assert reply["loudness"]["true_peak_dbtp"] < 0
    first = target.read_bytes()
    run(capsys, "demo", "-o", str(target))
    assert target.read_bytes() == first


@pytest.mark.skipif(shutil.which("mixdown") is None, reason="console script not installed")
def test_console_script_runs(tmp_path):
    result = subprocess.run(["mixdown", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("mixdown ")
    result = subprocess.run([sys.executable, "-m", "mixdown.cli", "loudness", str(tmp_path / "none.wav")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("mixdown loudness: error:")
