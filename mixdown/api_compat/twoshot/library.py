"""A sample library: the audio a TwoShot project refers to by ``audioId`` or ``sampleId``.

From Python it may also be a mapping from ``audioId`` to arrays or files (see :class:`SampleLibrary`).

A folder of audio files named ``<audioId>.<ext>``, plus an optional ``library.json`` mapping each
``audioId`` to ``{"path", "bpm", "sampleId", "name"}`` (every key optional). A manifest path is resolved
inside the folder; one that escapes it (``..``, an absolute path, a link out) is refused. Decoded audio is
converted to the render rate once and shared by every clip that uses it (and, through a shared
:class:`~mixdown.api_compat.sources.SourceCache`, by every render of a batch worker).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixdown.api_compat.fields import shown
from mixdown.api_compat.json_input import load_json
from mixdown.api_compat.sources import SourceCache
from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.models import AudioSource
from mixdown.engine import Source, resample
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.resample import resampled_length
from mixdown.errors import MixdownError
from mixdown.files import read_span
from mixdown.formats.stream import AudioFile

#: What an in-memory library maps an ``audioId`` to: a file, an array (at the library's ``sample_rate``),
#: ``(array, rate)``, or an object with ``audio`` (any of those) and optional ``bpm``, ``sampleId``, ``name``.
LibraryItem = str | os.PathLike | np.ndarray | tuple | Mapping[str, Any]

#: A source file longer than this (frames x channels, or bytes when its header does not state its length)
#: is decoded only in the range each clip uses, not whole: 2^25 samples is 6.3 minutes of 44.1 kHz
#: stereo. Shorter sources are decoded whole once and shared by every clip and render.
LONG_SOURCE_SAMPLES = 2**25

MANIFEST = "library.json"
#: Longest file name (bytes) the file systems mixdown runs on accept.
NAME_MAX = 255
AUDIO_EXTENSIONS = ("wav", "flac", "aiff", "aif", "mp3", "ogg", "m4a", "aac", "wma", "wv", "opus", "caf", "w64")


@dataclass(frozen=True)
class LibraryEntry:
    audio_id: str
    path: Path | None
    bpm: float | None = None
    sample_id: int | str | None = None
    name: str | None = None
    #: In-memory audio (float32 ``(channels, frames)``) and its rate, for a library built from a mapping.
    audio: np.ndarray | None = field(default=None, repr=False, compare=False)
    sample_rate: int | None = None


class SampleLibrary:
    """The audio a TwoShot project names, from a folder or from memory; each source decoded once per rate.

    Parameters
    ----------
    root : str, os.PathLike or Mapping
        A folder of ``<audioId>.<ext>`` files with an optional ``library.json``, or a mapping from
        ``audioId`` to a file path, a float array ``(channels, frames)`` or ``(frames,)`` at
        ``sample_rate``, an ``(array, rate)`` pair, or ``{"audio": ..., "bpm": ..., "sampleId": ...,
        "name": ...}``.
    sources : SourceCache, optional
        Decoded files shared with other libraries (a batch worker keeps one).
    sample_rate : int, optional
        Rate of the bare arrays of a mapping; required when it has any.

    Raises
    ------
    TwoShotError
        ``NOT_FOUND`` for a folder that does not exist; ``VALIDATION_ERROR`` naming the entry for a bad
        manifest or mapping value.

    Examples
    --------
    >>> import numpy as np
    >>> kick = np.zeros((1, 4_800), dtype=np.float32)
    >>> library = SampleLibrary({"kick": kick, "loop": {"audio": (kick, 44_100), "bpm": 120}},
    ...                         sample_rate=48_000)
    >>> sorted(library.entries), library.entries["loop"].bpm
    (['kick', 'loop'], 120.0)
    """

    def __init__(self, root: str | os.PathLike[str] | Mapping[str, LibraryItem], sources: SourceCache | None = None,
                 *, sample_rate: int | None = None) -> None:
        self.sources = sources or SourceCache()
        self._memory: dict[tuple[int, int], Source] = {}
        self._long: dict[tuple[Path, int], int | None] = {}
        self._spans: dict[tuple[Path, int, int, int], Source] = {}
        if isinstance(root, Mapping):
            self.root: Path | None = None
            self._real_root: Path | None = None
            self.entries = {str(audio_id): _memory_entry(str(audio_id), item, sample_rate)
                            for audio_id, item in root.items()}
        else:
            self.root = Path(root)
            if not self.root.is_dir():
                raise TwoShotError("NOT_FOUND", f"sample library folder {str(self.root)!r} does not exist",
                                   field="library")
            self._real_root = self.root.resolve()
            self.entries = self._read_manifest()
        self._by_sample = {str(e.sample_id): e for e in self.entries.values() if e.sample_id is not None}
        self._resolved: dict[tuple[str | None, str | None], LibraryEntry] = {}

    def _inside(self, candidate: Path, field: str) -> Path:
        """``candidate`` (relative to the library) resolved, if it is a regular file inside the library."""
        try:
            real = (self.root / candidate).resolve(strict=True)
        except FileNotFoundError:
            raise TwoShotError("NOT_FOUND", f"path {shown(str(candidate))} is not in the sample library",
                               field=field) from None
        except (OSError, RuntimeError, ValueError) as error:  # a link loop, a name too long, a NUL byte
            reason = getattr(error, "strerror", None) or str(error)
            raise TwoShotError("VALIDATION_ERROR", f"path {shown(str(candidate))} cannot be opened: {reason}",
                               field=field) from None
        if not real.is_relative_to(self._real_root):
            raise TwoShotError("VALIDATION_ERROR", f"path {shown(str(candidate))} escapes the sample library",
                               field=field)
        if not real.is_file():
            kind = "a folder" if real.is_dir() else "a FIFO, socket or device"
            raise TwoShotError("VALIDATION_ERROR", f"path {shown(str(candidate))} is {kind}, not an audio file",
                               field=field)
        return real

    def _read_manifest(self) -> dict[str, LibraryEntry]:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        try:
            raw = load_json(path, MANIFEST)
        except MixdownError as error:
            raise TwoShotError("VALIDATION_ERROR", error.message, field=MANIFEST) from None
        if not isinstance(raw, dict):
            raise TwoShotError("VALIDATION_ERROR", "expected an object keyed by audioId", field=MANIFEST)
        entries = {}
        for audio_id, meta in raw.items():
            field = f"{MANIFEST}[{shown(audio_id)}]"
            if not isinstance(meta, dict):
                raise TwoShotError("VALIDATION_ERROR", "expected an object", field=field)
            bpm = meta.get("bpm")
            if bpm is not None and (isinstance(bpm, bool) or not isinstance(bpm, (int, float))
                                    or not math.isfinite(bpm) or bpm <= 0):
                raise TwoShotError("VALIDATION_ERROR", f"bpm must be a positive number, got {shown(bpm)}",
                                   field=f"{field}.bpm")
            relative = meta.get("path")
            if relative is not None and (not isinstance(relative, str) or not relative):
                raise TwoShotError("VALIDATION_ERROR", "path must be a non-empty string", field=f"{field}.path")
            location = self._inside(Path(relative), f"{field}.path") if relative else self._find(audio_id, field)
            entries[audio_id] = LibraryEntry(audio_id, location, None if bpm is None else float(bpm),
                                             meta.get("sampleId"), meta.get("name"))
        return entries

    def _find(self, audio_id: str, field: str) -> Path | None:
        if self.root is None:
            return None
        if (not audio_id or any(c in audio_id for c in "/\\\0") or audio_id in (".", "..")
                or len(f"{audio_id}.aiff".encode(errors="surrogatepass")) > NAME_MAX):
            raise TwoShotError("VALIDATION_ERROR", f"audioId {shown(audio_id)} is not a file name", field=field)
        for extension in AUDIO_EXTENSIONS:
            candidate = self.root / f"{audio_id}.{extension}"
            if candidate.is_file():
                return self._inside(candidate.relative_to(self.root), field)
        return None

    def entry(self, source: AudioSource, field: str) -> LibraryEntry:
        """The library entry a clip's ``source`` names (``field`` is its path in the project).

        Resolved once per audio: a project places the same sample hundreds of times."""
        key = (source.audioId, None if source.audioId is not None else str(source.sampleId))
        entry = self._resolved.get(key)
        if entry is None:
            entry = self._resolved[key] = self._entry(source, field)
        return entry

    def _entry(self, source: AudioSource, field: str) -> LibraryEntry:
        if source.audioId is not None:
            entry = self.entries.get(source.audioId)
            if entry is None or (entry.path is None and entry.audio is None):
                path = self._find(source.audioId, f"{field}.audioId")
                if path is None:
                    raise TwoShotError("NOT_FOUND", f"audio {shown(source.audioId)} is not in the sample library",
                                       field=f"{field}.audioId")
                entry = LibraryEntry(source.audioId, path, entry.bpm if entry else None,
                                     entry.sample_id if entry else None, entry.name if entry else None)
            return entry
        entry = self._by_sample.get(str(source.sampleId))
        if entry is None or (entry.path is None and entry.audio is None):
            raise TwoShotError("NOT_FOUND", f"sample {shown(source.sampleId)} is not in the sample library manifest",
                               field=f"{field}.sampleId")
        return entry

    def load(self, entry: LibraryEntry, sample_rate: int, field: str) -> Source:
        """Decoded audio of ``entry`` at ``sample_rate`` (converted with soxr once, then shared)."""
        if entry.audio is not None:
            return self._in_memory(entry, sample_rate, field)
        try:
            source = self.sources.get(entry.path, sample_rate, entry.audio_id)
        except MixdownError as error:
            raise TwoShotError("VALIDATION_ERROR", error.message, field=field) from None
        if source.frames == 0:
            raise TwoShotError("VALIDATION_ERROR", f"audio {entry.audio_id!r} is empty", field=field)
        return source

    def long_frames(self, entry: LibraryEntry, sample_rate: int, field: str) -> int | None:
        """The length at ``sample_rate`` of a source file over :data:`LONG_SOURCE_SAMPLES` (to be read in
        ranges with :meth:`load_span`), or None for a source :meth:`load` decodes whole."""
        if entry.audio is not None or entry.path is None:
            return None
        key = (entry.path, sample_rate)
        if key not in self._long:
            try:
                with AudioFile(entry.path) as reader:
                    known = reader.header_frames
                    size = known * reader.channels if known is not None else entry.path.stat().st_size
                    frames = None
                    if size > LONG_SOURCE_SAMPLES:
                        frames = reader.frames
                        if reader.sample_rate != sample_rate:
                            frames = resampled_length(frames, reader.sample_rate, sample_rate)
            except (MixdownError, OSError) as error:
                raise TwoShotError("VALIDATION_ERROR", getattr(error, "message", str(error)), field=field) from None
            self._long[key] = frames
        return self._long[key]

    def load_span(self, entry: LibraryEntry, sample_rate: int, field: str, first: int, last: int) -> Source:
        """Frames ``[first, last)`` at ``sample_rate`` of a long source file (see :meth:`long_frames`): the
        same samples as that range of :meth:`load`'s whole decode, in the memory of the range."""
        key = (entry.path, sample_rate, first, last)
        source = self._spans.get(key)
        if source is None:
            try:
                audio, _ = read_span(entry.path, first, last, sample_rate)
            except MixdownError as error:
                raise TwoShotError("VALIDATION_ERROR", error.message, field=field) from None
            source = self._spans[key] = Source(audio, sample_rate, entry.audio_id)
        return source

    def _in_memory(self, entry: LibraryEntry, sample_rate: int, field: str) -> Source:
        key = (id(entry.audio), sample_rate)
        source = self._memory.get(key)
        if source is None:
            audio = entry.audio
            if audio.shape[1] == 0:
                raise TwoShotError("VALIDATION_ERROR", f"audio {entry.audio_id!r} is empty", field=field)
            if entry.sample_rate != sample_rate:
                audio = resample(audio, entry.sample_rate, sample_rate)
            source = self._memory[key] = Source(audio, sample_rate, entry.audio_id)
        return source


def _memory_entry(audio_id: str, item: LibraryItem, sample_rate: int | None) -> LibraryEntry:
    """The entry of one value of an in-memory library (see :class:`SampleLibrary`)."""
    field = f"library[{audio_id!r}]"
    meta: Mapping[str, Any] = item if isinstance(item, Mapping) else {"audio": item}
    unknown = set(meta) - {"audio", "path", "bpm", "sampleId", "name"}
    if unknown:
        raise TwoShotError("VALIDATION_ERROR", f"unknown keys {sorted(unknown)}; expected audio, bpm, sampleId, name",
                           field=field)
    value = meta.get("audio", meta.get("path"))
    bpm = meta.get("bpm")
    if bpm is not None and (isinstance(bpm, bool) or not isinstance(bpm, (int, float))
                            or not math.isfinite(bpm) or bpm <= 0):
        raise TwoShotError("VALIDATION_ERROR", f"bpm must be a positive number, got {bpm!r}", field=f"{field}.bpm")
    common = {"bpm": None if bpm is None else float(bpm), "sample_id": meta.get("sampleId"), "name": meta.get("name")}
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise TwoShotError("NOT_FOUND", f"no such audio file: {str(path)!r}", field=field)
        return LibraryEntry(audio_id, path, **common)
    rate = sample_rate
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TwoShotError("VALIDATION_ERROR", "expected (audio, sample_rate)", field=field)
        value, rate = value
    if not isinstance(value, np.ndarray):
        raise TwoShotError("VALIDATION_ERROR", f"expected a file path or a numpy array, got {type(value).__name__}",
                           field=field)
    if rate is None:
        raise TwoShotError("VALIDATION_ERROR", "an array needs a rate: pass sample_rate= or (audio, rate)",
                           field=field)
    try:
        audio = as_audio(value, field=field)
        rate = check_sample_rate(rate, field=field)
    except MixdownError as error:
        raise TwoShotError("VALIDATION_ERROR", error.message, field=field) from None
    audio = audio.copy() if audio is value else audio
    audio.setflags(write=False)
    return LibraryEntry(audio_id, None, audio=audio, sample_rate=rate, **common)
