"""The README stays true: every ``sh`` and ``python`` block runs as written, and its synopsis is ``--help``'s.

Blocks run in a temporary folder with ``mixdown`` and ``python3`` on PATH meaning this interpreter and this
checkout. A ``pip install`` step is not run (the test runs inside that install): it must already hold,
which the test checks by importing the extras it names. A block that runs the test suite or the benchmarks
is skipped (it would run this test again, or for minutes); so is one that needs a tool that is absent.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mixdown import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Packages each pip extra must make importable, for a skipped ``pip install -e '.[extra]'`` step.
EXTRAS = {"test": ["pytest", "xdist", "hypothesis"], "bench": ["pytest_benchmark"]}
#: Commands a block may start with that are this checkout (``mixdown``) or this interpreter.
OURS = {"mixdown", "python3", "python", "cd", "ls", "cat", "echo"}


def blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text[: found.start()].count("\n") + 1, found.group(2))
            for found in FENCE.finditer(text) if found.group(1) == language]


def _steps(block: str) -> list[str]:
    """The shell commands of a block, one per line or ``&&`` link."""
    return [step.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")
            for step in line.split("&&")]


def _shims(folder: Path) -> Path:
    """``mixdown`` and ``python3`` as this interpreter running this checkout."""
    folder.mkdir()
    for name, command in (("mixdown", f'"{sys.executable}" -m mixdown.cli "$@"'),
                          ("python3", f'"{sys.executable}" "$@"'), ("python", f'"{sys.executable}" "$@"')):
        shim = folder / name
        shim.write_text(f"#!/bin/sh\nexec {command}\n")
        shim.chmod(0o755)
    return folder


def _runnable(step: str) -> str | None:
    """The step to run, or None when the test environment stands for it (``pip install``)."""
    words = shlex.split(step)
    if words[:4] == ["python3", "-m", "pip", "install"]:
        for extra in re.findall(r"\[([\w,]+)\]", step):
            for name in extra.split(","):
                for module in EXTRAS.get(name, []):
                    pytest.importorskip(module, reason=f"README installs the {name!r} extra; {module} is absent")
        return None
    if words[:3] == ["python3", "-m", "pytest"]:
        pytest.skip("runs the test suite (or the benchmarks) itself: run on demand, not from inside the tests")
    for part in step.split("|"):
        tool = shlex.split(part)[0]
        if tool not in OURS and shutil.which(tool) is None:
            pytest.skip(f"needs {tool}, which is not installed")
    return step


@pytest.mark.parametrize("line,block", blocks("sh"), ids=lambda value: str(value) if isinstance(value, int) else "")
def test_shell_block_runs_as_written(line, block, tmp_path):
    steps = [step for step in map(_runnable, _steps(block)) if step is not None]
    env = {**os.environ, "PATH": f"{_shims(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "MIXDOWN_HOME": str(tmp_path / "home")}
    work = tmp_path / "work"
    work.mkdir()
    for step in steps:
        result = subprocess.run(["bash", "-c", f"set -euo pipefail; {step}"], cwd=work, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"README line {line}: {step}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"README line {line}: {step}\n{result.stderr}"


@pytest.mark.parametrize("line,block", blocks("python"), ids=lambda value: str(value) if isinstance(value, int) else "")
def test_python_block_runs_as_written(line, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIXDOWN_HOME", str(tmp_path / "home"))
    exec(compile(block, f"README.md:{line}", "exec"), {"__name__": "readme"})


def _synopsis() -> dict[str, str]:
    """Each command's synopsis text (continuation lines joined), from the README's ``text`` block."""
    block = next(text for _, text in blocks("text") if text.startswith("mixdown "))
    commands: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if line.startswith("mixdown "):
            name = line.split()[1]
            if name.startswith("-"):
                name = ""
                continue
        if name:
            commands[name] = commands.get(name, "") + " " + line
    return commands


def _option_sets(parser: argparse.ArgumentParser) -> list[list[str]]:
    common = {"-h", "--help", "--json", "-q", "--quiet", "-v", "--verbose"}
    return [action.option_strings for leaf in cli._leaves(parser) for action in leaf._actions
            if action.option_strings and not set(action.option_strings) & common]


def test_synopsis_lists_every_option_each_command_takes_and_no_other():
    parser = cli._parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    synopsis = _synopsis()
    assert set(synopsis) == set(subcommands), "every command has a synopsis line in the README, and no other"
    for name, text in synopsis.items():
        written = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", text))
        options = _option_sets(subcommands[name])
        known = {string for strings in options for string in strings}
        assert written <= known, f"README names options mixdown {name} does not take: {written - known}"
        missing = [strings for strings in options if not set(strings) & written]
        assert not missing, f"README's synopsis of mixdown {name} leaves out {missing}"


def test_version_flag():
    result = subprocess.run([sys.executable, "-m", "mixdown.cli", "-V"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stdout.startswith("mixdown ")
