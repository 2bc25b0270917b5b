"""Songclip adapter: clip create events cut from a song, JSEND replies, upload-ready export presets.

The friendly entry points are in :mod:`mixdown.songclip` (``render`` to arrays, ``render_to`` files).
"""

from mixdown.api_compat.songclip.clips import SongclipFailError, clip_audio, render_clips
from mixdown.api_compat.songclip.presets import PRESETS, Preset

__all__ = ["PRESETS", "Preset", "SongclipFailError", "clip_audio", "render_clips"]
