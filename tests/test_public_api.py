"""The public Python API: its examples run, renders from dicts equal the command line's, the streaming reader
agrees with soundfile and with itself, and streamed loudness and normalization equal the in-memory ones."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import mixdown
from mixdown.engine import measure_loudness, normalize_loudness
from mixdown.engine.loudness import LoudnessMeter
from mixdown.files import loudness_file, normalize_file
from mixdown.formats import FORMATS, read
from mixdown.formats.export import export, export_file
from mixdown.formats.quantize import Quantizer
from tests.conftest import noise, tone

#: Modules whose docstring examples are part of the test run (they write files: each runs in a temp folder).
DOCTESTED = [
    "mixdown", "mixdown.twoshot", "mixdown.songclip", "mixdown.twistedwave", "mixdown.files",
    "mixdown.formats.stream", "mixdown.formats.audio_io", "mixdown.formats.probe", "mixdown.formats.export",
    "mixdown.engine.loudness", "mixdown.engine.resample", "mixdown.api_compat.twoshot.library",
    "mixdown.engine.render", "mixdown.engine.stretch", "mixdown.engine.normalize", "mixdown.api_compat.twoshot.jobs",
]
#: Modules of the friendly API: every function they define and export has a numpy-style Examples section.
FRIENDLY = ["mixdown.twoshot", "mixdown.songclip", "mixdown.twistedwave", "mixdown.files", "mixdown.formats.stream"]

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.mark.parametrize("name", DOCTESTED)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


@pytest.mark.parametrize("name", FRIENDLY)
def test_every_public_function_has_an_example(name):
    module = importlib.import_module(name)
    for attribute in module.__all__:
        value = getattr(module, attribute)
        if inspect.isfunction(value) and value.__module__ == name:
            assert "Examples\n--------" in (inspect.getdoc(value) or ""), f"{name}.{attribute} has no Examples"
        elif inspect.isclass(value) and value.__module__ == name:
            assert inspect.getdoc(value), f"{name}.{attribute} has no docstring"


def test_top_level_names_load_on_first_use():
    code = "import sys, mixdown; assert 'mixdown.twoshot' not in sys.modules; mixdown.twoshot.render; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "ok\n"
    assert callable(mixdown.open) and callable(mixdown.write) and callable(mixdown.twistedwave.render)


def test_the_package_is_typed():
    assert (os.path.dirname(mixdown.__file__) + "/py.typed") and os.path.isfile(
        os.path.join(os.path.dirname(mixdown.__file__), "py.typed"))


# ------------------------------------------------------------------------------ renders equal the CLI's


def _project() -> dict:
    return {"tempo": 100, "tracks": [
        {"id": "drums", "volume": 0.8, "clips": [
            {"id": 1, "position": 0, "source": {"audioId": "hit"}},
            {"id": 2, "position": 1.5, "source": {"audioId": "hit"}, "pan": 0.4, "reversed": True}]},
        {"id": "pad", "pan": -0.3, "clips": [
            {"id": 3, "position": 0.5, "source": {"audioId": "pad"}, "cutStart": 0.1, "cutEnd": 0.6,
             "pitchOffset": 2, "volume": 0.5}]},
    ]}


def test_twoshot_render_from_a_dict_with_arrays_equals_the_command_line(tmp_path):
    rate = 44_100
    sources = {"hit": noise(0.3, rate, channels=1, seed=3), "pad": tone(330, 1.0, rate, channels=2)}
    library = tmp_path / "library"
    library.mkdir()
    for name, audio in sources.items():
        soundfile.write(library / f"{name}.wav", audio.T, rate, subtype="FLOAT")
    (tmp_path / "project.json").write_text(json.dumps(_project()))
    output = tmp_path / "mix.wav"
    result = subprocess.run(
        [sys.executable, "-m", "mixdown.cli", "render", str(tmp_path / "project.json"), "--library", str(library),
         "-o", str(output), "--quality", "high", "--options", '{"codec": "float"}'], capture_output=True, text=True,
        env={**os.environ, "MIXDOWN_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr

    mix = mixdown.twoshot.render(_project(), sources, sample_rate=rate)
    assert soundfile.info(output).subtype == "FLOAT"
    written, written_rate = soundfile.read(output, dtype="float32", always_2d=True)
    assert written_rate == rate and np.array_equal(mix, written.T)
    assert np.abs(mix).max() > 0.1


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                    reason="ffmpeg/ffprobe not installed")
def test_float_wav_from_render_to_decodes_under_ffmpeg_to_the_rendered_samples(tmp_path):
    rate = 48_000
    sources = {"hit": noise(0.3, rate, channels=1, seed=3, amplitude=1.5), "pad": tone(330, 1.0, rate, channels=2)}
    mix = mixdown.twoshot.render(_project(), sources, sample_rate=rate)
    reply = mixdown.twoshot.render_to(tmp_path / "mix.wav", _project(), sources, rate, options={"codec": "float"})
    stream = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                                        str(tmp_path / "mix.wav")], capture_output=True, check=True).stdout)
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "mix.wav"), "-f", "f32le", "-"],
                             capture_output=True, check=True).stdout
    assert stream["streams"][0]["codec_name"] == "pcm_f32le"
    # Float PCM holds what the mix has beyond full scale: nothing is clipped, and the reply warns of nothing.
    assert np.abs(mix).max() > 1.0 and not reply["warnings"]
    np.testing.assert_array_equal(np.frombuffer(decoded, dtype="<f4").reshape(-1, 2).T, mix)


def test_bad_render_options_are_refused_before_rendering_naming_the_option(tmp_path, capsys):
    from mixdown.cli import main

    (tmp_path / "project.json").write_text(json.dumps(_project()))
    for options, field in (('{"codec": "flot"}', "options.codec"), ('{"codec": "float", "bit_depth": 24}',
                                                                      "options.bit_depth"), ('[1]', "--options")):
        status = main(["render", str(tmp_path / "project.json"), "--library", str(tmp_path), "-o",
                       str(tmp_path / "mix.wav"), "--options", options, "--jobs", str(tmp_path / "jobs"), "--json"])
        body = json.loads(capsys.readouterr().out)
        assert status == 2 and body["code"] == "VALIDATION_ERROR" and body["details"]["field"] == field, body
        assert not (tmp_path / "mix.wav").exists()


def test_twoshot_render_to_and_a_folder_library_agree_with_render(tmp_path):
    rate = 48_000
    sources = {"hit": noise(0.3, rate, channels=1, seed=3), "pad": tone(330, 1.0, rate, channels=2)}
    for name, audio in sources.items():
        soundfile.write(tmp_path / f"{name}.wav", audio.T, rate, subtype="FLOAT")
    from_folder = mixdown.twoshot.render(_project(), tmp_path, sample_rate=rate)
    from_memory = mixdown.twoshot.render(_project(), {k: (v, rate) for k, v in sources.items()}, sample_rate=rate)
    np.testing.assert_array_equal(from_folder, from_memory)
    reply = mixdown.twoshot.render_to(tmp_path / "mix.flac", _project(), sources, rate)
    assert reply["frames"] == from_memory.shape[1] and reply["sampleRate"] == rate


def test_bad_in_memory_sources_are_twoshot_errors_naming_the_entry():
    with pytest.raises(mixdown.twoshot.TwoShotError) as raised:
        mixdown.twoshot.render(_project(), {"hit": "no/such.wav", "pad": np.zeros(10)})
    assert raised.value.body()["details"]["field"] == "library['hit']"
    with pytest.raises(mixdown.twoshot.TwoShotError) as raised:
        mixdown.twoshot.render(_project(), {"hit": np.full(100, np.nan), "pad": np.zeros(10)})
    assert raised.value.field == "library['hit']"
    with pytest.raises(mixdown.twoshot.TwoShotError) as raised:
        mixdown.twoshot.render(_project(), {"pad": np.zeros(10)})
    assert raised.value.field == "tracks[0].clips[0].source.audioId"


def test_songclip_render_equals_the_clip_render_to_writes(tmp_path):
    rate = 44_100
    song = noise(8.0, rate, seed=5, amplitude=0.1)
    spec = {"start": 1_234.5, "end": 5_000, "fadeIn": 50, "fadeOut": 400, "context": {"uniqueId": "x"}}
    clip = mixdown.songclip.render(spec, song, rate)
    reply = mixdown.songclip.render_to(tmp_path / "clip.wav", spec, song, rate, options={"bit_depth": 24})
    written, _ = soundfile.read(tmp_path / "clip.wav", dtype="int32", always_2d=True)
    np.testing.assert_array_equal(Quantizer(24, 2, dither=False)(clip), written.T >> 8)
    assert reply["data"]["songclip"]["frames"] == clip.shape[1] == round(5 * rate) - round(1.2345 * rate)


def test_twistedwave_render_applies_undo_and_redo():
    x = tone(440, 0.5, 8_000, channels=2)
    edits = {"edit": {"max_duration": 0, "commands": [
        {"command": "amplify", "gain": 6}, {"command": "reverse"}, {"command": "undo"}]}}
    np.testing.assert_allclose(mixdown.twistedwave.render(edits, x, 8_000), x * 10 ** (6 / 20), rtol=1e-6)
    with pytest.raises(mixdown.twistedwave.TwistedWaveError) as raised:
        mixdown.twistedwave.render([{"command": "redo"}], x, 8_000)
    assert raised.value.param == "edit.commands[0].command"


# ------------------------------------------------------------------------------ the streaming reader


def _written(tmp_path, fmt: str) -> tuple[str, np.ndarray]:
    """A 2-channel test file in ``fmt`` and what the whole-file reader returns for it."""
    rate = 48_000 if fmt not in ("mp2",) else 44_100
    audio = noise(1.3, rate, seed=9, amplitude=0.2)
    path = tmp_path / f"signal.{FORMATS[fmt].extension}"
    mixdown.write(path, audio, rate, fmt)
    whole, _ = read(path)
    return str(path), whole


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_reader_blocks_and_seeks_give_the_whole_file_read(tmp_path, fmt):
    path, whole = _written(tmp_path, fmt)
    with mixdown.open(path) as reader:
        assert (reader.channels, reader.frames) == whole.shape
        blocks = list(reader.blocks(10_007))
        assert all(block.dtype == np.float32 and block.flags.c_contiguous for block in blocks)
        np.testing.assert_array_equal(np.concatenate(blocks, axis=1), whole)
        assert reader.read(100).shape == (whole.shape[0], 0)
        for start, count in ((40_000, 5_000), (123, 1), (0, 777), (whole.shape[1] - 50, 100)):
            assert reader.seek(start) == start == reader.tell()
            np.testing.assert_array_equal(reader.read(count), whole[:, start : start + count])
        assert reader.seek(-10, os.SEEK_END) == whole.shape[1] - 10
    if fmt not in ("aac", "wma", "wv", "mp2"):
        reference, _ = soundfile.read(path, dtype="float32", always_2d=True)
        if fmt != "mp3":
            np.testing.assert_array_equal(whole, reference.T)
        with soundfile.SoundFile(path) as handle:
            handle.seek(1_000)
            np.testing.assert_array_equal(mixdown.open(path).read(0), np.empty((2, 0), dtype=np.float32))
            reader = mixdown.open(path)
            reader.seek(1_000)
            np.testing.assert_array_equal(reader.read(2_000), handle.read(2_000, dtype="float32").T)


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["aac", "wma", "wv", "mp2"])
def test_ffmpeg_formats_read_as_the_ffmpeg_command_decodes_them(tmp_path, fmt):
    path, whole = _written(tmp_path, fmt)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "f32le", "-acodec", "pcm_f32le", "-"],
                         capture_output=True, check=True).stdout
    decoded = np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).T
    assert abs(decoded.shape[1] - whole.shape[1]) <= (1024 if fmt == "aac" else 0)
    frames = min(decoded.shape[1], whole.shape[1])
    # The ffmpeg command picks the float mp2 decoder, PyAV the fixed-point one: they differ by an LSB.
    np.testing.assert_allclose(whole[:, :frames], decoded[:, :frames], atol=1e-4 if fmt == "mp2" else 1e-6)


def test_reader_refuses_bad_arguments_and_files(tmp_path):
    path, _ = _written(tmp_path, "wav")
    with mixdown.open(path) as reader:
        for call in (lambda: reader.seek(-1), lambda: reader.seek(10**9), lambda: list(reader.blocks(0)),
                     lambda: reader.read(1.5)):
            with pytest.raises(mixdown.InvalidInputError):
                call()
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 10)
    with pytest.raises(mixdown.AudioReadError, match=r"junk\.wav"):
        mixdown.open(tmp_path / "junk.wav")


# ------------------------------------------------------------------------------ streaming equals whole


@pytest.mark.parametrize("rate,channels,block", [(48_000, 2, 1_000), (44_100, 1, 4_410), (44_101, 6, 65_536),
                                                  (8_000, 2, 1)])
def test_streamed_loudness_equals_whole_signal_loudness(rate, channels, block):
    seconds = 0.5 if block == 1 else 6.0
    audio = noise(seconds, rate, channels=channels, seed=rate)
    audio[:, rate // 3] = 0.97
    meter = LoudnessMeter(rate, channels)
    for start in range(0, audio.shape[1], block):
        meter.add(audio[:, start : start + block])
    assert meter.report() == measure_loudness(audio, rate)


def test_loudness_of_a_file_equals_loudness_of_its_samples(tmp_path):
    audio = noise(5.0, 44_100, seed=2)
    soundfile.write(tmp_path / "x.flac", audio.T, 44_100, subtype="PCM_24")
    whole, rate = read(tmp_path / "x.flac")
    assert loudness_file(tmp_path / "x.flac", block_frames=3_001) == measure_loudness(whole, rate)


def test_a_non_finite_block_is_refused_by_the_meter():
    meter = LoudnessMeter(48_000, 1)
    meter.add(np.zeros(10_000, dtype=np.float32))
    meter.add(np.array([np.inf], dtype=np.float32))
    with pytest.raises(mixdown.InvalidInputError, match="NaN or infinite"):
        meter.report()


def test_streamed_normalize_equals_in_memory_normalize(tmp_path):
    audio = noise(4.0, 48_000, seed=4, amplitude=0.05)
    soundfile.write(tmp_path / "in.wav", audio.T, 48_000, subtype="FLOAT")
    done = normalize_file(tmp_path / "in.wav", tmp_path / "out.wav", lufs=-20.0, block_frames=7_000)
    expected = normalize_loudness(audio, 48_000, -20.0)
    assert not done.limited and not expected.limited
    written, _ = soundfile.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    np.testing.assert_array_equal(written.T, expected.audio)
    assert done.after == expected.after and done.gain_db == expected.gain_db


def test_normalize_that_needs_the_limiter_still_reaches_its_target(tmp_path):
    audio = noise(3.0, 48_000, seed=6, amplitude=0.2)
    soundfile.write(tmp_path / "in.flac", audio.T, 48_000, subtype="PCM_24")
    done = normalize_file(tmp_path / "in.flac", tmp_path / "out.flac", lufs=-8.0, true_peak_dbtp=-1.0)
    assert done.limited
    after = loudness_file(tmp_path / "out.flac")
    assert abs(after.integrated_lufs + 8.0) < 0.1 and after.true_peak_dbtp <= -0.99


def test_streamed_export_with_a_rate_change_and_a_range_equals_export(tmp_path):
    audio = noise(3.0, 48_000, seed=7, amplitude=0.3)
    soundfile.write(tmp_path / "in.wav", audio.T, 48_000, subtype="FLOAT")
    spec = {"format": "flac", "bit_depth": 24, "sample_rate": 44_100, "begin": 0.25, "end": 2.5}
    streamed = export_file(tmp_path / "in.wav", spec, tmp_path / "a.flac", block_frames=5_000)
    whole = export(audio, 48_000, spec, tmp_path / "b.flac")
    assert streamed == whole.__class__(tmp_path / "a.flac", *list(whole.__dict__.values())[1:])
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()
    same_rate = export_file(tmp_path / "in.wav", {"format": "wav", "begin_sample": 100, "end_sample": 50_100},
                            tmp_path / "c.wav", block_frames=999)
    assert same_rate.frames == 50_000


# ------------------------------------------------------------------------------ decode bugs (issue 18)


def _wav(path, tag: int, bits: int, data: bytes, channels: int = 1, rate: int = 8_000) -> None:
    import struct

    block = max(1, channels * bits // 8) if bits else 2
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mixdown.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("case", ["bits0", "tag"])
@pytest.mark.parametrize("command", ["info", "loudness", "export", "normalize", "stretch", "bpm"])
def test_wav_headers_no_decoder_reads_are_typed_errors_naming_the_file(tmp_path, case, command):
    path = tmp_path / f"{case}.wav"
    _wav(path, 1 if case == "bits0" else 0x1234, 0 if case == "bits0" else 16, b"\0" * 64)
    extra = {"export": ["-o", str(tmp_path / "o.flac")], "normalize": ["-o", str(tmp_path / "o.wav"), "--peak", "-1"],
             "stretch": ["-o", str(tmp_path / "o.wav")]}.get(command, [])
    result = _cli(command, str(path), *extra)
    assert result.returncode == 2, result.stderr
    assert f"{case}.wav" in result.stderr and "internal error" not in result.stderr


def test_64_bit_integer_pcm_decodes(tmp_path):
    samples = (np.sin(np.arange(800) / 10) * 2**62).astype("<i8")
    _wav(tmp_path / "s64.wav", 1, 64, samples.tobytes())
    audio, rate = read(tmp_path / "s64.wav")
    assert rate == 8_000
    np.testing.assert_allclose(audio[0], samples / 2**63, atol=1e-7)
    result = _cli("info", str(tmp_path / "s64.wav"), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["frames"] == 800


@needs_ffmpeg
@pytest.mark.parametrize("fmt", ["aac", "wma", "wv", "mp2"])
def test_normalize_reads_what_ffmpeg_decodes_and_writes_every_export_format(tmp_path, fmt):
    path, _ = _written(tmp_path, fmt)
    out = tmp_path / f"out.{FORMATS[fmt].extension}"
    result = _cli("normalize", path, "-o", str(out), "--lufs", "-23", "--json")
    assert result.returncode == 0, result.stderr
    assert abs(json.loads(result.stdout)["after"]["integrated_lufs"] + 23) < 0.1
    assert mixdown.info(out).frames >= mixdown.info(path).frames


@pytest.mark.parametrize("command", [["stretch", "--ratio", "1.5", "-o", "out.wav"], ["bpm"],
                                     ["normalize", "--lufs", "-3", "-o", "out.wav"]])
def test_whole_signal_commands_refuse_files_over_the_memory_bound(tmp_path, monkeypatch, capsys, command):
    import mixdown.files
    from mixdown.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(mixdown.files, "MAX_IN_MEMORY_SAMPLES", 50_000)
    mixdown.write("long.wav", noise(1.0, 48_000, seed=8, amplitude=0.3), 48_000)
    assert main([command[0], "long.wav", *command[1:]]) == 2
    assert "holds the whole signal in memory" in capsys.readouterr().err or command[0] == "normalize"
    assert not (tmp_path / "out.wav").exists()


def test_songclip_decodes_only_the_span_its_clips_use_and_cuts_what_a_whole_decode_would(tmp_path):
    from mixdown.api_compat.songclip.clips import load_song, load_span, parse_specs
    from mixdown.api_compat.songclip.presets import PRESETS
    from mixdown.engine import resample

    audio = noise(12.0, 48_000, seed=11, amplitude=0.2)
    soundfile.write(tmp_path / "song.flac", audio.T, 48_000, subtype="PCM_24")
    specs, _, _ = parse_specs([{"start": 4_000, "end": 6_500, "context": {"uniqueId": "a"}},
                               {"start": 5_000, "end": 9_000, "context": {"uniqueId": "b"}}])
    song = load_song(tmp_path / "song.flac", PRESETS["twoshot-preview"], None, None)
    load_span(song, specs)
    assert (song.rate, song.channels, song.frames) == (22_050, 1, 12 * 22_050)
    assert (song.offset, song.audio.shape[1]) == (4 * 22_050, 5 * 22_050)
    decoded, _ = read(tmp_path / "song.flac")
    whole = resample(decoded.mean(axis=0, keepdims=True), 48_000, 22_050)
    np.testing.assert_array_equal(song.audio, whole[:, 4 * 22_050 : 9 * 22_050])


def test_long_render_sources_are_decoded_only_in_the_range_each_clip_uses(tmp_path, monkeypatch):
    from mixdown.api_compat.twoshot import library as library_module

    soundfile.write(tmp_path / "long.flac", noise(20.0, 48_000, seed=12, amplitude=0.2).T, 48_000, subtype="PCM_24")
    project = {"tempo": None, "tracks": [{"id": 1, "clips": [
        {"id": 1, "position": 0, "source": {"audioId": "long"}, "cutStart": 12.5, "cutEnd": 14.0},
        {"id": 2, "position": 1, "source": {"audioId": "long"}, "cutStart": 3.0, "cutEnd": 3.5, "reversed": True},
    ]}]}
    whole = mixdown.twoshot.render(project, tmp_path, 44_100)
    monkeypatch.setattr(library_module, "LONG_SOURCE_SAMPLES", 100_000)
    library = library_module.SampleLibrary(tmp_path)
    ranged = mixdown.twoshot.render(project, library, 44_100)
    assert sorted((first, last) for _, _, first, last in library._spans) == [(132_300, 154_350), (551_250, 617_400)]
    np.testing.assert_array_equal(ranged, whole)


def test_a_twistedwave_document_over_the_memory_bound_fails_its_job_with_the_reason(tmp_path, monkeypatch):
    import mixdown.files

    monkeypatch.setattr(mixdown.files, "MAX_IN_MEMORY_SAMPLES", 50_000)
    mixdown.write(tmp_path / "take.wav", noise(1.0, 48_000, seed=13), 48_000)
    service = mixdown.twistedwave.TwistedWave(tmp_path / "store")
    try:
        job = service.submit({"document": {"url": str(tmp_path / "take.wav")}, "output": {"format": "wav"}})
    finally:
        service.close()
    assert job["state"] == "failed"
    assert "holds the whole signal in memory" in json.dumps(job)
