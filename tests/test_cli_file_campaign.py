"""A bad-input campaign over the command line's file arguments and outputs.

Every case runs a real command (in-process, under an alarm that turns a hang into a failure) and must end
with exit 0 and a readable output, or exit 2 with one typed error line: never an internal error or a
traceback, never a changed existing output, never a temporary file left behind. Classes: damaged audio of
every format (truncated, empty, bytes flipped, absurd header values), paths that are not files (folders
named like files, dangling and looping symlinks, FIFOs), and outputs that exist or cannot be written.

The example budget is small and fixed in CI (``derandomize``); ``MIXDOWN_CAMPAIGN_EXAMPLES=500`` runs a
larger campaign, and ``MIXDOWN_CAMPAIGN_REPORT=FILE`` writes the count of cases per class.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixdown.cli import main
from mixdown.formats import encode, write
from tests.conftest import noise

EXAMPLES = int(os.environ.get("MIXDOWN_CAMPAIGN_EXAMPLES", "40"))
CASE_SECONDS = 60
RATE = 22_050
FORMATS = ("wav", "flac", "mp3", "ogg", "m4a", "aiff", "au", "caf", "w64", "wv", "mp2", "wma")
COUNTS: Counter[str] = Counter()
CAMPAIGN = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    """One valid short file per format, as bytes to damage."""
    folder = tmp_path_factory.mktemp("originals")
    audio = noise(1.0, RATE, amplitude=0.2)
    files = {}
    for fmt in FORMATS:
        path = folder / f"x.{'m4a' if fmt == 'm4a' else fmt}"
        encode(path, audio, RATE, "aac" if fmt == "m4a" else fmt)
        files[fmt] = path.read_bytes()
    return files


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    target = os.environ.get("MIXDOWN_CAMPAIGN_REPORT")
    if target:
        Path(target).write_text(json.dumps(dict(sorted(COUNTS.items())), indent=2) + "\n")


class _HangError(Exception):
    pass


def _alarm(signum, frame):
    raise _HangError("the command did not finish")


def run(*argv: str) -> tuple[int, str]:
    """Exit status and stderr of one in-process command, failing on a hang."""
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            status = main(list(argv))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return status, err.getvalue()


def _clean(folder: Path, status: int, stderr: str) -> None:
    assert status in (0, 2), stderr
    assert ": internal error:" not in stderr and "Traceback" not in stderr, stderr
    assert not [p.name for p in folder.rglob("*") if ".part" in p.name]


COMMANDS = {
    "info": lambda src, out: ["info", src],
    "loudness": lambda src, out: ["loudness", src],
    "export": lambda src, out: ["export", src, "-o", out],
    "stretch": lambda src, out: ["stretch", src, "-o", out, "--ratio", "1.25", "--quality", "draft"],
    "normalize": lambda src, out: ["normalize", src, "-o", out, "--peak", "-1"],
    "bpm": lambda src, out: ["bpm", src],
}


def _damage(data: bytes, how: str, where: int, length: int, value: int) -> bytes:
    if how == "empty":
        return b""
    if how == "truncate":
        return data[: where % max(len(data), 1)]
    if how == "flip":
        at = where % max(len(data), 1)
        return data[:at] + bytes(b ^ 0xFF for b in data[at:at + length]) + data[at + length:]
    # absurd header: a run of the first 64 bytes set to one extreme value
    at = where % 64
    return data[:at] + bytes([value]) * length + data[at + length:]


@CAMPAIGN
@given(fmt=st.sampled_from(FORMATS), how=st.sampled_from(["empty", "truncate", "flip", "absurd-header"]),
       where=st.integers(0, 1 << 20), length=st.integers(1, 16), value=st.sampled_from([0x00, 0x7F, 0xFF]),
       command=st.sampled_from(sorted(COMMANDS)))
def test_damaged_audio(tmp_path_factory, originals, fmt, how, where, length, value, command):
    folder = tmp_path_factory.mktemp("case")
    source = folder / f"in.{fmt}"
    source.write_bytes(_damage(originals[fmt], how, where, length, value))
    out = folder / "out.flac"
    out.write_bytes(b"precious")
    status, stderr = run(*COMMANDS[command](str(source), str(out)))
    COUNTS[f"damaged audio ({how})"] += 1
    _clean(folder, status, stderr)
    if status != 0:
        assert out.read_bytes() == b"precious"
    elif command in ("export", "stretch", "normalize"):
        assert run("info", str(out))[0] == 0


def _odd_path(folder: Path, kind: str) -> Path:
    path = folder / "odd.wav"
    if kind == "folder named like a file":
        path.mkdir()
    elif kind == "dangling symlink":
        path.symlink_to(folder / "missing.wav")
    elif kind == "symlink loop":
        path.symlink_to(folder / "loop.wav")
        (folder / "loop.wav").symlink_to(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "missing folder":
        path = folder / "nope" / "odd.wav"
    return path


ODD = ["folder named like a file", "dangling symlink", "symlink loop", "fifo", "missing folder"]


@CAMPAIGN
@given(kind=st.sampled_from(ODD), command=st.sampled_from(sorted(COMMANDS)))
def test_odd_input_paths(tmp_path_factory, kind, command):
    folder = tmp_path_factory.mktemp("case")
    status, stderr = run(*COMMANDS[command](str(_odd_path(folder, kind)), str(folder / "out.flac")))
    COUNTS[f"input path: {kind}"] += 1
    _clean(folder, status, stderr)
    assert status == 2 and not (folder / "out.flac").exists()


@CAMPAIGN
@given(kind=st.sampled_from([k for k in ODD if k != "fifo"] + ["read-only folder"]),
       command=st.sampled_from(["export", "stretch", "normalize"]))
def test_odd_output_paths(tmp_path_factory, kind, command):
    folder = tmp_path_factory.mktemp("case")
    source = folder / "in.wav"
    write(source, noise(0.5, RATE, amplitude=0.2), RATE)
    if kind == "read-only folder":
        if os.geteuid() == 0:
            COUNTS["output path: read-only folder (skipped as root)"] += 1
            return
        locked = folder / "locked"
        locked.mkdir()
        target = locked / "out.wav"
        locked.chmod(0o500)
    else:
        target = _odd_path(folder, kind)
    status, stderr = run(*COMMANDS[command](str(source), str(target)))
    COUNTS[f"output path: {kind}"] += 1
    _clean(folder, status, stderr)
    if kind == "dangling symlink" and status == 0:
        assert (folder / "missing.wav").is_file() and target.is_symlink()
    elif kind == "folder named like a file" and command == "export":
        assert status == 2 or (target / "export.wav").is_file()  # export's -o may name a folder to write into
    else:
        assert status == 2


@CAMPAIGN
@given(fmt=st.sampled_from(["wav", "flac", "mp3", "ogg"]), mode=st.sampled_from([0o600, 0o644, 0o664]),
       ratio=st.sampled_from(["0", "-1", "1e308", "nan", "abc", "1.5"]))
def test_existing_output_untouched_on_failure(tmp_path_factory, fmt, mode, ratio):
    folder = tmp_path_factory.mktemp("case")
    source = folder / "in.wav"
    write(source, noise(0.5, RATE, amplitude=0.2), RATE)
    target = folder / f"out.{fmt}"
    target.write_bytes(b"precious")
    target.chmod(mode)
    status, stderr = run("stretch", str(source), "-o", str(target), "--ratio", ratio, "--quality", "draft")
    COUNTS["existing output, stretch options"] += 1
    _clean(folder, status, stderr)
    assert (target.stat().st_mode & 0o777) == mode
    if status != 0:
        assert target.read_bytes() == b"precious"


def test_absurd_flac_frame_count_is_a_typed_error(tmp_path, originals):
    """Found by the campaign: STREAMINFO claiming 64 billion frames made every whole-file read allocate
    1.9 TiB (MemoryError, exit 1)."""
    data = originals["flac"]
    (tmp_path / "bad.flac").write_bytes(data[:8] + bytes([0x7F]) * 14 + data[22:])
    status, stderr = run("bpm", str(tmp_path / "bad.flac"))
    assert status == 2 and ": internal error:" not in stderr, stderr


def test_m4a_with_undecodable_header_text_is_a_typed_error(tmp_path, originals):
    """Found by the campaign: one flipped byte in an m4a's header made PyAV raise UnicodeDecodeError."""
    data = originals["m4a"]
    (tmp_path / "bad.m4a").write_bytes(data[:8] + bytes([data[8] ^ 0xFF]) + data[9:])
    status, stderr = run("bpm", str(tmp_path / "bad.m4a"))
    assert status == 2 and ": internal error:" not in stderr, stderr
