"""Spectral-gating noise reduction, measured on synthesized signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixdown.engine.denoise import denoise, learn_noise
from mixdown.errors import InvalidInputError
from tests.denoise_measure import tone_fit, tone_plus_noise

RATE = 44_100


@pytest.mark.parametrize("reduction_db", [12.0, 18.0])
def test_tone_in_white_noise_gains_snr_and_keeps_its_level(reduction_db):
    mixed, alone = tone_plus_noise(4.0, RATE)
    profile = learn_noise(alone, RATE)
    out = denoise(mixed, RATE, profile, reduction_db=reduction_db)
    level_in, snr_in = tone_fit(mixed, 1000.3, RATE)
    level_out, snr_out = tone_fit(out, 1000.3, RATE)
    assert snr_out - snr_in >= reduction_db - 3
    assert abs(20 * math.log10(level_out / level_in)) < 0.5
    assert out.shape == mixed.shape and out.dtype == np.float32


def _onsets(channel: np.ndarray, threshold: float, spacing: int) -> list[int]:
    over = np.flatnonzero(np.abs(channel) > threshold)
    starts = [int(over[0])]
    for index in over[1:]:
        if index - starts[-1] > spacing // 2:
            starts.append(int(index))
    return starts


def test_a_click_train_keeps_its_onsets_within_1_ms():
    rng = np.random.default_rng(3)
    frames, spacing = 3 * RATE, RATE // 4
    clicks = np.zeros(frames)
    for start in range(RATE // 8, frames - 200, spacing):
        clicks[start:start + 88] = 0.8 * np.exp(-np.arange(88) / 20) * np.sin(2 * np.pi * 3000 * np.arange(88) / RATE)
    mixed = (clicks + 0.01 * rng.standard_normal(frames)).astype(np.float32)[np.newaxis]
    profile = learn_noise((0.01 * rng.standard_normal((1, RATE))).astype(np.float32), RATE)
    out = denoise(mixed, RATE, profile, reduction_db=24.0)
    before = _onsets(clicks, 0.2, spacing)
    after = _onsets(out[0], 0.2, spacing)
    assert len(after) == len(before)
    assert max(abs(a - b) for a, b in zip(after, before, strict=True)) <= RATE // 1000
    quiet = out[0, RATE // 8 + 3000:RATE // 8 + spacing - 3000]  # between two clicks: noise only
    assert 20 * math.log10(np.std(quiet) / 0.01) < -15


def test_the_result_does_not_depend_on_the_chunk_size():
    mixed, alone = tone_plus_noise(3.0, RATE, channels=1)
    mixed[0, RATE:RATE + 2_000] *= 20  # a loud burst near a chunk edge
    profile = learn_noise(alone, RATE)
    whole = denoise(mixed, RATE, profile, reduction_db=18.0)
    for chunk in (1, 7, 64, 100):
        np.testing.assert_allclose(denoise(mixed, RATE, profile, reduction_db=18.0, chunk_frames=chunk), whole,
                                   atol=1e-6)


def test_no_reduction_gives_the_input_back():
    mixed, alone = tone_plus_noise(1.0, RATE, channels=1)
    out = denoise(mixed, RATE, learn_noise(alone, RATE), reduction_db=0.0)
    np.testing.assert_allclose(out, mixed, atol=2e-6)


def test_bad_inputs_name_the_field():
    _, alone = tone_plus_noise(0.5, RATE)
    with pytest.raises(InvalidInputError) as error:
        learn_noise(alone[:, :3000], RATE)
    assert error.value.field == "selection"
    profile = learn_noise(alone, RATE)
    with pytest.raises(InvalidInputError) as error:
        denoise(alone, 48_000, profile)
    assert error.value.field == "profile"
    with pytest.raises(InvalidInputError) as error:
        denoise(alone, RATE, profile, reduction_db=-3.0)
    assert error.value.field == "reduction_db"
