"""The bundled demo: a synthesized sample library and a TwoShot project that uses it.

Every sound is generated here (mixdown ships no audio). The project exercises the contract: tempo-sync of a
drum loop recorded at another tempo, pitchOffset, reverse, pan, numeric and ``"auto"`` loops, a numeric-string
speed, and a muted track.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixdown.formats import write

SAMPLE_RATE = 44_100
PROJECT_TEMPO = 120.0
LOOP_TEMPO = 100.0


def _t(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE


def _kick() -> np.ndarray:
    t = _t(0.4)
    return 0.9 * np.sin(2 * np.pi * (45 * t + (110 / 20) * (1 - np.exp(-20 * t)))) * np.exp(-8 * t)


def _snare(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.25)
    body = 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-25 * t)
    return body + 0.35 * rng.standard_normal(t.size) * np.exp(-18 * t)


def _hat(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.06)
    return 0.3 * np.diff(rng.standard_normal(t.size + 1)) * np.exp(-70 * t)


def _bass() -> np.ndarray:
    t = _t(0.45)
    wave = sum(np.sin(2 * np.pi * 55 * k * t) / k for k in range(1, 7))
    return 0.35 * wave * np.minimum(1, 200 * t) * np.exp(-2.5 * t)


def _pad() -> np.ndarray:
    t = _t(4.0)
    chord = (220.0, 277.18, 329.63, 440.0)
    left = sum(np.sin(2 * np.pi * f * t + i) for i, f in enumerate(chord))
    right = sum(np.sin(2 * np.pi * f * 1.003 * t + 2 * i) for i, f in enumerate(chord))
    envelope = np.minimum(1, t / 0.3) * np.minimum(1, (t[-1] - t) / 0.5)
    return 0.09 * np.stack([left, right]) * envelope


def _drum_loop(rng: np.random.Generator) -> np.ndarray:
    beat = 60.0 / LOOP_TEMPO
    out = np.zeros(round(8 * beat * SAMPLE_RATE))
    hits = {0: _kick(), 2.5: _kick(), 4: _kick(), 1: _snare(rng), 3: _snare(rng), 5: _snare(rng), 7: _snare(rng)}
    hits |= {b + 0.5: 0.6 * _hat(rng) for b in range(8)}
    for at, sound in hits.items():
        start = round(at * beat * SAMPLE_RATE)
        end = min(out.size, start + sound.size)
        out[start:end] += sound[: end - start]
    return 0.7 * out


def write_library(folder: Path) -> dict[str, dict]:
    """Write the demo's sounds as WAV files and ``library.json``; returns the manifest."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    sounds = {
        "kick": (_kick(), None), "snare": (_snare(rng), None), "hat": (_hat(rng), None),
        "bass": (_bass(), None), "pad": (_pad(), None), "drum-loop-100": (_drum_loop(rng), LOOP_TEMPO),
    }
    manifest = {}
    for name, (audio, bpm) in sounds.items():
        write(folder / f"{name}.wav", np.atleast_2d(audio).astype(np.float32), SAMPLE_RATE, subtype="PCM_24")
        manifest[name] = {"path": f"{name}.wav", "name": name, "sampleId": len(manifest) + 1000}
        if bpm:
            manifest[name]["bpm"] = bpm
    (folder / "library.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _clip(cid: str, audio: str, position: float, **fields) -> dict:
    return {"id": cid, "name": audio, "position": position, "muted": False, "volume": 0.8,
            "source": {"audioId": audio}, "pitchOffset": 0.0, "reversed": False, "speed": 1.0, "pan": 0.0,
            **fields}


def demo_project() -> dict:
    """Eight bars at 120 BPM on six tracks."""
    def track(tid: str, name: str, clips: list, **fields) -> dict:
        return {"id": tid, "name": name, "clips": clips, "pan": 0.0, "volume": 0.6, "muted": False, **fields}

    return {
        "name": "mixdown demo",
        "version": "1.0.0",
        "tempo": PROJECT_TEMPO,
        "grid": 0.25,
        "snapToGrid": True,
        "playHead": {"start": 0.0, "end": 32.0},
        "soloTarget": None,
        "tracks": [
            track("kick", "Kick", [_clip(f"kick-{b}", "kick", float(b)) for b in range(4)], loopEvery=4),
            track("snare", "Snare", [_clip("snare-1", "snare", 1.0, volume=0.7), _clip("snare-3", "snare", 3.0,
                                                                                       volume=0.7)],
                  loopEvery="auto", pan=0.05),
            track("hats", "Hats", [_clip(f"hat-{i}", "hat", i / 2, volume=0.5, pan=0.3 if i % 2 else -0.3)
                                   for i in range(8)], loopEvery=4),
            track("loop", "Drum loop (100 BPM, tempo-synced)",
                  [_clip("loop-a", "drum-loop-100", 16.0, speed="tempo-sync", volume=0.6)],
                  loopEvery="auto", pan=-0.2),
            track("bass", "Bass", [_clip(f"bass-{i}", "bass", float(2 * i), pitchOffset=[0, 0, -2, 3][i % 4],
                                         volume=0.7) for i in range(8)], loopEvery=16),
            track("pad", "Pad", [
                _clip("pad-1", "pad", 0.0, volume=0.6),
                _clip("pad-2", "pad", 8.0, volume=0.6, pitchOffset=-4.0),
                _clip("pad-swell", "pad", 14.0, volume=0.5, reversed=True, cutStart=2.0, cutEnd=4.0, speed="1"),
                _clip("pad-3", "pad", 16.0, volume=0.6, pitchOffset=5.0, speed="0.5", pan=0.4),
            ], pan=0.1),
            track("sketch", "Muted sketch", [_clip("sketch-1", "pad", 0.0)], muted=True),
        ],
    }
