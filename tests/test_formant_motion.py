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


def _at(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    mono = audio[0]
    return np.interp(np.arange(round(mono.shape[0] * sample_rate / SR)) * SR / sample_rate, np.arange(mono.shape[0]),
                     mono).astype(np.float32)[np.newaxis]


@pytest.mark.parametrize("sample_rate", [8_000, 16_000, 22_050, 44_100, 96_000])
@pytest.mark.parametrize("motion", [0.0, 1.0])
def test_motion_is_read_at_any_common_sample_rate(sample_rate, motion):
    found = envelope_motion(_at(_melody(motion), sample_rate), sample_rate)
    assert found is not None and abs(found - motion) <= 0.15


@pytest.mark.parametrize("sample_rate", [22_050, 44_100])
@pytest.mark.parametrize("motion", [0.0, 1.0])
def test_a_high_melody_is_read_at_its_own_pitch(sample_rate, motion):
    """C5 to A5: at 22.05 kHz its eighth harmonics are near Nyquist, and each note read an octave down
    would give a wrong motion."""
    found = envelope_motion(_at(_melody(motion, f_ref=523.0, formant_hz=1800.0), sample_rate), sample_rate)
    assert found is not None and abs(found - motion) <= 0.15


@pytest.mark.parametrize("f_ref", [523.0, 700.0])
def test_notes_too_high_for_the_sample_rate_say_nothing(f_ref):
    """At 8 kHz, eight harmonics of these notes do not fit under Nyquist: read at a half or a third of their
    pitch they would give a confident wrong answer."""
    for motion in (0.0, 1.0):
        assert envelope_motion(_at(_melody(motion, f_ref=f_ref, formant_hz=2000.0), 8_000), 8_000) is None


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


def test_every_clip_of_a_source_is_shifted_with_the_source_s_amount():
    """A clip of one note says nothing alone; the renderer reads the amount from its whole source once, so
    every clip of a sample is shifted alike."""
    from mixdown.engine.materials import MaterialCache, Treatment
    from mixdown.engine.timeline import Source

    source = Source(_melody(1.0), SR, "ooh")
    one_note = Treatment(source, 0, round(0.3 * SR), False, 1.0, 4.0)
    material = MaterialCache().acquire(one_note, "draft", False)
    segment = source.audio[:, : round(0.3 * SR)]
    assert formant_amount(segment, SR) == FORMANTS and formant_amount(source.audio, SR) <= 0.15
    expected = stretch(segment, SR, semitones=4.0, quality="draft", formants=formant_amount(source.audio, SR))
    assert material.tobytes() == expected.tobytes()
    assert material.tobytes() != stretch(segment, SR, semitones=4.0, quality="draft").tobytes()
