"""Reading from a source's own notes how far its spectral envelope moves with its pitch."""

from __future__ import annotations

import numpy as np
import pytest

from mixdown.analysis import middle_half
from mixdown.engine import stretch
from mixdown.engine.formant_motion import envelope_motion
from mixdown.engine.stretch import FORMANTS, formant_amount
from tests.conftest import noise, tone

SR = 48_000
STEPS = (0, 2, 4, 5, 7, 9, 7, 5, 4, 2, 0, -3, -5, -3)


def _melody(motion: float, f_ref: float = 196.0, note_seconds: float = 0.3, formant_hz: float = 900.0,
            seconds_of_pad: float = 0.0) -> np.ndarray:
    """A harmonic melody whose envelope (one formant, 30 dB deep) sits at ``formant_hz`` for the note
    ``f_ref`` and moves by ``r ** motion`` for a note ``r`` times higher; each note fades in and out."""
    t = np.arange(round(note_seconds * SR)) / SR
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    notes = []
    for step in STEPS:
        f0 = f_ref * 2 ** (step / 12)
        centre = formant_hz * (f0 / f_ref) ** motion
        note = np.zeros_like(t)
        for h in range(1, int(8000 / f0)):
            level_db = -30.0 * min(1.0, np.log2(h * f0 / centre) ** 2)
            note += 10 ** (level_db / 20) * np.sin(2 * np.pi * h * f0 * t + 0.7 * h)
        notes.append(fade * note)
    audio = np.concatenate(notes)
    return (0.2 * audio / np.abs(audio).max()).astype(np.float32)[np.newaxis]


@pytest.mark.parametrize("motion", [0.0, 0.5, 1.0])
def test_the_envelope_motion_of_a_melody_is_read_from_its_notes(motion):
    found = envelope_motion(_melody(motion), SR)
    assert found is not None and abs(found - motion) <= 0.15


@pytest.mark.parametrize("sample_rate", [22_050, 44_100, 96_000])
def test_motion_is_read_at_any_common_sample_rate(sample_rate):
    melody = _melody(1.0)[0]
    resampled = np.interp(np.arange(round(melody.shape[0] * sample_rate / SR)) * SR / sample_rate,
                          np.arange(melody.shape[0]), melody).astype(np.float32)[np.newaxis]
    found = envelope_motion(resampled, sample_rate)
    assert found is not None and found >= 0.85


@pytest.mark.parametrize("audio", [tone(440.0, 3.0, SR, amplitude=0.3), noise(3.0, SR, amplitude=0.1),
                                   np.zeros((2, 3 * SR), np.float32), tone(440.0, 0.05, SR)],
                         ids=["one note", "noise", "silence", "too short"])
def test_a_source_that_does_not_show_it_says_nothing(audio):
    assert envelope_motion(audio, SR) is None
    assert formant_amount(audio, SR) == FORMANTS


def test_an_explicit_amount_is_used_as_given():
    melody = _melody(1.0)
    assert formant_amount(melody, SR, 0.7) == 0.7 and formant_amount(melody, SR, False) == 0.0
    assert formant_amount(melody, SR) == pytest.approx(1.0 - envelope_motion(melody, SR))


def _formant_hz(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.shape[0]))) ** 2
    freqs = np.fft.rfftfreq(signal.shape[0], 1 / SR)
    band = (freqs > 100) & (freqs < 4000)
    return float(np.sum(freqs[band] * spectrum[band]) / np.sum(spectrum[band]))


@pytest.mark.parametrize("motion", [0.0, 1.0])
def test_a_pitch_shift_by_default_moves_the_envelope_as_the_source_does(motion):
    """A source whose formant stays put keeps it in place when shifted; one whose formant moves with its
    notes (a voice sampled once, played over many keys) has it moved: by default, with no setting."""
    melody = _melody(motion)
    default = stretch(melody, SR, semitones=5, quality="draft")
    kept = stretch(melody, SR, semitones=5, quality="draft", formants=1.0)
    moved = stretch(melody, SR, semitones=5, quality="draft", formants=0.0)
    centres = [_formant_hz(middle_half(x[0])) for x in (default, kept, moved)]
    nearer = centres[1] if motion == 0.0 else centres[2]
    other = centres[2] if motion == 0.0 else centres[1]
    assert abs(centres[0] - nearer) < 0.25 * abs(other - nearer)
    amount = formant_amount(melody, SR)
    assert default.tobytes() == stretch(melody, SR, semitones=5, quality="draft", formants=amount).tobytes()
