"""The one sample library all three platforms share: uploads, files already in ``HOME/library``, analysis.

``POST /twoshot/sample/audio`` streams an upload into ``library/<audioId>.<ext>``; a TwoShot project names
it by ``audioId`` or ``sampleId``, a Songclip create event by ``songId`` (either id). Files a user put in
the folder before starting the server (``<audioId>.<ext>``, or entries of a ``library.json`` in the format
of :mod:`mixdown.api_compat.twoshot.library`, with their ``sampleId``) are registered at start. Each
sample's tempo is measured in the background; until then it is ``processing``.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from mixdown.api_compat.twoshot.library import AUDIO_EXTENSIONS, SampleLibrary
from mixdown.errors import MixdownError
from mixdown.formats import probe
from mixdown.server.errors import ApiError
from mixdown.server.projects import measure_naming
from mixdown.server.state import State, now_stamp
from mixdown.server.work import analyse_audio

log = logging.getLogger("mixdown.server")


def _sample_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def register(state: State, audio_id: str, path: Path, *, name: str | None, bpm: float | None = None,
             sample_id: int | None = None, public: bool = False, scale: str | None = None) -> dict[str, Any]:
    """Record a library file as audio and as a sample (probing it: a file that is not audio is refused)."""
    try:
        summary = probe(path)
    except MixdownError:
        raise ApiError(400, "the file is not audio that mixdown can decode", "file") from None
    if summary.frames == 0:
        raise ApiError(400, "the file holds no audio", "file")
    with state.transaction() as conn:
        state.add_audio(conn, audio_id, path, "sample", summary, name=name, bpm=bpm)
        taken = sample_id is not None and conn.execute("SELECT 1 FROM samples WHERE id = ?",
                                                       (sample_id,)).fetchone()
        cursor = conn.execute(
            "INSERT INTO samples (id, audio_id, name, public, scale, processing, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (None if taken else sample_id, audio_id, name, int(public), scale, int(bpm is None), now_stamp()))
        return {"sampleId": cursor.lastrowid, "audioId": audio_id, "processing": bpm is None}


def import_folder(state: State) -> list[str]:
    """Register the files of ``HOME/library`` the database does not know yet; returns their audio ids."""
    folder = state.folder("library")
    try:
        library = SampleLibrary(folder)
    except MixdownError as error:
        log.warning("library.json in %s was not read: %s", folder, error)
        return []
    found = {audio_id: entry for audio_id, entry in library.entries.items() if entry.path is not None}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lstrip(".").lower() in AUDIO_EXTENSIONS and not path.name.startswith("."):
            found.setdefault(path.stem, None)
    added = []
    for audio_id, entry in found.items():
        if state.audio(audio_id) is not None:
            continue
        path = entry.path if entry is not None else next(
            (p for p in (folder / f"{audio_id}.{ext}" for ext in AUDIO_EXTENSIONS) if p.is_file()), None)
        if path is None:
            continue
        try:
            register(state, audio_id, path, name=(entry.name if entry else None) or audio_id,
                     bpm=entry.bpm if entry else None, sample_id=_sample_id(entry.sample_id) if entry else None)
        except ApiError:
            log.warning("%s in the library is not audio; skipped", path.name)
            continue
        added.append(audio_id)
    state.write_manifest()
    return added


def extension_of(filename: str | None, summary_format: str | None = None) -> str:
    suffix = Path(filename or "").suffix.lstrip(".").lower()
    if suffix in AUDIO_EXTENSIONS:
        return suffix
    return summary_format if summary_format in AUDIO_EXTENSIONS else "bin"


def store_upload(state: State, spooled: Any, filename: str | None, *, name: str | None, public: bool,
                 scale: str | None) -> dict[str, Any]:
    """Move an uploaded file (already streamed to a temporary file) into the library and register it."""
    audio_id = str(uuid.uuid4())
    staging = state.folder("tmp") / f"upload-{audio_id}"
    try:
        with staging.open("wb") as handle:
            shutil.copyfileobj(spooled, handle, 1 << 20)
        try:
            summary = probe(staging)
        except MixdownError:
            raise ApiError(400, "the file is not audio that mixdown can decode", "file") from None
        target = state.folder("library") / f"{audio_id}.{extension_of(filename, summary.format)}"
        if target.suffix == ".bin":
            raise ApiError(400, f"{summary.format} files cannot be kept in the library", "file")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    try:
        reply = register(state, audio_id, target, name=name or Path(filename or audio_id).stem, public=public,
                         scale=scale)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    state.write_manifest()
    return reply


def record_tempo(conn: Any, audio_id: str, result: dict) -> None:
    """Store a tempo analysis's outcome, a NULL ``bpm`` (no beat: a one-shot) included, so that it runs once."""
    conn.execute("UPDATE audio SET bpm = ?, bpm_confidence = ?, bpm_measured = 1 WHERE id = ?",
                 (result["bpm"], result["confidence"], audio_id))


def analyse(app_state: Any, audio_id: str) -> None:
    """Measure a sample's tempo in the background; the sample stops ``processing`` when it is known, and the
    projects whose duration was unknown are measured again."""
    state: State = app_state.state
    row = state.audio(audio_id)
    if row is None:
        return

    def done(result: dict) -> None:
        with state.transaction() as conn:
            if result.get("ok"):
                record_tempo(conn, audio_id, result)
            conn.execute("UPDATE samples SET processing = 0 WHERE audio_id = ?", (audio_id,))
        state.write_manifest()
        measure_naming(app_state, audio_id)  # a project that named this sample before it arrived has a length now

    app_state.queue.submit(analyse_audio, str(state.home / row["path"]), done=done, bounded=False)
