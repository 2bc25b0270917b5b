"""The API reference builds from the docstrings (pdoc), with a page per public module and the names a user
looks for first."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("pdoc", reason="pdoc is not installed (the test extra has it)")


def test_the_api_reference_builds_with_every_public_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pdoc", "--docformat", "numpy", "-o", str(tmp_path), "mixdown"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    pages = {
        "mixdown.html": ['id="open"', 'id="write"', 'id="read"', 'id="info"'],
        "mixdown/twoshot.html": ['id="render"', 'id="render_to"', 'id="SampleLibrary"'],
        "mixdown/songclip.html": ['id="render"', 'id="render_to"'],
        "mixdown/twistedwave.html": ['id="render"', 'id="render_to"', 'id="apply_edits"'],
        "mixdown/files.html": ['id="normalize_file"', 'id="loudness_file"', 'id="write_audio"'],
        "mixdown/engine.html": ['id="render_blocks"', 'id="measure_loudness"'],
    }
    for page, anchors in pages.items():
        html = (tmp_path / page).read_text(encoding="utf-8")
        for anchor in anchors:
            assert anchor in html, f"{page} lacks {anchor}"
    assert "Examples" in (tmp_path / "mixdown/twoshot.html").read_text(encoding="utf-8")
