"""The equaliser against the cookbook's analog prototypes, evaluated independently of mixdown's
coefficients: the bilinear transform prewarped at a band's frequency maps digital frequency ``w`` to
``s = j tan(w / 2) / tan(w0 / 2)``, so each band's exact digital response is its prototype at that ``s``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mixdown.engine.eq import Band, equalize, graphic_bands
from mixdown.errors import InvalidInputError

RATE = 48_000


def prototype(band: Band, frequency: float, rate: int = RATE) -> complex:
    """The cookbook's analog prototype of ``band`` at digital ``frequency`` (bilinear, prewarped)."""
    s = 1j * math.tan(math.pi * frequency / rate) / math.tan(math.pi * band.frequency / rate)
    a, q = 10 ** (band.gain_db / 40), band.q
    if band.type == "peak":
        return (s * s + s * (a / q) + 1) / (s * s + s / (a * q) + 1)
    if band.type == "low-shelf":
        return a * (s * s + math.sqrt(a) / q * s + a) / (a * s * s + math.sqrt(a) / q * s + 1)
    if band.type == "high-shelf":
        return a * (a * s * s + math.sqrt(a) / q * s + 1) / (s * s + math.sqrt(a) / q * s + a)
    if band.type == "low-pass":
        return 1 / (s * s + s / q + 1)
    if band.type == "high-pass":
        return s * s / (s * s + s / q + 1)
    return (s * s + 1) / (s * s + s / q + 1)


def chain_db(bands: list[Band], frequency: float) -> float:
    return 20 * math.log10(abs(np.prod([prototype(band, frequency) for band in bands])))


def impulse_response(bands: list[Band], frames: int = 2 ** 17, *, zero_phase: bool = False, at: int = 0) -> np.ndarray:
    """The response to an impulse at frame ``at`` (from frame 1 on, the causal filter starts from silence)."""
    impulse = np.zeros((1, frames), dtype=np.float32)
    impulse[0, at] = 1.0
    return equalize(impulse, RATE, bands, zero_phase=zero_phase)[0].astype(np.float64)



def response(h: np.ndarray, frequency: float, origin: int = 0) -> complex:
    n = np.arange(h.shape[0]) - origin
    return np.sum(h * np.exp(-2j * np.pi * frequency / RATE * n))


PARAMETRIC = [Band("peak", 1000.0, 6.0, 2.0), Band("low-shelf", 120.0, -4.5), Band("high-shelf", 9000.0, 3.0, 0.9),
              Band("high-pass", 40.0, q=0.8), Band("low-pass", 18000.0), Band("notch", 3000.0, q=8.0)]


@pytest.mark.parametrize("band", PARAMETRIC, ids=lambda band: band.type)
def test_each_band_type_matches_the_cookbook_at_its_frequency(band):
    h = impulse_response([band], at=1)[1:]
    for frequency in (band.frequency, band.frequency / 2, min(band.frequency * 1.5, 20_000.0)):
        measured = abs(response(h, frequency))
        expected = abs(prototype(band, frequency))
        if band.type == "notch" and frequency == band.frequency:
            assert measured < 1e-3  # -60 dB: the notch's zero lies on the unit circle
            continue
        assert 20 * math.log10(measured) == pytest.approx(20 * math.log10(expected), abs=0.1)


@pytest.mark.parametrize("gains", [[3, -2, 4, -1, 2, -3, 1, 5, -4, 2],
                                   [(-1) ** k * (k % 7) for k in range(31)]], ids=["10 bands", "31 bands"])
def test_graphic_eq_matches_the_chain_at_every_band(gains):
    bands = graphic_bands(gains)
    h = impulse_response(bands, at=1)[1:]
    for band in bands:
        if band.frequency >= RATE / 2:
            continue
        assert 20 * math.log10(abs(response(h, band.frequency))) == pytest.approx(
            chain_db(bands, band.frequency), abs=0.1), band.frequency


def test_zero_phase_has_no_delay_and_reaches_the_requested_gain():
    bands = [Band("peak", 500.0, 9.0, 1.0), Band("low-shelf", 100.0, -6.0)]
    centre = 2 ** 16
    h = impulse_response(bands, 2 ** 17, zero_phase=True, at=centre)
    halves = [Band(b.type, b.frequency, b.gain_db / 2, b.q) for b in bands]
    for frequency in (100.0, 500.0, 2000.0):
        value = response(h, frequency, origin=centre)
        assert abs(value.imag) < 1e-4 * abs(value)  # real response: zero phase, no group delay
        assert 20 * math.log10(abs(value)) == pytest.approx(2 * chain_db(halves, frequency), abs=0.1)
    assert 20 * math.log10(abs(response(h, 500.0, origin=centre))) == pytest.approx(
        9.0 + 20 * math.log10(abs(prototype(halves[1], 500.0))) * 2, abs=0.1)
    t = np.arange(RATE) / RATE
    for frequency in (80.0, 500.0, 3000.0):  # a tone keeps its phase exactly, at any frequency
        tone = np.sin(2 * np.pi * frequency * t).astype(np.float32)[np.newaxis]
        out = equalize(tone, RATE, bands, zero_phase=True)[0, RATE // 4:-RATE // 4].astype(np.float64)
        basis = np.stack([np.sin(2 * np.pi * frequency * t), np.cos(2 * np.pi * frequency * t)], 1)[
            RATE // 4:-RATE // 4]
        (sine, cosine), *_ = np.linalg.lstsq(basis, out, rcond=None)
        assert abs(math.atan2(cosine, sine)) < 1e-4


def test_output_has_the_inputs_exact_shape_and_leaves_it_untouched(rng):
    audio = (0.1 * rng.standard_normal((2, 12_345))).astype(np.float32)
    before = audio.copy()
    for zero_phase in (False, True):
        out = equalize(audio, RATE, graphic_bands([2.0] * 10), zero_phase=zero_phase)
        assert out.shape == audio.shape and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(audio, before)
    np.testing.assert_array_equal(equalize(audio, RATE, graphic_bands([0.0] * 10)), audio)


def test_a_dc_offset_does_not_thump_at_the_start():
    dc = np.full((1, 4_800), 0.5, dtype=np.float32)
    out = equalize(dc, RATE, [Band("peak", 50.0, 12.0, 0.5), Band("low-shelf", 200.0, 6.0)])
    np.testing.assert_allclose(out, dc * 10 ** (6 / 20), atol=1e-5)


@pytest.mark.parametrize(("band", "field"), [
    (Band("bell", 1000.0), "bands[0].type"),
    (Band("peak", 24_000.0, 3.0), "bands[0].frequency"),
    (Band("peak", 1000.0, 90.0), "bands[0].gain_db"),
    (Band("peak", 1000.0, 3.0, 0.0), "bands[0].q"),
])
def test_bad_bands_name_the_field(band, field):
    with pytest.raises(InvalidInputError) as error:
        equalize(np.zeros((1, 10), dtype=np.float32), RATE, [band])
    assert error.value.field == field


def test_graphic_needs_10_or_31_gains():
    with pytest.raises(InvalidInputError, match="10 or 31"):
        graphic_bands([0.0] * 12)
