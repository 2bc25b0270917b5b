"""Float samples to integer PCM: clipped (never wrapped), rounded, and TPDF-dithered at 16 bits and below.

Scaling is ``2 ** (bits - 1)``, the convention libsndfile and FFmpeg read back with, so a float that is
exactly representable at ``bits`` (``k / 2 ** (bits - 1)``) comes back as the same integer: undithered
round trips are bit-exact. Full scale +1.0 clips to the largest code.

Dither is triangular (the difference of two uniform draws, +-1 LSB peak). The draws come from a
counter-based generator (SplitMix64 of a fixed seed and the sample's absolute position), so the same
audio gives the same bytes on every run and for any block size, and one fused numba pass does the scaling,
dither, rounding and clipping without the temporaries a numpy pipeline would allocate per block.
"""

from __future__ import annotations

import numba
import numpy as np

#: Depths at and below which dither is applied when asked for.
DITHER_MAX_BITS = 16
#: Seed of the dither generator: one fixed stream per output file.
DITHER_SEED = 0x6D6978

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0


@numba.njit(cache=True, inline="always")
def _uniform(counter: np.uint64) -> float:
    """SplitMix64 of ``counter``, as a double in [0, 1)."""
    z = counter * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * _TO_UNIT


@numba.njit(cache=True)
def quantize_block(block: np.ndarray, scale: float, first_frame: int, dither: bool, seed: int,
                   out: np.ndarray) -> None:
    """``out[c, i]`` = ``block[c, i] * scale`` (+ TPDF dither), rounded half up and clipped to the code range.

    Sample ``(first_frame + i, c)`` draws from counters ``2 k`` and ``2 k + 1`` with
    ``k = (first_frame + i) * channels + c``, offset by ``seed``.
    """
    channels, frames = block.shape
    low = -scale
    high = scale - 1.0
    base = np.uint64(seed) * _GOLDEN
    for i in range(frames):
        k = np.uint64((first_frame + i) * channels)
        for c in range(channels):
            code = block[c, i] * scale + 0.5
            if dither:
                counter = base + np.uint64(2) * (k + np.uint64(c))
                code += _uniform(counter) - _uniform(counter + np.uint64(1))
            code = np.floor(code)
            out[c, i] = np.int32(min(max(code, low), high))


class Quantizer:
    """Turns float32 ``(channels, n)`` blocks into int32 codes of ``bits`` bits, block after block.

    Parameters
    ----------
    bits
        Target word length, 8 to 32.
    channels
        Channels of every block (the dither is indexed by frame and channel, so it does not depend on how
        the audio is cut into blocks).
    dither
        Add TPDF dither before rounding; ignored above :data:`DITHER_MAX_BITS` bits.
    """

    def __init__(self, bits: int, channels: int, *, dither: bool) -> None:
        self.bits = bits
        self.channels = channels
        self.scale = float(2 ** (bits - 1))
        self.dither = dither and bits <= DITHER_MAX_BITS
        self._frames = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(block, dtype=np.float32)
        codes = np.empty(block.shape, dtype=np.int32)
        quantize_block(block, self.scale, self._frames, self.dither, DITHER_SEED, codes)
        self._frames += block.shape[1]
        return codes
