"""Float samples to integer PCM: clipped (never wrapped), rounded, and TPDF-dithered at 16 bits and below.

Scaling is ``2 ** (bits - 1)``, the convention libsndfile and FFmpeg read back with, so a float that is
exactly representable at ``bits`` (``k / 2 ** (bits - 1)``) comes back as the same integer: undithered
round trips are bit-exact. Full scale +1.0 clips to the largest code.

Dither is triangular (the difference of two uniform draws, +-1 LSB peak), from a generator with a fixed
seed, drawn frame by frame: the same audio gives the same bytes on every run and for any block size.
"""

from __future__ import annotations

import numpy as np

#: Depths at and below which dither is applied when asked for.
DITHER_MAX_BITS = 16
#: Seed of the dither generator: one fixed stream per output file.
DITHER_SEED = 0x6D6978


class Quantizer:
    """Turns float32 ``(channels, n)`` blocks into int32 codes of ``bits`` bits, block after block.

    Parameters
    ----------
    bits
        Target word length, 8 to 32.
    channels
        Channels of every block (the dither stream is drawn frame-major, so it does not depend on how the
        audio is cut into blocks).
    dither
        Add TPDF dither before rounding; ignored above :data:`DITHER_MAX_BITS` bits.
    """

    def __init__(self, bits: int, channels: int, *, dither: bool) -> None:
        self.bits = bits
        self.channels = channels
        self.scale = float(2 ** (bits - 1))
        self.dither = dither and bits <= DITHER_MAX_BITS
        self._rng = np.random.default_rng(DITHER_SEED) if self.dither else None

    def __call__(self, block: np.ndarray) -> np.ndarray:
        codes = np.empty(block.shape, dtype=np.float64)
        np.multiply(block, self.scale, out=codes)
        if self._rng is not None:
            draws = self._rng.random((block.shape[1], self.channels, 2))
            codes += np.subtract(draws[..., 0], draws[..., 1]).T
        codes += 0.5
        np.floor(codes, out=codes)
        np.clip(codes, -self.scale, self.scale - 1.0, out=codes)
        return codes.astype(np.int32)
