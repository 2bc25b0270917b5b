"""Songclip adapter: clip create events cut from a song, JSEND replies, upload-ready export presets.

The friendly entry points are in :mod:`mixdown.songclip` (``render`` to arrays, ``render_to`` files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixdown.lazy import load_on_first_use

if TYPE_CHECKING:
    from mixdown.api_compat.songclip.clips import SongclipFailError, clip_audio, render_clips
    from mixdown.api_compat.songclip.presets import PRESETS, Preset

_HOME = {"PRESETS": "presets", "Preset": "presets", "SongclipFailError": "clips", "clip_audio": "clips",
         "render_clips": "clips"}
__all__ = [
    "PRESETS", "Preset", "SongclipFailError", "clip_audio", "render_clips",
]

load_on_first_use(__name__, _HOME)
