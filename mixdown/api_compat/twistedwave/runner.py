"""Running jobs: states, transitions, waiting for earlier jobs, and resuming after a crash.

A job's states (the document's, without ``waiting``: offline there is no editor window to wait for)::

    pending ──> importing ──> editing ──> exporting ──> completed
       │            │  └──────────────────────^ │  ^
       │            │             └──────────────┘  (edit without output)
       └────────────┴── any active state ──> failed | cancelled

``pending`` waits for every earlier active job on the same document; a job with nothing to wait for
starts in its first working state (``importing`` for a url, ``editing`` for an edit, ``exporting`` for
an output). The output's own states are ``pending -> encoding -> [sending ->] completed``, or ``skipped``
(``if_modified`` and nothing changed since the last export), ``failed`` or ``cancelled`` with its job.

Every step ends in one transaction that records its result together with the move to the next state,
guarded by the state it started from and by the job's ``owner``: a job cancelled meanwhile is never
moved on, and its step's results are thrown away. A process killed in a step leaves the job in that
step's state with an owner that no longer runs; whoever runs it next starts that step again from what
was committed (imports and exports are redone whole, into fresh files renamed into place, so an output
is absent or complete, never partial). :meth:`Runner.recover` fails such jobs instead, when asked to.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mixdown.api_compat.fields import DEFAULT_MAX_DURATION_S
from mixdown.api_compat.twistedwave import edits as offline_edits
from mixdown.api_compat.twistedwave import models
from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.api_compat.twistedwave.errors import NOT_FOUND, TwistedWaveError, from_mixdown
from mixdown.api_compat.twistedwave.notify import Notifier
from mixdown.api_compat.twistedwave.replies import EMPTY_CHANNELS, EMPTY_SAMPLE_RATE, job_object
from mixdown.api_compat.twistedwave.store import Store, dumps, loads, owner_alive, process_owner, used_audio
from mixdown.api_compat.twistedwave.transfer import (
    DOWNLOAD_TIMEOUT_S,
    MAX_DOWNLOAD_BYTES,
    POST_TIMEOUT_S,
    TransferError,
    deliver_local,
    fetch,
    leftovers,
    locate,
    post_file,
)
from mixdown.errors import MixdownError, OutputError
from mixdown.files import read_whole
from mixdown.formats import export, parse_output
from mixdown.formats.tags import read_markers, read_tags

ACTIVE = ("pending", "importing", "editing", "exporting")
WORKING = ("importing", "editing", "exporting")
TERMINAL = ("completed", "failed", "cancelled")

#: Every move a job may make.
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"importing", "editing", "exporting", "failed", "cancelled"}),
    "importing": frozenset({"editing", "exporting", "failed", "cancelled"}),
    "editing": frozenset({"exporting", "completed", "failed", "cancelled"}),
    "exporting": frozenset({"completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

#: Every move an output may make; ``encoding`` is entered again when an interrupted export is redone.
OUTPUT_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"encoding", "skipped", "failed", "cancelled"}),
    "encoding": frozenset({"encoding", "sending", "completed", "failed", "cancelled"}),
    "sending": frozenset({"encoding", "completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "skipped": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

OUTPUT_DONE = ("completed", "skipped", "failed", "cancelled")


class StaleJobError(Exception):
    """The job was cancelled (or taken over) while this process worked on it: drop what the step made."""


class Steps:
    """The work of one job counted in steps (the import, each edit command, the export), told to ``report``
    as ``(done, total)`` after each: the fraction a progress line shows."""

    def __init__(self, job: sqlite3.Row, report: Callable[[int, int], None] | None) -> None:
        edit = loads(job["request"]).get("edit") or {} if job["edit"] is not None else {}
        commands = edit.get("commands", []) if isinstance(edit, dict) else []
        self.total = (job["import_source"] is not None) + len(commands) + (job["output"] is not None)
        self.done = 0
        self.report = report

    def step(self) -> None:
        self.done += 1
        if self.report is not None:
            self.report(min(self.done, self.total), self.total)


def first_state(job: sqlite3.Row) -> str:
    if job["import_source"] is not None:
        return "importing"
    return "editing" if job["edit"] is not None else "exporting"


def next_state(job: sqlite3.Row, after: str) -> str:
    """The working state after ``after`` finished, or ``completed``."""
    if after == "importing" and job["edit"] is not None:
        return "editing"
    if after in ("importing", "editing") and job["output"] is not None:
        return "exporting"
    return "completed"


def move(conn: sqlite3.Connection, job: sqlite3.Row, state: str, owner: str | None, *,
         output_state: str | None = None, output_fields: dict[str, Any] | None = None,
         **columns: Any) -> sqlite3.Row:
    """Move ``job`` to ``state`` (and its output to ``output_state``) if it is still where ``job`` saw it
    and (with ``owner``) still ours; returns the updated row.

    Raises :class:`StaleJobError` when it is not; ``AssertionError`` for a move the transition tables forbid.
    """
    current = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    if current["state"] != job["state"] or (owner is not None and current["owner"] != owner):
        raise StaleJobError(job["id"])
    if state != current["state"] and state not in JOB_TRANSITIONS[current["state"]]:
        raise AssertionError(f"job {job['id']}: {current['state']} -> {state} is not a transition")
    values = dict(columns, state=state)
    if output_state is not None and current["output"] is not None:
        output = loads(current["output"])
        moving = output["state"] != output_state or output_state == "encoding"
        if moving and output_state not in OUTPUT_TRANSITIONS[output["state"]]:
            raise AssertionError(f"job {job['id']} output: {output['state']} -> {output_state} is not a transition")
        values["output"] = dumps({**output, "state": output_state, **(output_fields or {})})
    if state in TERMINAL:
        values.setdefault("owner", None)
    assignments = ", ".join(f"{name} = ?" for name in values)
    conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*values.values(), job["id"]])
    return conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()


def settle_output(output_text: str | None, state: str) -> str | None:
    """The output of a job that ends ``failed`` or ``cancelled``: its state follows unless it was done."""
    if output_text is None:
        return None
    output = loads(output_text)
    if output["state"] not in OUTPUT_DONE:
        output["state"] = state
    return dumps(output)


def cancel_in(conn: sqlite3.Connection, job: sqlite3.Row, now: float) -> None:
    """Cancel an active job inside a transaction (the document is never deleted for it)."""
    conn.execute("UPDATE jobs SET state = 'cancelled', owner = NULL, finished_at = ?, output = ? WHERE id = ?",
                 (now, settle_output(job["output"], "cancelled"), job["id"]))


class Runner:
    """Runs jobs of one store in this process (each thread has its own owner identity)."""

    def __init__(self, store: Store, notifier: Notifier, *, download_timeout: float = DOWNLOAD_TIMEOUT_S,
                 max_download_bytes: int = MAX_DOWNLOAD_BYTES, post_timeout: float = POST_TIMEOUT_S,
                 poll: float = 0.05, confinement: Confinement | None = None) -> None:
        self.store = store
        self.notifier = notifier
        self.download_timeout = download_timeout
        self.max_download_bytes = max_download_bytes
        self.post_timeout = post_timeout
        self.poll = poll
        self.confinement = confinement

    # --- claiming -----------------------------------------------------------------------------------

    def _claim(self, job_id: str, me: str) -> tuple[str, list[str], str | None]:
        """``("done" | "claimed" | "wait", predecessors nobody runs, previous dead owner)``."""
        with self.store.transaction() as conn:
            job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if job is None:
                raise TwistedWaveError(f"no such job: {job_id}", param="id", status=NOT_FOUND)
            if job["state"] in TERMINAL:
                return "done", [], None
            if job["owner"] not in (None, me) and owner_alive(job["owner"]):
                return "wait", [], None
            earlier = conn.execute(
                "SELECT id, owner FROM jobs WHERE doc_id = ? AND seq < ? AND state IN "
                "('pending', 'importing', 'editing', 'exporting') ORDER BY seq", (job["doc_id"], job["seq"])).fetchall()
            if earlier:
                return "wait", [row["id"] for row in earlier if not owner_alive(row["owner"])], None
            state = first_state(job) if job["state"] == "pending" else job["state"]
            conn.execute("UPDATE jobs SET owner = ?, state = ?, started_at = COALESCE(started_at, ?) WHERE id = ?",
                         (me, state, self.store.now(), job_id))
            previous = job["owner"] if job["owner"] not in (None, me) else None
            return "claimed", [], previous

    def run(self, job_id: str, *, timeout: float | None = None,
            on_step: Callable[[int, int], None] | None = None) -> None:
        """Run ``job_id`` to a terminal state, first running any earlier job on its document that no live
        process runs, and waiting (polling) for those that one does. ``on_step`` is told ``(steps done,
        steps)`` of ``job_id`` after each (see :class:`Steps`)."""
        me = process_owner()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status, runnable, previous = self._claim(job_id, me)
            if status == "done":
                return
            if status == "claimed":
                break
            for earlier in runnable:
                self.run(earlier, timeout=timeout)
            if not runnable:
                if deadline is not None and time.monotonic() > deadline:
                    raise TwistedWaveError(f"job {job_id} is still waiting for earlier jobs after {timeout:g} s",
                                           param="id")
                time.sleep(self.poll)
        if previous is not None:
            self.clean_attempt(job_id)
        try:
            self._execute(job_id, me, on_step)
        except BaseException:
            with self.store.transaction() as conn:
                conn.execute("UPDATE jobs SET owner = NULL WHERE id = ? AND owner = ?", (job_id, me))
            raise
        finally:
            self.notifier.deliver_soon()

    # --- steps ----------------------------------------------------------------------------------------

    def _execute(self, job_id: str, me: str, on_step: Callable[[int, int], None] | None = None) -> None:
        steps = {"importing": self._import, "editing": self._edit, "exporting": self._export}
        counted: Steps | None = None
        while True:
            job = self.store.connection().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if job["owner"] != me or job["state"] not in WORKING:
                return
            counted = counted or Steps(job, on_step)
            try:
                steps[job["state"]](job, me, counted)
            except StaleJobError:
                self.clean_attempt(job_id)
                return
            except Exception as error:  # every failure, expected or not, ends the job as failed
                self._fail(job, me, _describe(error, job["state"]))
                return

    def _import(self, job: sqlite3.Row, me: str, counted: Steps) -> None:
        source = job["import_source"]
        location = locate(source, "document.url", self.confinement)
        path = location.path
        if location.kind == "http":
            path = fetch(source, self.store.temp_folder(), job["id"], timeout=self.download_timeout,
                         max_bytes=self.max_download_bytes, confinement=self.confinement)
        try:
            audio, rate = read_whole(path, "editing a document")
            markers = [marker for marker in read_markers(path) if marker[0] <= audio.shape[1]]
            state = offline_edits.EditorState(tags=read_tags(path)).to_json()
        finally:
            if location.kind == "http":
                path.unlink(missing_ok=True)
        name = self.store.save_audio(job["doc_id"], audio)
        now = self.store.now()
        with self._discarding(job["doc_id"], [name]), self.store.transaction() as conn:
            move(conn, job, next_state(job, "importing"), me)
            conn.execute("DELETE FROM history WHERE doc_id = ?", (job["doc_id"],))
            conn.execute(
                "INSERT INTO history (doc_id, position, name, job_id, audio, sample_rate, channels, frames, markers, "
                "created_at, state) VALUES (?, 1, 'import', ?, ?, ?, ?, ?, ?, ?, ?)",
                (job["doc_id"], job["id"], name, rate, audio.shape[0], audio.shape[1], dumps(markers),
                 self.store.stamp(), dumps(state)))
            conn.execute("UPDATE documents SET position = 1, floor = 1, edited_at = ? WHERE id = ?",
                         (now, job["doc_id"]))
        counted.step()

    @contextlib.contextmanager
    def _discarding(self, doc_id: str, names: list[str]) -> Iterator[None]:
        """Remove the audio files ``names`` (written for undo states not yet committed) if the block fails."""
        try:
            yield
        except BaseException:
            for name in names:
                (self.store.audio_folder(doc_id) / name).unlink(missing_ok=True)
            raise

    def _load(self, doc_id: str, entry: dict[str, Any] | None) -> offline_edits.Take:
        if entry is None:
            empty = np.zeros((EMPTY_CHANNELS, 0), dtype=np.float32)
            return offline_edits.Take(empty, EMPTY_SAMPLE_RATE, [])
        state = offline_edits.EditorState.from_json(loads(entry.get("state") or "{}"),
                                                    lambda name: self.store.load_audio(doc_id, name))
        return offline_edits.Take(self.store.load_audio(doc_id, entry["audio"]), entry["sample_rate"],
                                  loads(entry["markers"]), state)

    def _still_ours(self, job: sqlite3.Row, me: str) -> None:
        row = self.store.connection().execute("SELECT state, owner FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        if row["state"] != job["state"] or row["owner"] != me:
            raise StaleJobError(job["id"])

    def _edit(self, job: sqlite3.Row, me: str, counted: Steps) -> None:
        doc_id = job["doc_id"]
        with self.store.transaction() as conn:
            edit = loads(job["edit"])
            if "connected_at" not in edit:
                edit["connected_at"] = self.store.stamp()
                job = move(conn, job, "editing", me, edit=dumps(edit))
            doc = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
            rows = conn.execute("SELECT * FROM history WHERE doc_id = ? ORDER BY position", (doc_id,)).fetchall()
        if doc["deleted_at"] is not None:
            raise TwistedWaveError(f"document {doc_id} was deleted", param="document.id")
        entries = [dict(row) for row in rows]
        position, floor = doc["position"], doc["floor"]
        take = self._load(doc_id, entries[position - 1] if position else None)
        request = loads(job["request"])
        commands = [models.parse_command(raw, index) for index, raw in enumerate(request["edit"].get("commands", []))]
        saved: list[str] = []
        reports: list[dict[str, Any]] = []
        with self._discarding(doc_id, saved):
            position, kept, entries = self._apply_commands(job, me, commands, entries, position, floor, take, saved,
                                                           reports, counted)
            if reports:
                edit["analysis"] = reports
            changing = sum(1 for command in commands if command.command != "analyze")  # for if_modified
            sent = self._commit_edit(job, me, edit, entries, position, kept, changing)
        self.notifier.publish(sent)
        if kept < len(rows):
            self._drop_unused_audio(doc_id)

    def _apply_commands(self, job: sqlite3.Row, me: str, commands: list[models.Command], entries: list[dict],
                        position: int, floor: int, take: offline_edits.Take,
                        saved: list[str], reports: list[dict[str, Any]], counted: Steps) -> tuple[int, int, list[dict]]:
        """Run the commands on the document's undo states in memory (audio written to new files, listed in
        ``saved``; ``analyze`` reports appended to ``reports``). Returns the new position, how many of the
        old states are kept, and the states."""
        doc_id = job["doc_id"]
        kept = len(entries)
        limit = loads(job["edit"])["max_duration"]
        for index, command in enumerate(commands):
            if index:
                counted.step()
            self._still_ours(job, me)
            if command.command in ("undo", "redo"):
                step = -1 if command.command == "undo" else 1
                if not floor <= position + step <= len(entries):
                    raise TwistedWaveError(f"nothing to {command.command}", param=f"edit.commands[{index}].command")
                position += step
                take = self._load(doc_id, entries[position - 1] if position else None)
                continue
            if command.command == "analyze":
                reports.append(offline_edits.report(command, take, index))
                continue
            longest = offline_edits.predicted_frames(command, take)
            ceiling = limit or DEFAULT_MAX_DURATION_S
            if longest is not None and longest > take.frames and longest > ceiling * take.sample_rate:
                raise TwistedWaveError(
                    f"{command.command} would make the document {longest / take.sample_rate:g} s long; "
                    + (f"edit.max_duration is {limit:g} s" if limit else f"the longest document is {ceiling:g} s"),
                    param=f"edit.commands[{index}]")
            changed = offline_edits.apply(command, take, index)
            if limit and changed.duration > limit and changed.duration > take.duration:
                raise TwistedWaveError(
                    f"{command.command} would make the document {changed.duration:g} s long; edit.max_duration is "
                    f"{limit:g} s", param=f"edit.commands[{index}]")
            if offline_edits.changes_audio(command) or not position:
                audio_name = self.store.save_audio(doc_id, changed.audio)
                saved.append(audio_name)
            else:
                audio_name = entries[position - 1]["audio"]
            if changed.state.clipboard is not None and changed.state.clipboard_file is None:
                changed.state.clipboard_file = self.store.save_audio(doc_id, changed.state.clipboard)
                saved.append(changed.state.clipboard_file)
            profile = changed.state.noise_profile
            if profile is not None and changed.state.profile_file is None:
                changed.state.profile_file = self.store.save_audio(doc_id, np.stack([profile.mean_db,
                                                                                     profile.spread_db]))
                saved.append(changed.state.profile_file)
            del entries[position:]
            kept = min(kept, position)
            position += 1
            entries.append({"doc_id": doc_id, "position": position, "name": command.command, "job_id": job["id"],
                            "audio": audio_name, "sample_rate": changed.sample_rate,
                            "channels": changed.audio.shape[0], "frames": changed.frames,
                            "markers": dumps(changed.markers), "created_at": self.store.stamp(),
                            "state": dumps(changed.state.to_json())})
            take = changed
        if commands:
            counted.step()
        return position, kept, entries

    def _commit_edit(self, job: sqlite3.Row, me: str, edit: dict[str, Any], entries: list[dict], position: int,
                     kept: int, count: int) -> list[dict[str, Any]]:
        """Record the new undo states and move the job on, in one transaction; returns the notifications."""
        doc_id = job["doc_id"]
        edit["completed_at"] = self.store.stamp()
        now = self.store.now()
        after = next_state(job, "editing")
        with self.store.transaction() as conn:
            columns: dict[str, Any] = {"edit": dumps(edit)}
            if after == "completed":
                columns["finished_at"] = now
            job = move(conn, job, after, me, **columns)
            conn.execute("DELETE FROM history WHERE doc_id = ? AND position > ?", (doc_id, kept))
            conn.executemany(
                "INSERT INTO history (doc_id, position, name, job_id, audio, sample_rate, channels, frames, markers, "
                "created_at, state) VALUES (:doc_id, :position, :name, :job_id, :audio, :sample_rate, :channels, "
                ":frames, :markers, :created_at, :state)", entries[kept:])
            if count:
                conn.execute("UPDATE documents SET position = ?, edited_at = ?, edits = edits + ? WHERE id = ?",
                             (position, now, count, doc_id))
            sent = [self.notifier.record(conn, "edit.completed", "job", job_object(conn, job))]
            if after == "completed":
                sent.append(self.notifier.record(conn, "job.completed", "job", job_object(conn, job)))
        return sent

    def _drop_unused_audio(self, doc_id: str) -> None:
        """Remove the audio of redo states a new edit discarded."""
        with self.store.transaction() as conn:
            used = used_audio(conn, doc_id)
            busy = conn.execute("SELECT COUNT(*) FROM jobs WHERE doc_id = ? AND state = 'editing' "
                                "AND owner IS NOT NULL", (doc_id,)).fetchone()[0]
            if not busy:
                for path in self.store.audio_folder(doc_id).glob("*.npy"):
                    if path.name not in used:
                        path.unlink(missing_ok=True)

    def _export(self, job: sqlite3.Row, me: str, counted: Steps) -> None:
        doc_id = job["doc_id"]
        output = loads(job["output"])
        spec = parse_output(output)
        with self.store.transaction() as conn:
            doc = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
            if doc["deleted_at"] is not None:
                raise TwistedWaveError(f"document {doc_id} was deleted", param="document.id")
            skipped = bool(output.get("if_modified")) and doc["exported_edits"] == doc["edits"]
            if skipped:
                sent, deleted = self._finish(conn, job, me, "skipped", {}, kept=None)
            else:
                job = move(conn, job, "exporting", me, output_state="encoding")
                edits_exported = doc["edits"]
                entry = conn.execute("SELECT * FROM history WHERE doc_id = ? AND position = ?",
                                     (doc_id, doc["position"])).fetchone()
        if skipped:
            self._published(sent, deleted)
            return
        take = self._load(doc_id, dict(entry) if entry is not None else None)
        folder = self.store.output_folder(job["id"])
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / spec.filename
        export(take.audio, take.sample_rate, spec, staged, tags=take.state.tags, markers=take.markers)
        size = staged.stat().st_size
        target = job["output_target"]
        if target is not None:
            with self.store.transaction() as conn:
                job = move(conn, job, "exporting", me, output_state="sending")
            location = locate(target, "output.url", self.confinement)
            if location.kind == "local":
                deliver_local(staged, location.path, spec.filename)
            else:
                note = job["note"] if output.get("post_note") else None
                post_file(target, staged, spec.filename, note, timeout=self.post_timeout,
                          confinement=self.confinement)
        with self.store.transaction() as conn:
            sent, deleted = self._finish(conn, job, me, "completed", {"file_size": size},
                                         kept=spec.filename if target is None else None)
            conn.execute("UPDATE documents SET exported_edits = ? WHERE id = ?", (edits_exported, doc_id))
        if target is not None:
            shutil.rmtree(folder, ignore_errors=True)
        counted.step()
        self._published(sent, deleted)

    def _finish(self, conn: sqlite3.Connection, job: sqlite3.Row, me: str, output_state: str,
                output_fields: dict[str, Any], *, kept: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Complete an exporting job inside the caller's transaction, deleting its document when asked (and
        cancelling what else was queued on it). Returns the notifications and the deleted document's id."""
        now = self.store.now()
        job = move(conn, job, "completed", me, output_state=output_state, output_fields=output_fields,
                   finished_at=now, kept_file=kept)
        deleted = None
        if job["delete_document"]:
            for other in conn.execute("SELECT * FROM jobs WHERE doc_id = ? AND id != ? AND state IN "
                                      "('pending', 'importing', 'editing', 'exporting')",
                                      (job["doc_id"], job["id"])).fetchall():
                cancel_in(conn, other, now)
            conn.execute("UPDATE documents SET deleted_at = ? WHERE id = ?", (self.store.stamp(), job["doc_id"]))
            deleted = job["doc_id"]
        return [self.notifier.record(conn, "job.completed", "job", job_object(conn, job))], deleted

    def _published(self, sent: list[dict[str, Any]], deleted: str | None) -> None:
        if deleted is not None:
            self.store.remove_document_files(deleted, self.job_ids(deleted))
        self.notifier.publish(sent)

    def job_ids(self, doc_id: str) -> list[str]:
        rows = self.store.connection().execute("SELECT id FROM jobs WHERE doc_id = ?", (doc_id,)).fetchall()
        return [row["id"] for row in rows]

    def _fail(self, job: sqlite3.Row, me: str, message: str) -> None:
        with self.store.transaction() as conn:
            current = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
            if current["owner"] != me or current["state"] not in ACTIVE:
                return
            conn.execute("UPDATE jobs SET state = 'failed', error = ?, owner = NULL, finished_at = ?, output = ? "
                         "WHERE id = ?", (message, self.store.now(), settle_output(current["output"], "failed"),
                                          job["id"]))
            failed = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
            sent = [self.notifier.record(conn, "job.failed", "job", job_object(conn, failed))]
        self.notifier.publish(sent)
        self.clean_attempt(job["id"])

    # --- crash recovery -----------------------------------------------------------------------------

    def clean_attempt(self, job_id: str) -> None:
        """Remove what an unfinished attempt at ``job_id`` may have left: a partly encoded or staged output,
        a partial download, a temporary file beside a local target."""
        conn = self.store.connection()
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if job is None:
            return
        folder = self.store.output_folder(job_id)
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name != job["kept_file"]:
                    path.unlink(missing_ok=True)
            if job["kept_file"] is None:
                shutil.rmtree(folder, ignore_errors=True)
        for path in self.store.temp_folder().glob(f"{job_id}-*"):
            path.unlink(missing_ok=True)
        target = job["output_target"]
        if target is not None and job["output"] is not None:
            location = locate(target, "output.url")
            if location.kind == "local":
                for path in leftovers(location.path, parse_output(loads(job["output"])).filename):
                    path.unlink(missing_ok=True)

    def recover(self, *, resume: bool = True) -> list[str]:
        """Find active jobs whose process died. With ``resume`` they are released for the next
        :meth:`run` to redo their current step; without, they fail. Leftover files are removed either
        way. Returns the ids."""
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT * FROM jobs WHERE owner IS NOT NULL AND state IN "
                                "('pending', 'importing', 'editing', 'exporting')").fetchall()
            orphans = [row for row in rows if not owner_alive(row["owner"])]
            sent = []
            for job in orphans:
                if resume:
                    conn.execute("UPDATE jobs SET owner = NULL WHERE id = ?", (job["id"],))
                    continue
                message = (f"interrupted: the process running it ({job['owner'].split('/')[0]}) stopped while the "
                           f"job was {job['state']}")
                conn.execute("UPDATE jobs SET state = 'failed', error = ?, owner = NULL, finished_at = ?, output = ? "
                             "WHERE id = ?", (message, self.store.now(), settle_output(job["output"], "failed"),
                                              job["id"]))
                failed = conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone()
                sent.append(self.notifier.record(conn, "job.failed", "job", job_object(conn, failed)))
        self.notifier.publish(sent)
        for job in orphans:
            self.clean_attempt(job["id"])
        self.store.sweep()
        return [job["id"] for job in orphans]


def _describe(error: Exception, state: str) -> str:
    """The job's ``error`` message, ``param: message``, the param relative to the job request."""
    if isinstance(error, TwistedWaveError):
        return str(error)
    if not isinstance(error, MixdownError):
        return f"internal error: {type(error).__name__}: {error}"
    if state == "importing":
        return f"document.url: {error.message}"
    if state == "editing":
        return f"edit: {error.message}"
    if isinstance(error, (TransferError, OutputError)):
        return f"output.url: {error.message}"
    if error.field in (None, "audio", "output", "path"):
        return f"output: {error.message}"
    return str(from_mixdown(error, "output"))
