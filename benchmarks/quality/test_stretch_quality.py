"""Sound quality of every time-stretch engine side by side, written to benchmarks/results/stretch_quality.md.

Figures (all measured, none asserted by ear): a 1 kHz tone at ratios 0.5-2.0 (frequency error in cents,
THD+N, envelope ripple of 50 ms RMS, on the middle half), pitch shifts of the tone, a three-partial chord's
level errors at 0.8 and 1.25, and a click train's onset error and pre-echo at 0.8 and 1.25. The asserts hold
mixdown's default preset to the targets.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.signals import CHORD_HZ, SAMPLE_RATE, chord, click_train, sine
from benchmarks.stretch_peers import engines
from mixdown.analysis import click_figures, envelope_ripple_db, fit_tone, middle_half, partial_levels_db

RESULTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "results"
RATIOS = (0.5, 0.8, 1.25, 2.0)
SEMITONES = (-12, -5, 3, 7, 12)
TABLE: dict[str, dict[str, str]] = {}
COLUMNS: list[str] = []


def record(engine: str, column: str, value: float, digits: int = 2) -> None:
    if column not in COLUMNS:
        COLUMNS.append(column)
    TABLE.setdefault(engine, {})[column] = "-" if not math.isfinite(value) else f"{value:.{digits}f}"


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    RESULTS.mkdir(exist_ok=True)
    lines = ["# Time-stretch quality, every engine side by side", "",
             "Tone: 1 kHz, 0.5 amplitude, middle half. Chord: 220, 554.37, 1318.5 Hz, level error of the worst "
             "partial (dB). Clicks: unit click every 0.5 s; onset error (ms), worst pre-echo (dB).", "",
             "| engine | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for engine, row in TABLE.items():
        lines.append(f"| {engine} | " + " | ".join(row.get(c, "") for c in COLUMNS) + " |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "stretch_quality.md").write_text(text)
    print("\n" + text)


ENGINES = engines()
SINE = sine()
CHORD = chord()
CLICKS, CLICK_POSITIONS = click_train()


@pytest.mark.parametrize("engine", list(ENGINES))
def test_tone_stretch(engine):
    for ratio in RATIOS:
        out = middle_half(ENGINES[engine](SINE, SAMPLE_RATE, ratio, 0.0)[0])
        fit = fit_tone(out, SAMPLE_RATE)
        record(engine, f"tone {ratio} cents", fit.cents_from(1000.0), 4)
        record(engine, f"tone {ratio} THD+N dB", fit.thd_n_db, 1)
        record(engine, f"tone {ratio} ripple dB", envelope_ripple_db(out, SAMPLE_RATE), 3)
        if engine == "mixdown high":
            assert abs(fit.cents_from(1000.0)) <= 0.05 and fit.thd_n_db <= -50
            assert envelope_ripple_db(out, SAMPLE_RATE) <= 0.25


@pytest.mark.parametrize("engine", list(ENGINES))
def test_pitch_shift(engine):
    for semitones in SEMITONES:
        out = middle_half(ENGINES[engine](SINE, SAMPLE_RATE, 1.0, float(semitones))[0])
        fit = fit_tone(out, SAMPLE_RATE)
        cents = fit.cents_from(1000.0 * 2 ** (semitones / 12))
        record(engine, f"pitch {semitones:+d} cents", cents, 4)
        record(engine, f"pitch {semitones:+d} THD+N dB", fit.thd_n_db, 1)
        if engine == "mixdown high":
            assert abs(cents) <= 0.1 and fit.thd_n_db <= -40


@pytest.mark.parametrize("engine", list(ENGINES))
def test_chord(engine):
    reference = partial_levels_db(middle_half(CHORD[0]), SAMPLE_RATE, list(CHORD_HZ))
    for ratio in (0.8, 1.25):
        out = middle_half(ENGINES[engine](CHORD, SAMPLE_RATE, ratio, 0.0)[0])
        errors = np.subtract(partial_levels_db(out, SAMPLE_RATE, list(CHORD_HZ)), reference)
        worst = float(errors[np.argmax(np.abs(errors))])
        record(engine, f"chord {ratio} worst dB", worst, 2)
        if engine == "mixdown high":
            assert abs(worst) <= 0.5


@pytest.mark.parametrize("engine", list(ENGINES))
def test_clicks(engine):
    for ratio in (0.8, 1.25):
        out = ENGINES[engine](CLICKS, SAMPLE_RATE, ratio, 0.0)[0]
        expected = np.floor(CLICK_POSITIONS / ratio + 0.5).astype(np.int64)
        figures = click_figures(out, SAMPLE_RATE, expected)
        record(engine, f"clicks {ratio} onset ms", figures.mean_onset_error_ms, 2)
        record(engine, f"clicks {ratio} pre-echo dB", figures.worst_pre_echo_db, 1)
        if engine == "mixdown high":
            assert figures.mean_onset_error_ms <= 1.0 and figures.worst_pre_echo_db <= -40
