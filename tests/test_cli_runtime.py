"""The command line as a Unix tool: ``-`` for stdin/stdout, closed pipes, SIGTERM/SIGINT, killed jobs, output
names that match their format, clipping reports, folders refused before the work, and the render estimate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile

from mixdown.api_compat.twoshot.estimate import RenderWork, SpeedModel
from mixdown.api_compat.twoshot.jobs import JobRegistry
from mixdown.formats import read, write
from mixdown.runtime import signals_raise
from tests.conftest import noise, tone

SR = 44_100
CONTEXT = {"uniqueId": "listener-1"}
ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MIXDOWN_HOME": str(tmp_path / "home")}


def mixdown(tmp_path: Path, *argv: str, stdin: bytes | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *argv], input=stdin, capture_output=True,
                          cwd=tmp_path, env=_env(tmp_path), timeout=timeout)


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.wav"
    write(path, noise(2.0, SR, amplitude=0.1), SR, subtype="PCM_16")
    return path


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    write(folder / "tone.wav", tone(440, 2.0, SR, amplitude=0.9), SR, subtype="FLOAT")
    return folder


def _project(tmp_path, *, volume=1.0, seconds=4.0, render=None) -> Path:
    clips = [{"id": f"c{i}", "position": 4.0 * i, "source": {"audioId": "tone"}, "speed": 1.0}
             for i in range(max(1, round(seconds / 2)))]
    body = {"project": {"tempo": 120.0, "tracks": [
        {"id": "a", "clips": clips, "volume": volume},
        {"id": "b", "clips": clips, "volume": volume},
    ]}, "render": render or {}}
    path = tmp_path / "project.json"
    path.write_text(json.dumps(body))
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".part" in p.name]


# -- standard input and output ------------------------------------------------------------------------------

def test_dash_reads_stdin_for_audio_inputs(tmp_path, song):
    data = song.read_bytes()
    result = mixdown(tmp_path, "loudness", "-", "--json", stdin=data)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == 2 * SR
    result = mixdown(tmp_path, "export", "-", "-o", "x.flac", stdin=data)
    assert result.returncode == 0, result.stderr
    assert read(tmp_path / "x.flac")[0].shape == (2, 2 * SR)


@pytest.mark.parametrize("argv, expected", [
    (["export", "{song}", "-o", "-", "--spec", '{"format": "flac"}'], "FLAC"),
    (["stretch", "{song}", "-o", "-", "--ratio", "2", "--format", "flac"], "FLAC"),
])
def test_dash_writes_stdout_and_the_reply_goes_to_stderr(tmp_path, song, argv, expected):
    result = mixdown(tmp_path, *[str(song) if a == "{song}" else a for a in argv])
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists()
    (tmp_path / "got").write_bytes(result.stdout)
    assert soundfile.info(str(tmp_path / "got")).format == expected
    assert result.stderr  # the human reply moved off stdout
    assert not _leftovers(tmp_path)


def test_render_to_stdout_takes_the_body_format(tmp_path, library):
    project = _project(tmp_path, render={"format": "flac"})
    result = mixdown(tmp_path, "render", str(project), "--library", str(library), "-o", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout[:4] == b"fLaC"


def test_closed_pipe_ends_quietly(tmp_path, song):
    reader = subprocess.Popen(["head", "-c", "100"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.Popen([sys.executable, "-m", "mixdown.cli", "export", str(song), "-o", "-", "--spec",
                               '{"format": "wav"}'], stdout=reader.stdin, stderr=subprocess.PIPE, cwd=tmp_path,
                              env=_env(tmp_path))
    reader.stdin.close()
    _, stderr = writer.communicate(timeout=120)
    reader.wait(timeout=30)
    assert writer.returncode == 141
    assert b"BrokenPipe" not in stderr and b"Traceback" not in stderr and b"internal error" not in stderr
    assert not _leftovers(tmp_path)


# -- signals ------------------------------------------------------------------------------------------------

def _start_render(tmp_path, library, fmt="mp3"):
    project = _project(tmp_path, volume=0.2, seconds=1200)
    jobs = tmp_path / "jobs"
    process = subprocess.Popen(
        [sys.executable, "-m", "mixdown.cli", "render", str(project), "--library", str(library), "-o",
         f"long.{fmt}", "--jobs", str(jobs)], cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _leftovers(tmp_path) and list(jobs.glob("render-*.json")):
            return process, jobs
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the render never started writing")


@pytest.mark.parametrize("number, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_removes_the_temp_file_and_cancels_the_job(tmp_path, library, number, status):
    process, jobs = _start_render(tmp_path, library)
    process.send_signal(number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert b"Traceback" not in stderr
    assert not _leftovers(tmp_path) and not (tmp_path / "long.mp3").exists(), stderr
    record = json.loads(next(jobs.glob("render-*.json")).read_text())
    assert record["status"] == "failed" and record["error"]["code"] == "CANCELLED"


def test_job_of_a_killed_process_shows_as_failed(tmp_path, library):
    process, jobs = _start_render(tmp_path, library)
    process.kill()
    process.wait(timeout=30)
    job_id = next(jobs.glob("render-*.json")).stem
    result = mixdown(tmp_path, "render", "--status", job_id, "--jobs", str(jobs), "--json")
    record = json.loads(result.stdout)
    assert record["status"] == "failed" and str(process.pid) in record["error"]["details"]["message"]


def test_no_handler_outside_a_command_run():
    before = signal.getsignal(signal.SIGTERM)
    import mixdown.cli  # noqa: F401 - importing must not install anything

    assert signal.getsignal(signal.SIGTERM) is before
    with signals_raise():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


# -- output names and formats -------------------------------------------------------------------------------

def test_output_extension_decides_over_the_body_format(tmp_path, library):
    project = _project(tmp_path, render={"format": "mp3"})
    assert mixdown(tmp_path, "render", str(project), "--library", str(library), "-o", "p2.wav").returncode == 0
    assert soundfile.info(str(tmp_path / "p2.wav")).format == "WAV"
    result = mixdown(tmp_path, "render", str(project), "--library", str(library), "-o", "p2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output"] == "p2.mp3"
    assert soundfile.info(str(tmp_path / "p2.mp3")).format == "MP3" and not (tmp_path / "p2").exists()


@pytest.mark.parametrize("preset", ["twine", "twoshot-preview"])
def test_songclip_preset_never_writes_mp3_under_a_wav_name(tmp_path, preset):
    song = tmp_path / "song.wav"
    write(song, noise(12.0, SR, amplitude=0.1), SR, subtype="PCM_16")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"start": 1000, "end": 6000, "context": CONTEXT}))
    result = mixdown(tmp_path, "songclip", str(spec), "--song", str(song), "-o", "c.wav", "--preset", preset)
    target = tmp_path / "c.wav"
    if preset == "twine":  # twine allows wav: the name decides
        assert result.returncode == 0, result.stderr
        assert soundfile.info(str(target)).format == "WAV"
    else:  # a preview is mp3 only: refused, naming the format
        assert result.returncode == 2 and b"format" in result.stderr and not target.exists()
        assert b"Traceback" not in result.stderr


def test_songclip_list_replaces_nothing_when_a_later_clip_fails(tmp_path, monkeypatch):
    from mixdown.api_compat.songclip import clips

    song = tmp_path / "song.wav"
    write(song, noise(12.0, SR, amplitude=0.1), SR, subtype="PCM_16")
    out = tmp_path / "clips"
    out.mkdir()
    (out / "clip-001.wav").write_bytes(b"old one")
    real = clips.encode_blocks
    calls = []

    def failing(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise clips.SongclipFailError({"[1].end": "disk said no"})
        return real(path, *args, **kwargs)

    monkeypatch.setattr(clips, "encode_blocks", failing)
    with pytest.raises(clips.SongclipFailError):
        clips.render_clips([{"start": 0, "end": 5000, "context": CONTEXT},
                            {"start": 5000, "end": 10000, "context": CONTEXT}], song, out, fmt="wav")
    assert len(calls) == 2  # the first clip was encoded, the second failed
    assert (out / "clip-001.wav").read_bytes() == b"old one"
    assert sorted(p.name for p in out.iterdir()) == ["clip-001.wav"]


def test_songclip_list_onto_a_file_is_a_typed_error(tmp_path, song):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps([{"start": 0, "end": 1000, "context": CONTEXT}]))
    (tmp_path / "taken").write_text("x")
    result = mixdown(tmp_path, "songclip", str(spec), "--song", str(song), "-o", "taken")
    assert result.returncode == 2 and b"Traceback" not in result.stderr and b"FileExists" not in result.stderr
    assert (tmp_path / "taken").read_text() == "x"


def test_folder_output_is_refused_before_rendering(tmp_path, library, monkeypatch):
    from mixdown.api_compat.twoshot import service
    from mixdown.api_compat.twoshot.errors import TwoShotError

    def never(*args, **kwargs):
        raise AssertionError("rendered before checking the output")

    monkeypatch.setattr(service, "render_blocks", never)
    (tmp_path / "dir").mkdir()
    with pytest.raises(TwoShotError, match="folder") as caught:
        service.render_document(json.loads(_project(tmp_path).read_text()), library, tmp_path / "dir")
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("command", [["normalize", "--peak", "-1"], ["stretch", "--ratio", "1.5"]])
def test_folder_output_is_refused_by_file_commands(tmp_path, song, command):
    (tmp_path / "dir").mkdir()
    result = mixdown(tmp_path, command[0], str(song), "-o", "dir", *command[1:])
    assert result.returncode == 2 and b"is a folder" in result.stderr


# -- clipping report ----------------------------------------------------------------------------------------

def test_render_reports_peaks_and_warns_when_it_clips(tmp_path, library):
    project = _project(tmp_path, volume=1.0)  # two tracks of a 0.9 tone, centre-panned: peaks near +1.1 dBFS
    result = mixdown(tmp_path, "render", str(project), "--library", str(library), "-o", "loud.wav")
    assert result.returncode == 0, result.stderr
    assert b"warning" in result.stderr and b"clipped" in result.stderr
    reply = json.loads(mixdown(tmp_path, "render", str(project), "--library", str(library), "-o", "loud.wav",
                               "--json").stdout)
    assert reply["clippedSamples"] > 0 and reply["samplePeakDbfs"] > 0
    assert reply["truePeakDbtp"] >= reply["samplePeakDbfs"]
    quiet = json.loads(mixdown(tmp_path, "render", str(_project(tmp_path, volume=0.3)), "--library",
                               str(library), "-o", "quiet.wav", "--json").stdout)
    assert quiet["clippedSamples"] == 0 and quiet["samplePeakDbfs"] < 0 and not quiet["warnings"]


# -- estimatedCompletion ------------------------------------------------------------------------------------

def test_estimate_grows_with_the_work_and_learns_the_machine(tmp_path):
    model = SpeedModel(tmp_path / "speed.json")
    short = RenderWork(16.0, 2, 13.7, "high", "wav")
    long = RenderWork(3600.0, 2, 170.0, "high", "wav")
    assert model.predict(long) > 10 * model.predict(short)
    assert model.predict(RenderWork(180.0, 2, 0.0, "high", "mp3")) > model.predict(RenderWork(180.0, 2, 0.0,
                                                                                              "high", "wav"))
    for _ in range(20):
        model.learn(short, 4 * short.baseline())
    assert model.predict(short) == pytest.approx(4 * short.baseline(), rel=0.05)


def test_registry_records_the_estimate_from_the_work(tmp_path):
    registry = JobRegistry(tmp_path / "jobs")
    record = registry.start(RenderWork(3600.0, 2, 0.0, "high", "mp3"), {})
    created = time.strptime(record["createdAt"], "%Y-%m-%dT%H:%M:%SZ")
    done = time.strptime(record["estimatedCompletion"], "%Y-%m-%dT%H:%M:%SZ")
    assert time.mktime(done) - time.mktime(created) > 60
    assert registry.get(record["jobId"])["status"] == "processing"  # this process is alive


def test_dev_null_output_for_render(tmp_path, library):
    result = mixdown(tmp_path, "render", str(_project(tmp_path)), "--library", str(library), "-o", "/dev/null",
                     "--format", "wav")
    assert result.returncode == 0, result.stderr
    assert os.path.exists("/dev/null") and not Path("/dev/null").is_file()
