"""TwoShot projects rendered from Python: to a numpy array with :func:`render`, to a file with :func:`render_to`.

A project is the dict TwoShot's API shows (``tempo``, ``tracks[].clips[]`` with ``source.audioId``,
``position`` in beats, ``speed``, ``pitchOffset``, ...), bare or wrapped as ``{"project", "render"}``. The
sample library is a folder (``<audioId>.<ext>`` plus an optional ``library.json``), a mapping from
``audioId`` to arrays or files, or a :class:`SampleLibrary`. Bad input raises :class:`TwoShotError`, whose
``body()`` is TwoShot's error object naming the field (``tracks[0].clips[2].speed``).

Examples
--------
>>> import numpy as np
>>> from mixdown import twoshot
>>> rate = 48_000
>>> kick = np.exp(-np.arange(rate // 4) / 2_000).astype(np.float32) * 0.8
>>> project = {"tempo": 120, "tracks": [{"id": 1, "clips": [
...     {"id": "a", "position": 0, "source": {"audioId": "kick"}},
...     {"id": "b", "position": 1, "source": {"audioId": "kick"}, "pan": -0.5}]}]}
>>> mix = twoshot.render(project, {"kick": kick}, sample_rate=rate)
>>> mix.shape, mix.dtype          # two beats at 120 BPM = 0.5 s, then the last kick's 0.25 s
((2, 36000), dtype('float32'))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mixdown.api_compat.twoshot import (
    JobRegistry,
    SampleLibrary,
    TwoShotError,
    parse_document,
    render_array,
    render_document,
    translate,
)
from mixdown.api_compat.twoshot.library import LibraryItem
from mixdown.api_compat.twoshot.translate import DEFAULT_SAMPLE_RATE

Library = str | os.PathLike | Mapping[str, LibraryItem] | SampleLibrary


def _library(library: Library, library_rate: int | None) -> SampleLibrary | str | os.PathLike:
    if isinstance(library, Mapping):
        return SampleLibrary(library, sample_rate=library_rate)
    return library


def render(
    project: Mapping[str, Any],
    library: Library,
    sample_rate: int | None = None,
    *,
    start: float | None = None,
    end: float | None = None,
    quality: str | None = None,
    varispeed: bool = False,
    library_rate: int | None = None,
) -> np.ndarray:
    """Render a TwoShot project to float32 ``(channels, frames)``: the samples ``mixdown render`` writes.

    Parameters
    ----------
    project : dict
        A TwoShot project, or ``{"project": {...}, "render": {...}}``.
    library : str, os.PathLike, Mapping or SampleLibrary
        A sample library folder, or a mapping from ``audioId`` to a file path, a float array, an
        ``(array, rate)`` pair or ``{"audio": ..., "bpm": ...}`` (see :class:`SampleLibrary`).
    sample_rate : int, optional
        Output rate in Hz; default the render body's ``sampleRate``, else 44 100.
    start, end : float, optional
        Seconds of the range to render (the render body's ``startTime`` / ``endTime``); by default the
        project's ``playHead``, else up to the end of the last sounding clip.
    quality : {"low", "medium", "high"}, optional
        Picks the time-stretch preset (default: the render body's, else ``"high"``).
    varispeed : bool
        Resample for speed changes (pitch follows speed) instead of time-stretching.
    library_rate : int, optional
        Rate of the bare arrays in a mapping ``library``; default ``sample_rate`` (or 44 100).

    Returns
    -------
    np.ndarray
        float32 ``(channels, frames)``, C-contiguous, exactly the render range's length.

    Raises
    ------
    TwoShotError
        For a project that does not validate or cannot be rendered; ``error.body()`` is TwoShot's error.

    Examples
    --------
    >>> import numpy as np
    >>> tone = np.sin(np.arange(44_100) * 0.05).astype(np.float32) * 0.5
    >>> project = {"tempo": None, "tracks": [{"id": "t", "clips": [
    ...     {"id": 1, "position": 0.5, "source": {"audioId": "tone"}, "cutEnd": 0.25, "volume": 0.5}]}]}
    >>> render(project, {"tone": tone}).shape      # seconds when tempo is null: 0.5 s + 0.25 s
    (2, 33075)
    >>> try:
    ...     render({"tracks": [{"id": 1, "clips": [{"id": 1, "source": {}}]}]}, {})
    ... except TwoShotError as error:
    ...     print(error.body()["details"]["field"])
    tracks[0].clips[0].source
    """
    audio, _ = render_array(project, _library(library, _array_rate(project, sample_rate, library_rate)),
                            quality=quality, start=start, end=end, sample_rate=sample_rate, varispeed=varispeed)
    return audio


def render_to(
    path: str | os.PathLike,
    project: Mapping[str, Any],
    library: Library,
    sample_rate: int | None = None,
    *,
    format: str | None = None,
    quality: str | None = None,
    start: float | None = None,
    end: float | None = None,
    varispeed: bool = False,
    library_rate: int | None = None,
    jobs: JobRegistry | None = None,
    progress: Callable[[int, int], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Render a TwoShot project into ``path`` (streamed to the encoder, written atomically).

    Takes :func:`render`'s arguments, plus ``format`` (default: from ``path``'s extension; any format
    ``mixdown export`` writes), ``jobs`` (a :class:`JobRegistry` to record the render in) and ``progress``
    (called with frames done and total). ``quality`` also picks the bit depth or bitrate; ``options``
    (TwistedWave output options) are laid over it: ``{"codec": "float"}`` writes 32-bit float WAV, exactly
    the samples :func:`render` returns.

    Returns
    -------
    dict
        TwoShot's render reply (``jobId``, ``status``, ...) plus ``output``, ``format``, ``sampleRate``,
        ``frames``, ``duration``, ``clips``, ``tempoSync``, ``renderSeconds``.

    Examples
    --------
    >>> import numpy as np
    >>> tone = np.sin(np.arange(22_050) * 0.05).astype(np.float32) * 0.5
    >>> project = {"tempo": 120, "tracks": [{"id": 1, "clips": [{"id": 1, "source": {"audioId": "t"}}]}]}
    >>> reply = render_to("song.flac", project, {"t": (tone, 22_050)}, sample_rate=44_100)
    >>> reply["status"], reply["format"], reply["frames"]
    ('completed', 'flac', 44100)
    """
    return render_document(project, _library(library, _array_rate(project, sample_rate, library_rate)), path,
                           format=format, quality=quality, start=start, end=end, sample_rate=sample_rate,
                           varispeed=varispeed, jobs=jobs, progress=progress, options=options)


def _array_rate(project: Mapping[str, Any], sample_rate: int | None, library_rate: int | None) -> int:
    """The rate of a mapping's bare arrays: ``library_rate``, else the render's rate."""
    if library_rate or sample_rate:
        return library_rate or sample_rate
    body = project.get("render") if isinstance(project, Mapping) else None
    rate = body.get("sampleRate") if isinstance(body, Mapping) else None
    return rate if isinstance(rate, int) and not isinstance(rate, bool) else DEFAULT_SAMPLE_RATE


__all__ = ["JobRegistry", "SampleLibrary", "TwoShotError", "parse_document", "render", "render_to",
           "translate"]
