"""The server's own state under ``--home``: one SQLite database (WAL) and the files it names.

Layout::

    HOME/server.db          audio, samples, projects, render jobs, songclips
    HOME/library/           the sample library every platform reads: <audioId>.<ext> and library.json
    HOME/renders/           rendered projects, <audioId>.<ext>, and each running render's progress file
    HOME/clips/             cut songclips
    HOME/twistedwave/       TwistedWave's own store (see :mod:`mixdown.api_compat.twistedwave.store`)

Every path the database holds is relative to HOME and is resolved and checked to lie inside it before a
file is served; ids from a request are only ever looked up, never joined onto a path.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mixdown.database import write_transaction
from mixdown.formats import atomic_path

SCHEMA_VERSION = 2
DATABASE = "server.db"
FOLDERS = ("library", "renders", "clips", "tmp")
_SCHEMA = """
CREATE TABLE audio (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    format TEXT,
    sample_rate INTEGER,
    channels INTEGER,
    frames INTEGER,
    size INTEGER,
    bpm REAL,
    bpm_confidence REAL,
    bpm_measured INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    audio_id TEXT NOT NULL UNIQUE REFERENCES audio (id),
    name TEXT,
    public INTEGER NOT NULL DEFAULT 0,
    scale TEXT,
    processing INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);
CREATE TABLE projects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    version TEXT,
    tempo REAL,
    public INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    duration REAL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE renders (
    id TEXT PRIMARY KEY,
    project_id TEXT,
    status TEXT NOT NULL,
    document TEXT NOT NULL,
    format TEXT NOT NULL,
    audio_id TEXT,
    error TEXT,
    reply TEXT,
    estimated TEXT NOT NULL,
    created TEXT NOT NULL,
    completed TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX renders_by_status ON renders (status);
CREATE TABLE songclips (
    id TEXT PRIMARY KEY,
    audio_id TEXT NOT NULL,
    reply TEXT NOT NULL,
    created TEXT NOT NULL
);
"""
#: What brings a database of each older version to the next: a home a previous mixdown wrote keeps working.
#: Version 2: ``audio.bpm_measured`` (the tempo analysis ran, so a NULL ``bpm`` means "no beat", not "not yet";
#: a sample no longer processing was measured) and ``projects.duration`` (seconds, for the duration filters).
_MIGRATIONS = {
    1: ("ALTER TABLE audio ADD COLUMN bpm_measured INTEGER NOT NULL DEFAULT 0",
        "UPDATE audio SET bpm_measured = 1 WHERE bpm IS NOT NULL OR id IN "
        "(SELECT audio_id FROM samples WHERE processing = 0)",
        "ALTER TABLE projects ADD COLUMN duration REAL"),
}


def now_stamp() -> str:
    """``2024-01-15T10:30:00Z``, as TwoShot's document writes dates."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StateError(Exception):
    """The home folder holds a database of another schema version."""


class State:
    """The database and folders of one home; connections are per thread."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).resolve()
        for name in FOLDERS:
            (self.home / name).mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.manifest_lock = threading.Lock()
        # The server is the database's one writer: its threads (and its event loop, which records a small
        # render request itself) take turns here, where a wait costs nothing, instead of in SQLite's busy
        # handler, which sleeps 1, 2, 5, 10... ms between tries.
        self._write_lock = threading.RLock()
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version = SCHEMA_VERSION
                conn.execute(f"PRAGMA user_version = {version}")
            while version in _MIGRATIONS:
                for statement in _MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            if version != SCHEMA_VERSION:
                raise StateError(f"{self.home / DATABASE} has schema version {version}; this mixdown reads "
                                 f"version {SCHEMA_VERSION}")

    def folder(self, name: str) -> Path:
        return self.home / name

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.home / DATABASE, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, write_transaction(self.connection()) as conn:
            yield conn

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self.connection().execute(sql, args).fetchone()

    def all(self, sql: str, args: tuple | list = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, args).fetchall()

    # --- files ----------------------------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.home))

    def inside(self, relative: str) -> Path | None:
        """The file a stored relative path names, if it still exists and lies inside the home."""
        # On strings, not Paths: a render request checks each of its sources here, and pathlib's parsing
        # cost more than the system calls.
        path = os.path.realpath(os.path.join(self.home, relative))
        if not path.startswith(os.path.join(self.home, "")) or not os.path.isfile(path):
            return None
        return Path(path)

    # --- audio ----------------------------------------------------------------------------------------

    def add_audio(self, conn: sqlite3.Connection, audio_id: str, path: Path, kind: str, summary: Any,
                  name: str | None = None, bpm: float | None = None) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO audio (id, path, kind, name, format, sample_rate, channels, frames, size, bpm, "
            "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (audio_id, self.relative(path), kind, name, summary.format, summary.sample_rate, summary.channels,
             summary.frames, Path(path).stat().st_size, bpm, now_stamp()))

    def audio(self, audio_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM audio WHERE id = ?", (audio_id,))

    def write_manifest(self) -> None:
        """Rewrite ``library/library.json`` from the samples table (what a render's library reads); a file
        gone from the folder is left out, so that only the renders that use it fail."""
        rows = self.all("SELECT audio.id, audio.path, audio.bpm, audio.name, samples.id AS sample_id "
                        "FROM samples JOIN audio ON audio.id = samples.audio_id ORDER BY samples.id")
        library = self.folder("library")
        manifest: dict[str, dict[str, Any]] = {}
        for row in rows:
            path = (self.home / row["path"]).resolve()
            if not path.is_relative_to(library.resolve()) or not path.is_file():
                continue
            entry: dict[str, Any] = {"path": str(path.relative_to(library.resolve())), "sampleId": row["sample_id"]}
            if row["name"] is not None:
                entry["name"] = row["name"]
            if row["bpm"] is not None:
                entry["bpm"] = row["bpm"]
            manifest[row["id"]] = entry
        with self.manifest_lock, atomic_path(library / "library.json") as temp:
            temp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
