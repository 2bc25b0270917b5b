"""The persistent store: one folder with a SQLite database (WAL) and the audio files beside it.

Layout::

    STORE/twistedwave.db        jobs, documents, undo history, markers, the webhook outbox
    STORE/audio/<doc_id>/*.npy  one float32 (channels, frames) array per distinct state of a document
                                (and of its clipboards and noise profiles)
    STORE/outputs/<job_id>/     an output while it is encoded; kept there when the output has no url
    STORE/tmp/                  documents being downloaded

Several processes may use one store at once: every change is one ``BEGIN IMMEDIATE`` transaction (SQLite
serialises them; readers are never blocked in WAL mode), and files are written beside their final name
and renamed into place before the transaction that refers to them commits. A process killed at any
point leaves the database as its last commit left it, and at worst files nothing refers to, which
:meth:`Store.sweep` removes.

The schema carries a version (``PRAGMA user_version``). A version-1 store gains the undo states' editor
``state`` column (empty for its existing states) when it is opened; any other version is refused rather
than guessed at.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mixdown.database import write_transaction
from mixdown.errors import MixdownError

SCHEMA_VERSION = 2
DATABASE = "twistedwave.db"
#: How long a writer waits for another process's transaction before giving up (ms).
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    ttl NUMERIC,
    created_at TEXT NOT NULL,
    edited_at REAL NOT NULL,
    deleted_at TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    floor INTEGER NOT NULL DEFAULT 0,
    edits INTEGER NOT NULL DEFAULT 0,
    exported_edits INTEGER
);
CREATE TABLE history (
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    job_id TEXT,
    audio TEXT NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    markers TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (doc_id, position)
);
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    edit TEXT,
    output TEXT,
    note TEXT,
    delete_document INTEGER NOT NULL,
    import_source TEXT,
    output_target TEXT,
    kept_file TEXT,
    error TEXT,
    owner TEXT,
    created_at TEXT NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX jobs_by_document ON jobs (doc_id, seq);
CREATE INDEX jobs_by_state ON jobs (state);
CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    claimed_until REAL,
    delivered_at REAL,
    given_up INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


class StoreError(MixdownError):
    """The store folder cannot be used (missing, another schema version, not writable, a link loop)."""

    exit_code = 2


def stamp(epoch: float) -> str:
    """``2015-03-06T01:25:09.067Z``: UTC with milliseconds, as the document's dates."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _start_ticks(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def process_owner() -> str:
    """``host:pid:start/thread`` of this thread: what a job's ``owner`` holds while this thread runs it."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or 0}/{threading.get_ident()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process named by ``owner`` still runs. An owner on another host counts as alive: a
    store is meant for one machine's processes, and nothing here can see another machine's."""
    if not owner:
        return False
    host, pid_text, start = owner.split("/", 1)[0].rsplit(":", 2)
    if host != socket.gethostname():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _zombie(pid):
        return False
    ticks = _start_ticks(pid)
    return start == "0" or ticks is None or ticks == start


class Store:
    """A store folder. Connections are per thread; every method may be called from any thread."""

    def __init__(self, folder: str | os.PathLike[str], *, clock: Callable[[], float] = time.time,
                 create: bool = True) -> None:
        """Open the store in ``folder``; without ``create``, a folder that holds no store is refused (a
        command that only reads must not leave a new store behind)."""
        try:
            self.folder = Path(folder).expanduser().resolve()
        except (OSError, RuntimeError, ValueError) as error:  # a link loop, a NUL byte
            reason = getattr(error, "strerror", None) or str(error)
            raise StoreError(f"cannot use {str(folder)[:200]!r} as a store: {reason}", field="store") from None
        self.clock = clock
        self._local = threading.local()
        if not create and not (self.folder / DATABASE).is_file():
            raise StoreError(f"there is no store at {str(self.folder)!r} (a job create makes one)", field="store")
        try:
            for sub in ("audio", "outputs", "tmp"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot use {str(self.folder)!r} as a store: {error.strerror}", field="store") from None
        self._initialise()

    # --- database -----------------------------------------------------------------------------------

    @property
    def database(self) -> Path:
        return self.folder / DATABASE

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _initialise(self) -> None:
        """Create the schema in an empty database, in one transaction (two processes may race to do it)."""
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version == 1:
                conn.execute("ALTER TABLE history ADD COLUMN state TEXT NOT NULL DEFAULT '{}'")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise StoreError(
                    f"{str(self.database)!r} has schema version {version}; this mixdown reads version "
                    f"{SCHEMA_VERSION} only",
                    field="store",
                )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): commit on success, roll back on error."""
        with write_transaction(self.connection()) as conn:
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def insert_unique(self, conn: sqlite3.Connection, table: str, prefix: str, digits: int,
                      values: dict[str, Any]) -> str:
        """Insert a row under a new random id (``job_3c6837c1``, ``doc_6e4799cdb``) and return the id."""
        columns = ", ".join(["id", *values])
        marks = ", ".join("?" * (len(values) + 1))
        while True:
            new_id = prefix + secrets.token_hex((digits + 1) // 2)[:digits]
            try:
                conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", [new_id, *values.values()])
            except sqlite3.IntegrityError:
                continue
            return new_id

    # --- time -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def stamp(self) -> str:
        return stamp(self.clock())

    # --- audio files --------------------------------------------------------------------------------

    def audio_folder(self, doc_id: str) -> Path:
        return self.folder / "audio" / doc_id

    def save_audio(self, doc_id: str, audio: np.ndarray) -> str:
        """Write ``audio`` under a new name in the document's folder (atomically) and return the name."""
        folder = self.audio_folder(doc_id)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(8)}.npy"
        temp = folder / f".{name}.part"
        with open(temp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(audio, dtype=np.float32))
        os.replace(temp, folder / name)
        return name

    def load_audio(self, doc_id: str, name: str) -> np.ndarray:
        return np.load(self.audio_folder(doc_id) / name)

    def output_folder(self, job_id: str) -> Path:
        return self.folder / "outputs" / job_id

    def temp_folder(self) -> Path:
        return self.folder / "tmp"

    # --- housekeeping -------------------------------------------------------------------------------

    def remove_document_files(self, doc_id: str, job_ids: list[str]) -> None:
        """Remove a deleted document's audio and the outputs kept with it."""
        shutil.rmtree(self.audio_folder(doc_id), ignore_errors=True)
        for job_id in job_ids:
            shutil.rmtree(self.output_folder(job_id), ignore_errors=True)

    def sweep(self) -> None:
        """Remove files no committed row refers to: audio of undo states never committed (or discarded by
        a new edit after an undo), outputs of jobs that did not complete, downloads left by a killed
        process, and everything of deleted documents. A document or job some live process is working on
        is left alone; the write lock keeps any new one from starting meanwhile."""
        with self.transaction() as conn:
            busy_docs = set()
            busy_jobs = set()
            for row in conn.execute("SELECT id, doc_id, owner FROM jobs WHERE state IN "
                                    "('pending', 'importing', 'editing', 'exporting')"):
                if owner_alive(row["owner"]):
                    busy_docs.add(row["doc_id"])
                    busy_jobs.add(row["id"])
            for folder in (self.folder / "audio").iterdir():
                if folder.name in busy_docs:
                    continue
                doc = conn.execute("SELECT deleted_at FROM documents WHERE id = ?", (folder.name,)).fetchone()
                if doc is None or doc["deleted_at"] is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                    continue
                used = used_audio(conn, folder.name)
                for path in folder.iterdir():
                    if path.name not in used:
                        path.unlink(missing_ok=True)
            for folder in (self.folder / "outputs").iterdir():
                if folder.name in busy_jobs:
                    continue
                job = conn.execute("SELECT kept_file FROM jobs WHERE id = ?", (folder.name,)).fetchone()
                kept = job["kept_file"] if job is not None else None
                for path in folder.iterdir():
                    if path.name != kept:
                        path.unlink(missing_ok=True)
                if kept is None:
                    shutil.rmtree(folder, ignore_errors=True)
            for path in self.temp_folder().iterdir():
                if path.name.split("-", 1)[0] not in busy_jobs:
                    path.unlink(missing_ok=True)


def used_audio(conn: sqlite3.Connection, doc_id: str) -> set[str]:
    """The files the document's undo states refer to: their audio, clipboards and noise profiles."""
    rows = conn.execute("SELECT audio FROM history WHERE doc_id = ? UNION "
                        "SELECT json_extract(state, '$.clipboard') FROM history WHERE doc_id = ? UNION "
                        "SELECT json_extract(state, '$.noise_profile.file') FROM history WHERE doc_id = ?",
                        (doc_id, doc_id, doc_id))
    return {row[0] for row in rows if row[0] is not None}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
