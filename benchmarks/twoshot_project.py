"""A synthesized 16-track TwoShot project and library for the end-to-end render benchmark.

About 1,700 clips over 3 minutes at 124 BPM: drum loops and a bass line recorded at other tempi
(tempo-sync, some pitched), chord pads with pitch offsets, and one-shots placed hundreds of times.
``minutes`` scales the arrangement (loop repeats fill it), for the memory check.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixdown.formats import write

SR = 44_100
TEMPO = 124.0


def _noise_hit(rng, seconds, decay, tone_hz=None):
    t = np.arange(round(seconds * SR)) / SR
    body = rng.standard_normal(t.size) * 0.3
    if tone_hz:
        body += np.sin(2 * np.pi * tone_hz * t)
    return (body * np.exp(-decay * t) * 0.5).astype(np.float32)


def _loop(rng, bpm, bars, channels=2):
    beat = 60 / bpm
    n = round(bars * 4 * beat * SR)
    out = np.zeros((channels, n), dtype=np.float32)
    for k in range(bars * 8):
        hit = _noise_hit(rng, 0.15, 30 + 10 * (k % 3), 60 + 40 * (k % 4))
        start = round(k * beat / 2 * SR)
        end = min(n, start + hit.size)
        out[:, start:end] += hit[: end - start] * (0.8 if k % 2 == 0 else 0.4)
    return out


def _pad(seconds, root):
    t = np.arange(round(seconds * SR)) / SR
    chord = sum(np.sin(2 * np.pi * root * r * t + i) for i, r in enumerate((1, 1.26, 1.5, 2)))
    return (0.1 * np.stack([chord, np.roll(chord, 37)]) * np.minimum(1, t / 0.2)).astype(np.float32)


def write_library(folder: Path, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    sounds = {
        "kick": (_noise_hit(rng, 0.4, 9, 50)[np.newaxis], None),
        "snare": (_noise_hit(rng, 0.25, 20, 190)[np.newaxis], None),
        "hat": (_noise_hit(rng, 0.08, 60)[np.newaxis], None),
        "clap": (_noise_hit(rng, 0.2, 25)[np.newaxis], None),
        "perc": (_noise_hit(rng, 0.3, 15, 400)[np.newaxis], None),
    }
    for i, bpm in enumerate((96.0, 110.0, 128.0, 140.0, 100.0, 118.0)):
        sounds[f"loop{i}"] = (_loop(rng, bpm, 2 if i % 2 else 4), bpm)
    for i, root in enumerate((110.0, 146.8, 164.8)):
        sounds[f"pad{i}"] = (_pad(8.0, root), None)
    sounds["bass"] = (_loop(rng, 90.0, 2, channels=1), 90.0)
    for name, (audio, bpm) in sounds.items():
        write(folder / f"{name}.wav", audio, SR, subtype="FLOAT")
        manifest[name] = {"path": f"{name}.wav"} | ({"bpm": bpm} if bpm else {})
    (folder / "library.json").write_text(json.dumps(manifest))


def project(minutes: float = 3.0) -> dict:
    beats = round(minutes * TEMPO)
    rng = np.random.default_rng(11)
    tracks = []

    def clip(cid, audio, position, **fields):
        return {"id": cid, "position": float(position), "source": {"audioId": audio}, "speed": 1.0,
                "volume": 0.5, **fields}

    for name, step, count in (("kick", 1.0, 380), ("snare", 2.0, 190), ("hat", 0.5, 450), ("clap", 4.0, 90),
                              ("perc", 0.75, 250)):
        clips = [clip(f"{name}{k}", name, 1.0 + k * step if name == "snare" else k * step,
                      pitchOffset=float(rng.choice([0.0, 0.0, 2.0, -3.0])) if name == "perc" else 0.0,
                      pan=float(rng.uniform(-0.5, 0.5)))
                 for k in range(count) if k * step < beats]
        tracks.append({"id": name, "clips": clips, "volume": 0.7})
    for i in range(6):
        bars = 2 if i % 2 else 4
        clips = [clip(f"loop{i}-{k}", f"loop{i}", 16 * k + 4 * (i % 2), speed="tempo-sync",
                      pitchOffset=[0.0, 0.0, 1.0, -2.0][k % 4], volume=0.35)
                 for k in range(3)]
        tracks.append({"id": f"loop{i}", "clips": clips, "loopEvery": 4.0 * bars * 3, "pan": (i - 2.5) / 4})
    for i in range(3):
        clips = [clip(f"pad{i}-{k}", f"pad{i}", 16 * k, pitchOffset=float([0, 5, -2, 7][k % 4]), volume=0.3,
                      cutEnd=16 * 60 / TEMPO)
                 for k in range(4)]
        tracks.append({"id": f"pad{i}", "clips": clips, "loopEvery": 64.0})
    bass = [clip(f"bass{k}", "bass", 8 * k, speed="tempo-sync", pitchOffset=float([0, -5, 3, -2][k % 4]))
            for k in range(4)]
    tracks.append({"id": "bass", "clips": bass, "loopEvery": 32.0})
    tracks.append({"id": "fills", "clips": [clip(f"fill{k}", "clap", 15.5 + 16 * k, reversed=True, speed=0.5)
                                            for k in range(beats // 16)]})
    return {"name": "benchmark", "tempo": TEMPO, "playHead": {"start": 0.0, "end": float(beats)},
            "tracks": tracks}
