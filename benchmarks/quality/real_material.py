"""Real-material ground truth for time-stretch and pitch-shift: MIDI pieces written in code, rendered with
FluidSynth at a base tempo and natively at each target tempo or transposition.

An engine stretches or shifts the base rendering; its output is scored against the native rendering of the
same notes at the target speed or pitch (what a player would have recorded), so the score says how close
the engine comes to the real thing, not to an idealized tone. Pieces are short (about 5 s) to keep a full
run within minutes on two shared cores. Needs the ``fluidsynth`` program, a General MIDI soundfont
(Debian ``fluid-soundfont-gm``) and ``pretty_midi``; :func:`missing` names what is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 48_000  # ViSQOL's audio mode works at 48 kHz
SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"))
SPEEDS = (0.8, 0.9, 1.1, 1.25)
SEMITONES = (-5, -2, 3, 7)
BEAT = 0.6  # 100 bpm
TAIL = 0.6  # seconds rendered after the last note ends, at every speed

# A note: (start beat, length in beats, MIDI pitch, velocity). Drums: (start beat, GM drum key, velocity).
Notes = list[tuple[float, float, int, int]]


def soundfont() -> Path | None:
    return next((path for path in SOUNDFONTS if path.exists()), None)


def missing() -> str | None:
    """Why the real-material benchmark cannot run here, or None when it can."""
    if shutil.which("fluidsynth") is None:
        return "the fluidsynth program is not installed (Debian: apt-get install fluidsynth)"
    if soundfont() is None:
        return "no General MIDI soundfont (Debian: apt-get install fluid-soundfont-gm)"
    if importlib.util.find_spec("pretty_midi") is None:
        return "pretty_midi is not installed (pip install pretty_midi)"
    return None


def _chords(progression: list[tuple[int, ...]], beats: float, velocity: int) -> Notes:
    return [(i * beats, beats, pitch, velocity) for i, chord in enumerate(progression) for pitch in chord]


PROGRESSION = [(48, 60, 64, 67), (45, 57, 60, 64), (41, 57, 60, 65), (43, 55, 59, 62)]


def _piano() -> dict[int, Notes]:
    left = [(b, 0.9, p, 70) for i, chord in enumerate(PROGRESSION)
            for b, p in ((2 * i, chord[0]), (2 * i + 1, chord[0] + 7))]
    melody = [72, 74, 76, 79, 77, 76, 74, 72, 69, 71, 72, 74, 76, 74, 71, 67]
    right = [(0.5 * i, 0.45, p, 80 + 10 * (i % 2 == 0)) for i, p in enumerate(melody)]
    return {0: left + right}


def _strings() -> dict[int, Notes]:
    strings = _chords([c[1:] for c in PROGRESSION], 2.0, 75)
    lead = [(0.0, 3.0, 76, 80), (3.0, 1.0, 74, 80), (4.0, 2.0, 72, 80), (6.0, 2.0, 71, 80)]
    return {48: strings + lead, 89: [(0.0, 8.0, 48, 60), (0.0, 8.0, 55, 60)]}


def _drum_groove(bars: int = 2) -> Notes:
    hits: Notes = []
    for bar in range(bars):
        at = 4.0 * bar
        hits += [(at + b, 0.25, 36, 110) for b in (0.0, 1.5, 2.0)]
        hits += [(at + b, 0.25, 38, 105) for b in (1.0, 3.0)]
        hits += [(at + 0.5 * e, 0.25, 42, 70 + 15 * (e % 2 == 0)) for e in range(8)]
    hits += [(7.5, 0.25, 45, 100), (7.75, 0.25, 47, 100)]
    return hits


def _bass() -> Notes:
    line = [36, 36, 43, 36, 33, 33, 40, 33, 29, 29, 36, 29, 31, 31, 38, 35]
    return [(0.5 * i, 0.45, p, 95) for i, p in enumerate(line)]


def _drums_bass() -> dict[int, Notes]:
    return {-1: _drum_groove(), 33: _bass()}


def _full_mix() -> dict[int, Notes]:
    comp = [(b, 0.4, p, 65) for i, chord in enumerate(PROGRESSION)
            for b in (2 * i + 0.5, 2 * i + 1.5) for p in chord[1:]]
    lead = [(0.0, 1.0, 79, 90), (1.0, 0.5, 77, 85), (1.5, 0.5, 76, 85), (2.0, 2.0, 72, 90), (4.0, 1.0, 77, 90),
            (5.0, 1.0, 76, 85), (6.0, 2.0, 74, 90)]
    return {-1: _drum_groove(), 33: _bass(), 0: comp, 49: _chords([c[1:] for c in PROGRESSION], 2.0, 55), 81: lead}


def _guitar() -> dict[int, Notes]:
    shapes = [(48, 55, 60, 64, 67, 64, 60, 55), (45, 52, 57, 60, 64, 60, 57, 52),
              (41, 48, 53, 57, 60, 57, 53, 48), (43, 50, 55, 59, 62, 59, 55, 50)]
    return {25: [(2.0 * i + 0.25 * j, 0.6, p, 90) for i, shape in enumerate(shapes) for j, p in enumerate(shape)]}


def _lead() -> dict[int, Notes]:
    melody = [(0.0, 1.5, 69), (1.5, 0.5, 71), (2.0, 1.0, 72), (3.0, 1.0, 74), (4.0, 2.0, 76), (6.0, 0.5, 74),
              (6.5, 0.5, 72), (7.0, 1.0, 71)]
    return {53: [(b, d, p, 95) for b, d, p in melody], 89: [(0.0, 8.0, 45, 45), (0.0, 8.0, 52, 45)]}


@dataclass(frozen=True, eq=False)
class Piece:
    name: str
    parts: dict[int, Notes]  # GM program (-1 = drum kit) -> notes
    pitched: bool  # transposing it is meaningful (no drums)

    @property
    def hits(self) -> list[float]:
        """Beats of kick, snare and tom hits (where pre-echo is measured)."""
        return sorted({b for b, _, key, _ in self.parts.get(-1, []) if key in (36, 38, 45, 47)})


PIECES = (
    Piece("piano", _piano(), True),
    Piece("strings+pad", _strings(), True),
    Piece("drums+bass", _drums_bass(), False),
    Piece("full mix", _full_mix(), False),
    Piece("guitar arpeggios", _guitar(), True),
    Piece("vocal-like lead", _lead(), True),
)


#: The drum kit alone (the groove of the drum pieces): pre-echo before its hits is measured on it, where
#: nothing else sounds before a hit but the tail of the one before.
DRUM_KIT = Piece("drum kit", {-1: _drum_groove()}, False)


def length(piece: Piece, speed: float) -> int:
    """Frames of a rendering at ``speed``: the notes, scaled, plus a fixed tail."""
    end = max(b + d for notes in piece.parts.values() for b, d, _, _ in notes)
    return round((0.1 + end * BEAT) / speed * SAMPLE_RATE) + round(TAIL * SAMPLE_RATE)


@functools.lru_cache(maxsize=64)
def render(piece: Piece, speed: float = 1.0, semitones: int = 0) -> np.ndarray:
    """The piece played at ``speed`` and transposed by ``semitones``: float32 ``(2, length)``, FluidSynth
    with reverb and chorus off. The base rendering is ``render(piece)``; a stretch of it at ``speed`` has
    exactly the length of ``render(piece, speed)`` up to rounding of the tail."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=100.0)
    for program, notes in piece.parts.items():
        instrument = pretty_midi.Instrument(program=max(program, 0), is_drum=program < 0)
        for beat, beats, pitch, velocity in notes:
            start = (0.1 + beat * BEAT) / speed
            key = pitch if program < 0 else pitch + semitones
            instrument.notes.append(pretty_midi.Note(velocity, key, start, start + beats * BEAT / speed))
        midi.instruments.append(instrument)
    with tempfile.TemporaryDirectory(prefix="mixdown-bench-") as tmp:
        mid, wav = Path(tmp) / "piece.mid", Path(tmp) / "piece.wav"
        midi.write(str(mid))
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(SAMPLE_RATE),
                        "-F", str(wav), str(soundfont()), str(mid)], check=True, capture_output=True, timeout=120)
        audio, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    assert rate == SAMPLE_RATE
    frames = length(piece, speed)
    out = np.zeros((2, frames), dtype=np.float32)
    n = min(frames, audio.shape[0])
    out[:, :n] = audio[:n, :2].T
    return out


def hit_frames(piece: Piece, speed: float) -> np.ndarray:
    return np.asarray([round((0.1 + b * BEAT) / speed * SAMPLE_RATE) for b in piece.hits], dtype=np.int64)


def fit(audio: np.ndarray, frames: int) -> np.ndarray:
    out = np.zeros((audio.shape[0], frames), dtype=np.float32)
    n = min(frames, audio.shape[1])
    out[:, :n] = audio[:, :n]
    return out


def attack(mono: np.ndarray, nominal: int, sample_rate: int) -> int:
    """Where a hit scheduled at ``nominal`` starts in ``mono``: the first sample from 15 ms before it whose
    1 ms peak envelope reaches half the hit's peak (within 25 ms after it)."""
    lo, hi = max(0, nominal - round(0.015 * sample_rate)), min(mono.shape[0], nominal + round(0.025 * sample_rate))
    width = max(1, round(0.001 * sample_rate))
    envelope = np.lib.stride_tricks.sliding_window_view(np.abs(mono[lo : hi + width]), width).max(axis=1)
    return lo + int(np.argmax(envelope >= 0.5 * envelope.max()))


def pre_echo_db(out: np.ndarray, reference: np.ndarray, hits: np.ndarray, sample_rate: int) -> float:
    """Energy the output adds before drum hits, relative to the hits: in the 30-2 ms before each hit's
    attack (found in each signal, so a millisecond of timing is not counted as pre-echo), the output's
    power above the reference's, over the reference's power in the 30 ms after its attack, pooled over
    hits, in dB (floor -60)."""
    before, guard = round(0.03 * sample_rate), round(0.002 * sample_rate)
    out_mono, ref_mono = out.mean(axis=0), reference.mean(axis=0)
    extra = hit = 0.0
    for nominal in hits:
        a, r = attack(out_mono, nominal, sample_rate), attack(ref_mono, nominal, sample_rate)
        if min(a, r) - before < 0 or r + before > ref_mono.shape[0]:
            continue
        added = np.sum(out_mono[a - before : a - guard] ** 2) - np.sum(ref_mono[r - before : r - guard] ** 2)
        extra += max(float(added), 0.0)
        hit += float(np.sum(ref_mono[r : r + before] ** 2))
    return 10 * math.log10(max(extra / hit, 1e-6)) if hit else math.nan
