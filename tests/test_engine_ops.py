"""Whole-array operations, the pan matrix and resampling."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from mixdown.engine import Fade, apply_fades, apply_gain, mix_matrix, resample, resampled_length, reverse
from mixdown.engine.audio import as_audio
from mixdown.errors import InvalidInputError
from tests.conftest import noise, tone


def test_reverse_and_gain_return_new_arrays():
    audio = noise(0.01, 8000)
    backwards = reverse(audio)
    assert backwards.flags.c_contiguous and backwards.dtype == np.float32
    np.testing.assert_array_equal(backwards[:, 0], audio[:, -1])
    np.testing.assert_array_equal(reverse(backwards), audio)
    np.testing.assert_array_equal(apply_gain(audio, 0.5), audio * np.float32(0.5))
    with pytest.raises(InvalidInputError):
        apply_gain(audio, float("nan"))


def test_apply_fades_leaves_its_input_alone_and_refuses_long_fades():
    audio = noise(0.01, 8000)
    copy = audio.copy()
    faded = apply_fades(audio, Fade(10), Fade(10, "exponential"))
    np.testing.assert_array_equal(audio, copy)
    assert np.all(faded[:, 0] == 0) and np.all(faded[:, -1] == 0)
    np.testing.assert_array_equal(faded[:, 10:-10], audio[:, 10:-10])
    with pytest.raises(InvalidInputError) as info:
        apply_fades(audio, fade_out=Fade(81))
    assert info.value.field == "fade_out"


def test_as_audio_normalises_layout_and_refuses_bad_arrays():
    mono = as_audio(np.zeros(5, dtype=np.float64))
    assert mono.shape == (1, 5) and mono.dtype == np.float32
    transposed = as_audio(np.zeros((4, 2), dtype=np.float32).T)
    assert transposed.flags.c_contiguous
    for bad in (np.zeros((1, 2, 3)), np.zeros((0, 4)), np.array([[1.0, np.inf]]), np.array([["a"]])):
        with pytest.raises(InvalidInputError):
            as_audio(bad)


def test_mix_matrix_layouts():
    np.testing.assert_allclose(mix_matrix(1, 2, 1.0), [[2**-0.5], [2**-0.5]], atol=1e-7)
    np.testing.assert_allclose(mix_matrix(2, 2, 0.5), [[0.5, 0], [0, 0.5]])
    np.testing.assert_allclose(mix_matrix(2, 1, 1.0), [[0.5, 0.5]])
    np.testing.assert_allclose(mix_matrix(6, 6, 2.0), 2 * np.eye(6))
    with pytest.raises(InvalidInputError):
        mix_matrix(6, 6, 1.0, clip_pan=0.5)
    with pytest.raises(InvalidInputError):
        mix_matrix(6, 2, 1.0)


@pytest.mark.parametrize("from_rate,to_rate", [(44_100, 48_000), (48_000, 44_100), (22_050, 96_000),
                                               (96_000, 8_000), (44_100, 44_100)])
@pytest.mark.parametrize("frames", [1, 999, 44_100])
def test_resample_length_is_exact(from_rate, to_rate, frames):
    audio = noise(frames / from_rate, from_rate, channels=2)
    out = resample(audio, from_rate, to_rate)
    assert out.shape == (2, resampled_length(frames, from_rate, to_rate))
    assert out.shape[1] == math.floor(Fraction(frames * to_rate, from_rate) + Fraction(1, 2))


def test_resample_keeps_a_tone_at_its_frequency_and_level():
    audio = tone(1000, 1.0, 44_100, amplitude=0.5)
    out = resample(audio, 44_100, 48_000)[0, 4_800:-4_800]
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    peak_hz = np.argmax(spectrum) * 48_000 / out.size
    assert abs(peak_hz - 1000) < 48_000 / out.size
    assert np.sqrt(np.mean(out**2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
