"""The output rules every writer follows: atomic files, symlinks written through, devices and FIFOs streamed
to, folders refused before any work, umask-respecting modes, write failures as typed errors, RF64 past
4 GiB, Ogg that does not crash on long audio and repeats byte for byte."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mixdown.errors import OutputPathError
from mixdown.formats import atomic_path, encode, encode_blocks, read, size_limit, write
from mixdown.formats.atomic import check_output
from tests.conftest import noise

RATE = 8_000


def _audio(seconds: float = 0.5) -> np.ndarray:
    return noise(seconds, RATE, amplitude=0.1)


def _leftovers(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if ".part" in name]


def _mixdown(*argv: str, cwd: Path, limit_bytes: int | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the real command; ``limit_bytes`` sets RLIMIT_FSIZE in the child (a 'file too large' disk)."""
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "mixdown.cli", *argv], cwd=cwd, capture_output=True,
                          timeout=120, preexec_fn=limit if limit_bytes else None, **kwargs)


def test_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.wav"
    write(real, _audio(0.1), RATE)
    link = tmp_path / "link.wav"
    link.symlink_to(real.name)
    write(link, _audio(0.3), RATE)
    assert link.is_symlink()
    assert soundfile.info(str(real)).frames == round(0.3 * RATE)
    assert not _leftovers(tmp_path)


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.wav"
    link.symlink_to("made.wav")
    write(link, _audio(0.1), RATE)
    assert link.is_symlink() and (tmp_path / "made.wav").is_file()


def test_fifo_is_streamed_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    received = bytearray()

    def reader() -> None:
        with open(fifo, "rb") as handle:
            received.extend(handle.read())

    thread = threading.Thread(target=reader)
    thread.start()
    write(fifo, _audio(), RATE)
    thread.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    (tmp_path / "got.wav").write_bytes(bytes(received))
    assert soundfile.info(str(tmp_path / "got.wav")).frames == round(0.5 * RATE)
    assert not _leftovers(tmp_path)


def test_dev_null_stays_a_device():
    write("/dev/null", _audio(0.1), RATE, container="WAV")
    encode("/dev/null", _audio(0.1), RATE, "flac")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_folder_is_refused(tmp_path):
    with pytest.raises(OutputPathError, match="is a folder"):
        write(tmp_path, _audio(), RATE, container="WAV")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output(tmp_path / "no" / "x.wav")


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_mode_follows_the_umask(tmp_path, mask, expected):
    old = os.umask(mask)
    try:
        write(tmp_path / "x.wav", _audio(0.1), RATE)
        encode(tmp_path / "x.flac", _audio(0.1), RATE, "flac")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "x.wav").st_mode) == expected
    assert stat.S_IMODE(os.stat(tmp_path / "x.flac").st_mode) == expected


def test_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "x.mp3"
    encode(target, _audio(0.2), RATE, "mp3")
    os.chmod(target, 0o640)
    encode(target, _audio(0.3), RATE, "mp3")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_failure_inside_the_block_leaves_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and not _leftovers(tmp_path)


@pytest.mark.parametrize("extension", ["wav", "flac", "mp3", "ogg", "m4a", "aiff"])
def test_file_too_large_is_a_typed_error_and_leaves_nothing(tmp_path, extension):
    source = tmp_path / "in.wav"
    write(source, noise(6.0, 44_100, amplitude=0.1), 44_100, subtype="PCM_16")
    target = tmp_path / f"out.{extension}"
    target.write_bytes(b"precious")
    result = _mixdown("export", str(source), "-o", str(target), cwd=tmp_path, limit_bytes=40_000)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "file-size limit" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr and "cffi" not in stderr
    assert target.read_bytes() == b"precious"
    assert not _leftovers(tmp_path)


def test_wav_past_the_32_bit_limit_becomes_rf64(tmp_path, monkeypatch):
    monkeypatch.setattr(size_limit, "LIMIT_BYTES", 3_000)
    audio = _audio(0.1)  # 800 frames x 2 ch x 3 bytes = 4,800 bytes of data: past the forced limit
    write(tmp_path / "big.wav", audio, RATE)
    encode(tmp_path / "big2.wav", audio, RATE, "wav")
    for name in ("big.wav", "big2.wav"):
        assert (tmp_path / name).read_bytes()[:4] == b"RF64"
        assert read(tmp_path / name)[0].shape == (2, 800)
    write(tmp_path / "small.wav", _audio(0.01), RATE)
    assert (tmp_path / "small.wav").read_bytes()[:4] == b"RIFF"


def test_wav_stream_of_unknown_length_is_refused_before_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(size_limit, "LIMIT_BYTES", 3_000)
    blocks = [_audio(0.05)] * 4
    with pytest.raises(OutputPathError, match="4 GiB"):
        encode_blocks(tmp_path / "big.wav", iter(blocks), RATE, 2, "wav")
    with pytest.raises(OutputPathError, match="4 GiB"):
        encode_blocks(tmp_path / "big.aiff", iter(blocks), RATE, 2, "aiff")
    assert not list(tmp_path.iterdir())


def test_long_ogg_does_not_crash_and_repeats_byte_for_byte(tmp_path):
    """Before: libsndfile got the whole minute in one write and libvorbis overflowed the stack (exit 139)."""
    script = (
        "import numpy as np, sys\n"
        "from mixdown.formats import write, encode\n"
        "a = (np.random.default_rng(0).standard_normal((2, 44_100 * 70)) * 0.1).astype(np.float32)\n"
        "write(sys.argv[1] + '/w.ogg', a, 44_100)\n"
        "encode(sys.argv[1] + '/e.ogg', a, 44_100, 'ogg')\n"
    )
    digests = []
    for run in range(2):
        folder = tmp_path / str(run)
        folder.mkdir()
        result = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, timeout=300)
        assert result.returncode == 0, result.stderr.decode()[-500:]
        digests.append([hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("w.ogg", "e.ogg")])
        assert read(folder / "e.ogg")[0].shape == (2, 44_100 * 70)
    assert digests[0] == digests[1]


def test_symlink_loop_is_a_typed_error(tmp_path):
    (tmp_path / "a.wav").symlink_to("b.wav")
    (tmp_path / "b.wav").symlink_to("a.wav")
    with pytest.raises(OutputPathError, match="symbolic links"):
        write(tmp_path / "a.wav", _audio(0.1), RATE)


def test_twistedwave_job_exporting_a_long_ogg_completes(tmp_path):
    """Before: the Vorbis encoder crashed the process and the job stayed ``exporting`` for ever."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mixdown.api_compat.twistedwave import TwistedWave\n"
        "from mixdown.formats import write\n"
        "from tests.conftest import noise\n"
        "folder = Path(sys.argv[1])\n"
        "write(folder / 'take.wav', noise(70.0, 44_100, amplitude=0.1), 44_100, subtype='PCM_16')\n"
        "job = TwistedWave(folder / 'store').submit({'document': {'url': str(folder / 'take.wav')},\n"
        "                                             'output': {'format': 'ogg'}})\n"
        "print(job['state'], job['output']['state'])\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(root)}, cwd=root)
    assert result.returncode == 0, result.stderr.decode()[-800:]
    assert result.stdout.decode().split() == ["completed", "completed"]
