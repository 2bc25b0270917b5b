"""Stretch and pitch quality on rendered music against native renderings, every engine in the same run.

Each engine stretches (speeds 0.8, 0.9, 1.1, 1.25) or transposes (-5, -2, +3, +7 semitones, pitched pieces
only) the base FluidSynth rendering of six MIDI pieces; the output is scored against FluidSynth's rendering
of the same notes at the target speed or pitch: ViSQOL v3 (audio mode, MOS-LQO 1-5, higher is better),
mel log-spectral distance (dB, lower is better), onset F-measure within 20 ms (librosa's detector on both),
and pre-echo before kick, snare and tom hits of the drum kit alone (energy added in the 30-2 ms before each
hit's attack, relative to the hit). Speed: the engine's x realtime over all cases, this run, after one
warm-up stretch and pitch shift (numba compiles its kernels on first use). Writes
``benchmarks/results/stretch_real_material.md`` (and the raw figures beside it as JSON).
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from benchmarks.quality import real_material as rm
from benchmarks.stretch_peers import engines, mixdown_engine
from mixdown.analysis import mel_lsd_db, onset_frames, onset_scores

RESULTS = Path(__file__).resolve().parent.parent / "results"
REASON = rm.missing()
if REASON is None and __import__("importlib.util").util.find_spec("visqol") is None:
    REASON = "visqol-python is not installed (pip install visqol-python)"
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

ENGINES = engines()
#: How much of the envelope pitch shifting keeps (by default what the source's own notes keep) is an option;
#: its ends, 0 (moved with the pitch) and 1 (kept in place), are scored on the pitch cases only.
ENGINES = {"mixdown high": ENGINES.pop("mixdown high"),
           "mixdown high formants 0": mixdown_engine("high", formants=0.0),
           "mixdown high formants 1": mixdown_engine("high", formants=1.0), **ENGINES}
CASES = [(piece, speed, 0) for piece in rm.PIECES for speed in rm.SPEEDS]
CASES += [(piece, 1.0, semitones) for piece in rm.PIECES if piece.pitched for semitones in rm.SEMITONES]
#: engine -> list of per-case figures, filled as the engines run, written at the end of the module.
FIGURES: dict[str, list[dict]] = defaultdict(list)


def _visqol():
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")
    return api


def score(engine: str, api) -> None:
    run = ENGINES[engine]
    pitch_only = "formants" in engine
    warm_up = rm.render(rm.PIECES[0])[:, : rm.SAMPLE_RATE]
    run(warm_up, rm.SAMPLE_RATE, 0.8, 0.0)
    run(warm_up, rm.SAMPLE_RATE, 1.0, 3.0)
    for piece, speed, semitones in CASES:
        if pitch_only and not semitones:
            continue
        source = rm.render(piece)
        reference = rm.render(piece, speed, semitones)
        started = time.perf_counter()
        out = run(source, rm.SAMPLE_RATE, speed, float(semitones))
        seconds = time.perf_counter() - started
        out = rm.fit(out, reference.shape[1])
        ref_mono, out_mono = reference.mean(axis=0), out.mean(axis=0)
        tolerance = round(0.02 * rm.SAMPLE_RATE)
        onsets = onset_scores(onset_frames(ref_mono, rm.SAMPLE_RATE), onset_frames(out_mono, rm.SAMPLE_RATE), tolerance)
        figures = {
            "piece": piece.name, "speed": speed, "semitones": semitones, "seconds": seconds,
            "audio_seconds": source.shape[1] / rm.SAMPLE_RATE,
            "visqol": api.measure_from_arrays(ref_mono.astype(np.float64), out_mono.astype(np.float64),
                                              rm.SAMPLE_RATE).moslqo,
            "mel_lsd": mel_lsd_db(ref_mono, out_mono, rm.SAMPLE_RATE),
            "onset_f": onsets.f_measure,
            "pre_echo": math.nan,
        }
        FIGURES[engine].append(figures)
    for speed in () if pitch_only else rm.SPEEDS:
        kit = rm.render(rm.DRUM_KIT, speed)
        out = rm.fit(run(rm.render(rm.DRUM_KIT), rm.SAMPLE_RATE, speed, 0.0), kit.shape[1])
        pre_echo = rm.pre_echo_db(out, kit, rm.hit_frames(rm.DRUM_KIT, speed), rm.SAMPLE_RATE)
        FIGURES[engine].append({"piece": rm.DRUM_KIT.name, "speed": speed, "semitones": 0, "pre_echo": pre_echo})


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if key in r and not math.isnan(r[key])]
    return float(np.mean(values)) if values else math.nan


def _power_mean_db(rows: list[dict]) -> float:
    values = [10 ** (r["pre_echo"] / 10) for r in rows if not math.isnan(r["pre_echo"])]
    return 10 * math.log10(np.mean(values)) if values else math.nan


def _cell(value: float, digits: int) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f}"


def table(figures: dict[str, list[dict]]) -> str:
    kinds = {"stretch": lambda r: r["semitones"] == 0, "pitch": lambda r: r["semitones"] != 0}
    lines = ["# Stretch and pitch on rendered music, against native renderings (one run)", "", __doc__.split("\n\n")[1]
             .replace("\n", " "), "", "## Means", "",
             "| engine | stretch ViSQOL | stretch mel LSD dB | pitch ViSQOL | pitch mel LSD dB | onset F | "
             "pre-echo before hits dB | x realtime |", "|---|" + "---:|" * 7]
    for engine, rows in figures.items():
        st = [r for r in rows if kinds["stretch"](r) and r["piece"] != rm.DRUM_KIT.name]
        pt = [r for r in rows if kinds["pitch"](r)]
        timed = [r for r in rows if "audio_seconds" in r]
        realtime = sum(r["audio_seconds"] for r in timed) / sum(r["seconds"] for r in timed)
        cells = [_cell(_mean(st, "visqol"), 3), _cell(_mean(st, "mel_lsd"), 2), _cell(_mean(pt, "visqol"), 3),
                 _cell(_mean(pt, "mel_lsd"), 2), _cell(_mean(rows, "onset_f"), 3), _cell(_power_mean_db(rows), 1),
                 _cell(realtime, 0)]
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    pieces = [p.name for p in rm.PIECES]
    for kind, label in (("stretch", "speeds 0.8-1.25"), ("pitch", "-5 to +7 semitones")):
        for key, name, digits in (("visqol", "ViSQOL", 3), ("mel_lsd", "mel LSD dB", 2)):
            shown = [p for p in pieces if any(kinds[kind](r) and r["piece"] == p for rows in figures.values()
                                              for r in rows)]
            lines += ["", f"## {kind.capitalize()} ({label}): {name} per piece", "",
                      "| engine | " + " | ".join(shown) + " |", "|---|" + "---:|" * len(shown)]
            for engine, rows in figures.items():
                cells = [_mean([r for r in rows if kinds[kind](r) and r["piece"] == p], key) for p in shown]
                lines.append(f"| {engine} | " + " | ".join(_cell(c, digits) for c in cells) + " |")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def visqol_api():
    api = _visqol()
    yield api
    if FIGURES:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "stretch_real_material.json").write_text(json.dumps(FIGURES, indent=1) + "\n")
        text = table(FIGURES)
        (RESULTS / "stretch_real_material.md").write_text(text)
        print("\n" + text)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_engine_on_real_material(engine, visqol_api):
    score(engine, visqol_api)
    rows = FIGURES[engine]
    if "formants" not in engine:
        assert len(rows) == len(CASES) + len(rm.SPEEDS)
    assert all(math.isfinite(r["visqol"]) and math.isfinite(r["mel_lsd"]) for r in rows if "visqol" in r)
