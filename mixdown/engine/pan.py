"""Gain and the equal-power pan law, as one (output channels x source channels) mix matrix.

Pan ``p`` in [-1, 1] maps to the angle ``a = (p + 1) * pi / 4``. A mono source is placed: left
``cos a``, right ``sin a`` (-3 dB each at centre). A stereo signal is balanced: left
``min(1, sqrt(2) cos a)``, right ``min(1, sqrt(2) sin a)`` (unity at centre, the far side silent at the
extremes). Clip pan applies first; track pan then balances the clip's stereo result.
"""

from __future__ import annotations

import math

import numpy as np

from mixdown.errors import InvalidInputError


def placement(pan: float) -> tuple[float, float]:
    """Left and right gains that place a mono signal at ``pan``."""
    angle = (pan + 1.0) * math.pi / 4.0
    return math.cos(angle), math.sin(angle)


def balance(pan: float) -> tuple[float, float]:
    """Left and right gains that balance a stereo signal towards ``pan``."""
    left, right = placement(pan)
    return min(1.0, math.sqrt(2.0) * left), min(1.0, math.sqrt(2.0) * right)


def mix_matrix(
    source_channels: int, out_channels: int, gain: float, clip_pan: float = 0.0, track_pan: float = 0.0
) -> np.ndarray:
    """The float32 matrix ``m`` such that ``out = m @ source`` applies gain and both pans.

    Stereo out: a mono source is placed by ``clip_pan`` then balanced by ``track_pan``; a stereo source is
    balanced by both. Mono out: a mono source takes ``gain``; a stereo source is summed to mono as
    ``(L + R) / 2``; pan has no meaning there and is ignored. Other layouts mix only channel to channel at
    equal counts, where pan must be 0.
    """
    matrix = np.zeros((out_channels, source_channels), dtype=np.float64)
    if out_channels == 2 and source_channels <= 2:
        track_left, track_right = balance(track_pan)
        if source_channels == 1:
            left, right = placement(clip_pan)
            matrix[:, 0] = (left * track_left, right * track_right)
        else:
            left, right = balance(clip_pan)
            matrix[0, 0] = left * track_left
            matrix[1, 1] = right * track_right
    elif out_channels == 1 and source_channels <= 2:
        matrix[0, :] = 1.0 / source_channels
    elif out_channels == source_channels:
        if clip_pan != 0.0 or track_pan != 0.0:
            raise InvalidInputError(f"pan needs a stereo output, not {out_channels} channels", field="clip.pan")
        np.fill_diagonal(matrix, 1.0)
    else:
        raise InvalidInputError(
            f"cannot mix a {source_channels}-channel source into {out_channels} output channels",
            field="clip.source",
        )
    return np.ascontiguousarray(matrix * gain, dtype=np.float32)
