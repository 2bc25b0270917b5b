"""Signals the tests synthesize: every property they check is known by construction."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest


def tone(frequency: float, seconds: float, sample_rate: int, *, amplitude: float = 0.5, channels: int = 1,
         phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = amplitude * np.sin(2 * np.pi * frequency * t + phase)
    return np.ascontiguousarray(np.repeat(wave[np.newaxis], channels, axis=0), dtype=np.float32)


def noise(seconds: float, sample_rate: int, *, channels: int = 2, seed: int = 0, amplitude: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal((channels, round(seconds * sample_rate)))).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


#: Programs the tests use as independent cross-checks. A test that runs one where it is not installed is
#: skipped with the reason (the README's test command must pass without them), unless
#: MIXDOWN_REQUIRE_TOOLS=1 (``.ci/run`` sets it after installing them): then any such skip is a failure.
CROSS_CHECK_TOOLS = frozenset({"ffmpeg", "ffprobe", "flac", "metaflac", "sox", "soxi", "oggdec", "wvunpack",
                               "wavpack", "lame"})
REQUIRE_TOOLS = os.environ.get("MIXDOWN_REQUIRE_TOOLS") == "1"


def _missing_tool(error: BaseException) -> str | None:
    if isinstance(error, FileNotFoundError) and error.filename is not None:
        name = Path(str(error.filename)).name
        if name in CROSS_CHECK_TOOLS and shutil.which(name) is None:
            return name
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    tool = _missing_tool(call.excinfo.value) if call.excinfo is not None else None
    if tool is not None and not REQUIRE_TOOLS:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {tool} not installed")
    elif REQUIRE_TOOLS and report.skipped and "not installed" in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"MIXDOWN_REQUIRE_TOOLS=1 but a cross-check was skipped: {report.longrepr}"
