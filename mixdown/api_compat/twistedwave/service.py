"""The TwistedWave API, offline: jobs and documents in a local store, replies in the document's shapes.

Every method answers what the matching endpoint would (a job object, a document object, a list page) or
raises :class:`~mixdown.api_compat.twistedwave.errors.TwistedWaveError`, whose ``body()`` is the error
reply. Documents whose ``ttl`` ran out are deleted (``document.expired``) before each call is answered.

Rules of "Create a new job", and where each is checked (:meth:`TwistedWave.create_job`):

* ``document`` with an ``id`` uses that document (unknown or deleted: refused); with a ``url`` imports it
  into a new one (not both); with neither, a new empty document. ``input`` (the older form) is a url to
  import, and may not come with ``document``.
* A job needs an ``edit`` or an ``output``; a new empty document needs an ``edit``.
* ``delete_document`` defaults to true when the output has a ``url``, else false; true without an output
  ``url`` is refused (the audio would be lost). A cancelled or failed job never deletes its document.
* An edit must be the only active job on its document: other active jobs refuse it unless
  ``cancel_other`` cancels them. An output-only job waits (``pending``) for the earlier ones.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.api_compat.twistedwave.errors import CONFLICT, NOT_FOUND, TwistedWaveError, from_mixdown
from mixdown.api_compat.twistedwave.models import parse_job
from mixdown.api_compat.twistedwave.notify import Callback, Notifier, Webhook
from mixdown.api_compat.twistedwave.replies import DEFAULT_LIMIT, MAX_LIMIT, document_object, job_object, page
from mixdown.api_compat.twistedwave.runner import TERMINAL, Runner, cancel_in, first_state
from mixdown.api_compat.twistedwave.store import Store, dumps, loads, owner_alive
from mixdown.api_compat.twistedwave.transfer import (
    DOWNLOAD_TIMEOUT_S,
    MAX_DOWNLOAD_BYTES,
    POST_TIMEOUT_S,
    locate,
)
from mixdown.errors import InvalidInputError
from mixdown.formats import atomic_path, parse_output

_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _token(doc_id: str) -> str:
    """The edit token, ``doc_6e2980285:hnpqhOBz4aj96YViQ4RS`` (offline nothing connects with it)."""
    return f"{doc_id}:" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(20))


def _probe(check: Callable[[], bool], param: str) -> bool:
    """``check()`` of a local url's path; a path the system refuses to look at (a name over 255 bytes) is
    the request's mistake."""
    try:
        return check()
    except OSError as error:
        raise TwistedWaveError(f"cannot be used: {error.strerror or error}", param=param) from None


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise TwistedWaveError(f"must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}", param="limit")
    return limit


class TwistedWave:
    """Jobs and documents in the store folder ``store``.

    Parameters
    ----------
    store
        A folder (created if needed); several processes may share it.
    webhook
        A URL (or a :class:`Webhook` with retry settings) that every notification is POSTed to.
    on_notification
        Called with each notification object in this process.
    clock
        Seconds since the epoch (tests move it to expire documents).
    download_timeout, max_download_bytes, post_timeout
        Limits for document urls and output POSTs.
    confinement
        The folders and hosts job urls may use (:mod:`.confine`); None confines nothing.
    create_store
        Make the store when ``store`` holds none (else that is a :class:`StoreError`).

    Examples
    --------
    >>> tw = TwistedWave("store")                                              # doctest: +SKIP
    >>> job = tw.submit({"document": {"url": "take.wav"}, "edit": {"max_duration": 0, "commands": [
    ...     {"command": "fade-in", "selection": [0, 4410]}]}, "output": {"format": "flac"}})
    >>> tw.download(job["id"], "take.flac")                                     # doctest: +SKIP
    """

    def __init__(self, store: str | Path | Store, *, webhook: str | Webhook | None = None,
                 on_notification: Callback | None = None, clock: Callable[[], float] = time.time,
                 download_timeout: float = DOWNLOAD_TIMEOUT_S, max_download_bytes: int = MAX_DOWNLOAD_BYTES,
                 post_timeout: float = POST_TIMEOUT_S, confinement: Confinement | None = None,
                 create_store: bool = True) -> None:
        self.store = store if isinstance(store, Store) else Store(store, clock=clock, create=create_store)
        if isinstance(webhook, str):
            webhook = Webhook(webhook)
        self.notifier = Notifier(self.store, webhook, [on_notification] if on_notification else [])
        self.runner = Runner(self.store, self.notifier, download_timeout=download_timeout,
                             max_download_bytes=max_download_bytes, post_timeout=post_timeout,
                             confinement=confinement)
        self.confinement = confinement

    def close(self) -> None:
        self.store.close()

    # --- jobs -----------------------------------------------------------------------------------------

    def create_job(self, body: Any) -> dict[str, Any]:
        """Validate and record a job (``POST /jobs``); returns the job object. It runs on :meth:`run_job`."""
        self.expire_documents()
        request, _ = parse_job(body)
        source_request, prefix = request.document, "document"
        if request.input is not None:
            if request.document is not None:
                raise TwistedWaveError("give an input to import or a document, not both", param="input")
            source_request, prefix = request.input, "input"
        existing = source_request.id if source_request is not None else None
        url = source_request.url if source_request is not None else None
        if existing is not None and url is not None:
            raise TwistedWaveError("give an existing document's id or a url to import, not both", param=f"{prefix}.url")
        source = None
        if url is not None:
            location = locate(url, f"{prefix}.url", self.confinement)
            if location.kind == "local" and not _probe(location.path.is_file, f"{prefix}.url"):
                raise TwistedWaveError(f"no such file: {str(location.path)!r}", param=f"{prefix}.url")
            source = location.target
        output, target = self._output(request.output, request.note)
        if request.edit is None and output is None:
            raise TwistedWaveError("a job needs an edit or an output; with neither it has nothing to do", param="edit")
        if request.edit is None and existing is None and source is None:
            raise TwistedWaveError("a new empty document needs an edit (give document.id or document.url to "
                                   "export an existing or imported one)", param="edit")
        has_url = output is not None and output.get("url") is not None
        delete_document = has_url if request.delete_document is None else request.delete_document
        if delete_document and not has_url:
            raise TwistedWaveError("deleting the document needs an output with a url, or the audio would be lost",
                                   param="delete_document")
        edit = dict(body["edit"]) if request.edit is not None else None
        now = self.store.now()
        cancelled: list[str] = []
        with self.store.transaction() as conn:
            if existing is not None:
                doc = conn.execute("SELECT * FROM documents WHERE id = ?", (existing,)).fetchone()
                if doc is None:
                    raise TwistedWaveError(f"no such document: {existing}", param=f"{prefix}.id", status=NOT_FOUND)
                if doc["deleted_at"] is not None:
                    raise TwistedWaveError(f"document {existing} was deleted", param=f"{prefix}.id", status=NOT_FOUND)
                doc_id = existing
                for name in ("title", "ttl"):
                    if getattr(source_request, name) is not None:
                        conn.execute(f"UPDATE documents SET {name} = ? WHERE id = ?",
                                     (getattr(source_request, name), doc_id))
            else:
                doc_id = self.store.insert_unique(conn, "documents", "doc_", 9, {
                    "title": source_request.title if source_request else None,
                    "ttl": source_request.ttl if source_request else None,
                    "created_at": self.store.stamp(), "edited_at": now})
            active = conn.execute("SELECT * FROM jobs WHERE doc_id = ? AND state IN "
                                  "('pending', 'importing', 'editing', 'exporting') ORDER BY seq", (doc_id,)).fetchall()
            if active and request.cancel_other:
                for other in active:
                    cancel_in(conn, other, now)
                    cancelled.append(other["id"])
            elif active and edit is not None:
                raise TwistedWaveError(
                    f"document {doc_id} has active jobs ({', '.join(row['id'] for row in active)}); an edit must be "
                    "the only active job: set cancel_other to cancel them", param="cancel_other", status=CONFLICT)
            if edit is not None:
                edit = {"token": _token(doc_id), **edit}
            values = {
                "doc_id": doc_id, "state": "pending", "request": dumps(body),
                "edit": dumps(edit) if edit is not None else None,
                "output": dumps(output) if output is not None else None,
                "note": request.note, "delete_document": int(delete_document), "import_source": source,
                "output_target": target, "created_at": self.store.stamp(),
            }
            job_id = self.store.insert_unique(conn, "jobs", "job_", 8, values)
            job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if not (active and not request.cancel_other):
                conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (first_state(job), job_id))
                job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            reply = job_object(conn, job)
        for other in cancelled:
            self._clean_if_idle(other)
        return reply

    def _output(self, given: dict[str, Any] | None, note: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """The output object as it will be echoed (``state`` first), and the resolved delivery target."""
        if given is None:
            return None, None
        output = {name: value for name, value in given.items() if name not in ("state", "file_size")}
        try:
            parse_output(output)
        except InvalidInputError as error:
            raise from_mixdown(error, "output") from None
        if "public" in output:
            raise TwistedWaveError("applies to s3 uploads, which go through TwistedWave's servers",
                                   param="output.public")
        target = None
        kind = None
        if output.get("url") is not None:
            location = locate(output["url"], "output.url", self.confinement)
            kind = location.kind
            if kind == "local" and not _probe(lambda: location.path.is_dir() or location.path.parent.is_dir(),
                                              "output.url"):
                raise TwistedWaveError(f"folder {str(location.path.parent)!r} does not exist", param="output.url")
            target = location.target
        if output.get("post_note") and kind != "http":
            raise TwistedWaveError("the note is posted with the file, which needs an http(s) url",
                                   param="output.post_note")
        return {"state": "pending", **output}, target

    def run_job(self, job_id: str, *, timeout: float | None = None,
                on_step: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Run a job (and the earlier jobs on its document nobody runs) to its end; returns the job object.

        A job whose process died is taken over and its current step redone (see :mod:`.runner`).
        ``on_step`` is told ``(steps done, steps)`` as the import, each edit command and the export end."""
        self.expire_documents()
        self.runner.run(job_id, timeout=timeout, on_step=on_step)
        return self.get_job(job_id)

    def submit(self, body: Any, *, timeout: float | None = None) -> dict[str, Any]:
        """:meth:`create_job` then :meth:`run_job`."""
        return self.run_job(self.create_job(body)["id"], timeout=timeout)

    def _job_row(self, conn: Any, job_id: str) -> Any:
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if job is None:
            raise TwistedWaveError(f"no such job: {job_id}", param="id", status=NOT_FOUND)
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        self.expire_documents()
        with self.store.snapshot() as conn:
            return job_object(conn, self._job_row(conn, job_id))

    def list_jobs(self, *, limit: int = DEFAULT_LIMIT, starting_after: str | None = None,
                  document: str | None = None) -> dict[str, Any]:
        """Newest first: ``{"has_more", "data"}``."""
        self.expire_documents()
        limit = check_limit(limit)
        with self.store.snapshot() as conn:
            where, args = [], []
            if document is not None:
                if conn.execute("SELECT 1 FROM documents WHERE id = ?", (document,)).fetchone() is None:
                    raise TwistedWaveError(f"no such document: {document}", param="document", status=NOT_FOUND)
                where.append("doc_id = ?")
                args.append(document)
            rows = self._page(conn, "jobs", "job", where, args, limit, starting_after)
            return page([job_object(conn, row) for row in rows[:limit]], len(rows) > limit)

    def _page(self, conn: Any, table: str, kind: str, where: list[str], args: list[Any], limit: int,
              starting_after: str | None) -> list[Any]:
        if starting_after is not None:
            cursor = conn.execute(f"SELECT seq FROM {table} WHERE id = ?", (starting_after,)).fetchone()
            if cursor is None:
                raise TwistedWaveError(f"no such {kind}: {starting_after}", param="starting_after",
                                       status=NOT_FOUND)
            where = [*where, "seq < ?"]
            args = [*args, cursor["seq"]]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return conn.execute(f"SELECT * FROM {table} {clause} ORDER BY seq DESC LIMIT ?", [*args, limit + 1]).fetchall()

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """Cancel an active job (its document is kept, whatever ``delete_document`` says). Cancelling a
        cancelled job answers it again; a completed or failed one cannot be cancelled."""
        self.expire_documents()
        with self.store.transaction() as conn:
            job = self._job_row(conn, job_id)
            if job["state"] in TERMINAL:
                if job["state"] == "cancelled":
                    return job_object(conn, job)
                raise TwistedWaveError(f"job {job_id} is {job['state']}; only an active job can be cancelled",
                                       param="id", status=CONFLICT)
            cancel_in(conn, job, self.store.now())
            reply = job_object(conn, self._job_row(conn, job_id))
        self._clean_if_idle(job_id, job["owner"])
        return reply

    def _clean_if_idle(self, job_id: str, owner: str | None = None) -> None:
        """Remove a cancelled job's files unless a live process still works on it (it cleans up itself)."""
        if owner is None:
            row = self.store.connection().execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
            owner = row["owner"] if row is not None else None
        if not owner_alive(owner):
            self.runner.clean_attempt(job_id)

    def download(self, job_id: str, target: str | Path) -> Path:
        """Copy the output kept with the document (an output without ``url``) to ``target`` (a folder means
        ``target / exported_filename``), atomically. Returns the path written."""
        self.expire_documents()
        with self.store.snapshot() as conn:
            job = self._job_row(conn, job_id)
            doc = conn.execute("SELECT * FROM documents WHERE id = ?", (job["doc_id"],)).fetchone()
        output = loads(job["output"])
        if output is None:
            raise TwistedWaveError(f"job {job_id} has no output", param="id", status=NOT_FOUND)
        if output.get("url") is not None:
            raise TwistedWaveError(f"job {job_id} sent its output to {output['url']}; only an output without a url "
                                   "is kept for download", param="id", status=NOT_FOUND)
        if doc["deleted_at"] is not None:
            raise TwistedWaveError(f"document {doc['id']} was deleted, and the outputs kept with it", param="id",
                                   status=NOT_FOUND)
        if output["state"] != "completed" or job["kept_file"] is None:
            raise TwistedWaveError(f"job {job_id}'s output is {output['state']}; there is nothing to download",
                                   param="id", status=NOT_FOUND if output["state"] == "skipped" else CONFLICT)
        source = self.store.output_folder(job_id) / job["kept_file"]
        target = Path(target)
        if target.is_dir():
            target = target / job["kept_file"]
        with atomic_path(target) as temp:
            shutil.copyfile(source, temp)
        return target

    # --- documents ------------------------------------------------------------------------------------

    def _document_row(self, conn: Any, doc_id: str) -> Any:
        doc = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if doc is None:
            raise TwistedWaveError(f"no such document: {doc_id}", param="id", status=NOT_FOUND)
        return doc

    def get_document(self, doc_id: str) -> dict[str, Any]:
        self.expire_documents()
        with self.store.snapshot() as conn:
            return document_object(conn, self._document_row(conn, doc_id))

    def list_documents(self, *, limit: int = DEFAULT_LIMIT, starting_after: str | None = None,
                       include_deleted: bool = False) -> dict[str, Any]:
        """Newest first: ``{"has_more", "data"}``; deleted documents only with ``include_deleted``."""
        self.expire_documents()
        limit = check_limit(limit)
        with self.store.snapshot() as conn:
            where = [] if include_deleted else ["deleted_at IS NULL"]
            rows = self._page(conn, "documents", "document", where, [], limit, starting_after)
            return page([document_object(conn, row) for row in rows[:limit]], len(rows) > limit)

    def delete_document(self, doc_id: str) -> dict[str, Any]:
        """Delete a document, its audio and the outputs kept with it; its active jobs are cancelled.
        Deleting a deleted document answers it again."""
        self.expire_documents()
        with self.store.transaction() as conn:
            doc = self._document_row(conn, doc_id)
            if doc["deleted_at"] is not None:
                return document_object(conn, doc)
            active = conn.execute("SELECT * FROM jobs WHERE doc_id = ? AND state IN "
                                  "('pending', 'importing', 'editing', 'exporting')", (doc_id,)).fetchall()
            for job in active:
                cancel_in(conn, job, self.store.now())
            conn.execute("UPDATE documents SET deleted_at = ? WHERE id = ?", (self.store.stamp(), doc_id))
            reply = document_object(conn, self._document_row(conn, doc_id))
        self.store.remove_document_files(doc_id, self.runner.job_ids(doc_id))
        return reply

    def expire_documents(self) -> list[dict[str, Any]]:
        """Delete the documents last edited ``ttl`` seconds ago or more (and not in use by an active job),
        notifying ``document.expired`` for each. Returns their document objects."""
        now = self.store.now()
        conn = self.store.connection()
        due = conn.execute("SELECT id FROM documents WHERE deleted_at IS NULL AND ttl IS NOT NULL AND "
                           "edited_at + ttl <= ?", (now,)).fetchall()
        if not due:
            return []
        expired, sent = [], []
        with self.store.transaction() as conn:
            for row in due:
                doc = conn.execute("SELECT * FROM documents WHERE id = ?", (row["id"],)).fetchone()
                if doc["deleted_at"] is not None or doc["edited_at"] + doc["ttl"] > now:
                    continue
                busy = conn.execute("SELECT COUNT(*) FROM jobs WHERE doc_id = ? AND state IN "
                                    "('pending', 'importing', 'editing', 'exporting')", (doc["id"],)).fetchone()[0]
                if busy:
                    continue
                conn.execute("UPDATE documents SET deleted_at = ? WHERE id = ?", (self.store.stamp(), doc["id"]))
                obj = document_object(conn, self._document_row(conn, doc["id"]))
                expired.append(obj)
                sent.append(self.notifier.record(conn, "document.expired", "document", obj))
        for obj in expired:
            self.store.remove_document_files(obj["id"], self.runner.job_ids(obj["id"]))
        self.notifier.publish(sent)
        if sent:
            self.notifier.deliver_soon()
        return expired

    # --- notifications and recovery -------------------------------------------------------------------

    def deliver_notifications(self, *, wait: bool = True) -> int:
        """Send the webhook notifications that are due, in this thread (see :class:`Notifier.deliver`).

        Jobs deliver their notifications in the background by themselves; this is for a process that
        wants to send what is left before it exits."""
        return self.notifier.deliver(wait=wait)

    def wait_for_notifications(self, timeout: float | None = None) -> bool:
        """Wait for the background delivery of notifications (retries included) to end."""
        return self.notifier.wait(timeout)

    def recover(self, *, resume: bool = True) -> list[str]:
        """Handle jobs left active by a process that died (see :meth:`Runner.recover`)."""
        return self.runner.recover(resume=resume)

