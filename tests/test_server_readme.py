"""README's "Run the platforms' APIs locally" stays true: its ``mixdown serve`` command is started (on a free
port, with a temporary home) and its curl (``bash``) and Python (``py``) examples run as written against it.

These blocks are fenced ``bash`` and ``py`` rather than ``sh`` and ``python`` because they need the server
running; ``tests/test_readme.py`` runs the others on their own.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_process import Server

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Run the platforms' APIs locally"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section_blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return [(found.group(1), found.group(2)) for found in FENCE.finditer(text[start:end])]


def test_readme_server_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("requests")
    if shutil.which("curl") is None:
        pytest.skip("the examples use curl, which is not installed")
    blocks = section_blocks()
    serve = next(block for kind, block in blocks if kind == "bash" and block.startswith("mixdown serve"))
    args = shlex.split(serve)[2:]
    args[args.index("--home") + 1] = str(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    server = Server(tmp_path / "home", *args[2:])
    server.start()
    try:
        port = f"127.0.0.1:{server.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(README.parent),
                                                                            os.environ.get("PYTHONPATH")]))}
        shim = tmp_path / "bin"
        shim.mkdir()
        (shim / "mixdown").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mixdown.cli "$@"\n')
        (shim / "mixdown").chmod(0o755)
        env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
        ran = 0
        for kind, block in blocks:
            block = block.replace("127.0.0.1:8000", port)
            if kind == "bash" and not block.startswith("mixdown serve"):
                for line in block.splitlines():
                    result = subprocess.run(["bash", "-c", f"set -euo pipefail; {line}"], cwd=work, env=env,
                                            capture_output=True, text=True, timeout=120)
                    assert result.returncode == 0 and '"error"' not in result.stdout, (line, result.stdout,
                                                                                       result.stderr)
                    ran += 1
            elif kind == "py":
                exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
                ran += 1
        assert ran >= 6
        assert (work / "my-track.flac").stat().st_size > 1000
    finally:
        server.stop()
