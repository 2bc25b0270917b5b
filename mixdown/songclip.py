"""Songclip clips cut from Python: to numpy arrays with :func:`render`, to files with :func:`render_to`.

A clip is Songclip's create event (``start``, ``end``, ``fadeIn``, ``fadeOut`` in milliseconds,
``context.uniqueId`` required, ``tags``, ``songId``), or a list of them. Start and end are rounded to
samples once, at the output rate: a clip has exactly ``round(end * rate / 1000) - round(start * rate /
1000)`` frames. Bad specs raise :class:`SongclipFailError`, whose ``data`` maps each field to its message
(JSEND ``fail``).

Examples
--------
>>> import numpy as np
>>> from mixdown import songclip
>>> song = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 10 * 44_100)).astype(np.float32)
>>> clip = songclip.render({"start": 1_000, "end": 3_500, "fadeIn": 100, "context": {"uniqueId": "u1"}},
...                        song, sample_rate=44_100)
>>> clip.shape, float(clip[0, 0])
((2, 110250), 0.0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mixdown.api_compat.songclip import PRESETS, SongclipFailError, clip_audio, render_clips

Song = str | os.PathLike | np.ndarray | tuple[np.ndarray, int]


def _song(song: Song, sample_rate: int | None) -> str | Path | tuple[np.ndarray, int]:
    if isinstance(song, np.ndarray):
        if sample_rate is None:
            raise SongclipFailError({"song": "an array needs its rate: pass sample_rate= or (audio, rate)"})
        return song, sample_rate
    if isinstance(song, tuple):
        return song
    return Path(song)


def render(
    clip: Mapping[str, Any] | list[Mapping[str, Any]],
    song: Song,
    sample_rate: int | None = None,
    *,
    preset: str | None = None,
    curve: str = "equal-power",
    min_length: float | None = None,
    max_length: float | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Cut a Songclip clip (or a list of clips) from ``song`` as float32 ``(channels, frames)`` arrays.

    Parameters
    ----------
    clip : dict or list of dict
        Songclip create event(s).
    song : str, os.PathLike, np.ndarray or (np.ndarray, int)
        An audio file, an array at ``sample_rate``, or ``(array, rate)``.
    sample_rate : int, optional
        The rate of an array ``song``; for a file or a pair, the output rate (resampled with soxr)
        unless the preset fixes one.
    preset : {"oursong", "twine", "songclip", "twoshot-preview"}, optional
        Upload preset: its length limits, channel count and rate.
    curve : {"equal-power", "linear", "exponential"}
        Fade curve.
    min_length, max_length : float, optional
        Seconds; override the preset's limits.

    Returns
    -------
    np.ndarray or list of np.ndarray
        One array for one clip, a list for a list; exactly the frames the spec's rounding gives.

    Raises
    ------
    SongclipFailError
        For any spec that does not validate or does not fit the song (every problem, by field).

    Examples
    --------
    >>> import numpy as np
    >>> song = np.zeros((1, 48_000 * 40), dtype=np.float32)
    >>> clips = render([{"start": 0, "end": 6_000, "context": {"uniqueId": "a"}},
    ...                 {"start": 30_000, "end": 36_500, "context": {"uniqueId": "b"}}], song, 48_000)
    >>> [c.shape[1] for c in clips]
    [288000, 312000]
    >>> try:
    ...     render({"start": 5_000, "end": 1_000, "context": {"uniqueId": "a"}}, song, 48_000)
    ... except SongclipFailError as failure:
    ...     print(failure.data)
    {'end': 'end (1000 ms) must be after start (5000 ms)'}
    """
    as_given = _song(song, sample_rate)
    rate = None if isinstance(song, np.ndarray) else sample_rate
    return clip_audio(clip, as_given, preset_name=preset, curve=curve, sample_rate=rate, min_length=min_length,
                      max_length=max_length)


def render_to(
    path: str | os.PathLike,
    clip: Mapping[str, Any] | list[Mapping[str, Any]],
    song: Song,
    sample_rate: int | None = None,
    *,
    format: str | None = None,
    preset: str | None = None,
    curve: str = "equal-power",
    min_length: float | None = None,
    max_length: float | None = None,
    artist: str | None = None,
    title: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Cut and encode a clip into ``path`` (a list of clips into the folder ``path``); returns the JSEND
    success reply, a clip object per file (``id``, ``duration``, ``audioUrl``, ``frames``, ``size``, ...).

    ``format`` defaults from the preset, else ``path``'s extension; ``options`` are TwistedWave output
    options (``{"bit_rate": 256}``) laid over the preset's. Other arguments as :func:`render`.

    Examples
    --------
    >>> import numpy as np
    >>> song = np.zeros((2, 44_100 * 12), dtype=np.float32)
    >>> reply = render_to("clip.wav", {"start": 0, "end": 5_000, "context": {"uniqueId": "a"}}, song, 44_100)
    >>> reply["status"], reply["data"]["songclip"]["frames"]
    ('success', 220500)
    """
    return render_clips(clip, _song(song, sample_rate), path, fmt=format, preset_name=preset, curve=curve,
                        min_length=min_length, max_length=max_length, artist=artist, title=title, options=options)


__all__ = ["PRESETS", "SongclipFailError", "render", "render_to"]
