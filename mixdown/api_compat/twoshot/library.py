"""A local sample library: the audio a TwoShot project refers to by ``audioId`` or ``sampleId``.

A folder of audio files named ``<audioId>.<ext>``, plus an optional ``library.json`` mapping each
``audioId`` to ``{"path", "bpm", "sampleId", "name"}`` (every key optional). A manifest path is resolved
inside the folder; one that escapes it (``..``, an absolute path, a link out) is refused. Decoded audio is
converted to the render rate once and shared by every clip that uses it (and, through a shared
:class:`~mixdown.api_compat.sources.SourceCache`, by every render of a batch worker).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mixdown.api_compat.fields import shown
from mixdown.api_compat.json_input import load_json
from mixdown.api_compat.sources import SourceCache
from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.models import AudioSource
from mixdown.engine import Source
from mixdown.errors import MixdownError

MANIFEST = "library.json"
#: Longest file name (bytes) the file systems mixdown runs on accept.
NAME_MAX = 255
AUDIO_EXTENSIONS = ("wav", "flac", "aiff", "aif", "mp3", "ogg", "m4a", "aac", "wma", "wv", "opus", "caf", "w64")


@dataclass(frozen=True)
class LibraryEntry:
    audio_id: str
    path: Path
    bpm: float | None = None
    sample_id: int | str | None = None
    name: str | None = None


class SampleLibrary:
    """Resolves sources to files and decodes each file once per render rate."""

    def __init__(self, root: str | Path, sources: SourceCache | None = None) -> None:
        self.root = Path(root)
        self.sources = sources or SourceCache()
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
            if entry is None or entry.path is None:
                path = self._find(source.audioId, f"{field}.audioId")
                if path is None:
                    raise TwoShotError("NOT_FOUND", f"audio {shown(source.audioId)} is not in the sample library",
                                       field=f"{field}.audioId")
                entry = LibraryEntry(source.audioId, path, entry.bpm if entry else None,
                                     entry.sample_id if entry else None, entry.name if entry else None)
            return entry
        entry = self._by_sample.get(str(source.sampleId))
        if entry is None or entry.path is None:
            raise TwoShotError("NOT_FOUND", f"sample {shown(source.sampleId)} is not in the sample library manifest",
                               field=f"{field}.sampleId")
        return entry

    def load(self, entry: LibraryEntry, sample_rate: int, field: str) -> Source:
        """Decoded audio of ``entry`` at ``sample_rate`` (converted with soxr once, then shared)."""
        try:
            source = self.sources.get(entry.path, sample_rate, entry.audio_id)
        except MixdownError as error:
            raise TwoShotError("VALIDATION_ERROR", error.message, field=field) from None
        if source.frames == 0:
            raise TwoShotError("VALIDATION_ERROR", f"audio {entry.audio_id!r} is empty", field=field)
        return source
