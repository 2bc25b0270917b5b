"""The document's reply shapes: the job object, the document object, a list page, a notification."""

from __future__ import annotations

import sqlite3
from typing import Any

from mixdown.api_compat.twistedwave.store import loads

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

#: What a document holds before anything was imported into it: the document's create reply shows these.
EMPTY_CHANNELS = 2
EMPTY_SAMPLE_RATE = 44_100


def head(conn: sqlite3.Connection, doc: sqlite3.Row) -> sqlite3.Row | None:
    """The document's current undo state (None for a document with nothing in it yet)."""
    return conn.execute("SELECT * FROM history WHERE doc_id = ? AND position = ?",
                        (doc["id"], doc["position"])).fetchone()


def document_object(conn: sqlite3.Connection, doc: sqlite3.Row) -> dict[str, Any]:
    """``id``, ``title`` (when titled), ``ttl`` (when set), ``channels``, ``duration`` (s), ``sample_rate``
    (a float, as the document writes it), ``markers`` (when there are any), ``created_at``, ``deleted_at``
    (when deleted)."""
    state = head(conn, doc)
    reply: dict[str, Any] = {"id": doc["id"]}
    if doc["title"] is not None:
        reply["title"] = doc["title"]
    if doc["ttl"] is not None:
        reply["ttl"] = doc["ttl"]
    if state is None:
        reply.update(channels=EMPTY_CHANNELS, duration=0, sample_rate=float(EMPTY_SAMPLE_RATE))
    else:
        reply.update(channels=state["channels"], duration=state["frames"] / state["sample_rate"],
                     sample_rate=float(state["sample_rate"]))
        markers = loads(state["markers"])
        if markers:
            reply["markers"] = markers
    reply["created_at"] = doc["created_at"]
    if doc["deleted_at"] is not None:
        reply["deleted_at"] = doc["deleted_at"]
    return reply


def job_object(conn: sqlite3.Connection, job: sqlite3.Row) -> dict[str, Any]:
    """``id``, ``state``, ``error`` (when failed), ``note`` (when given), ``document``, ``edit`` and ``output``
    (when the job has them), ``delete_document``."""
    doc = conn.execute("SELECT * FROM documents WHERE id = ?", (job["doc_id"],)).fetchone()
    reply: dict[str, Any] = {"id": job["id"], "state": job["state"]}
    if job["error"] is not None:
        reply["error"] = job["error"]
    if job["note"] is not None:
        reply["note"] = job["note"]
    reply["document"] = document_object(conn, doc)
    if job["edit"] is not None:
        reply["edit"] = loads(job["edit"])
    if job["output"] is not None:
        reply["output"] = loads(job["output"])
    reply["delete_document"] = bool(job["delete_document"])
    return reply


def page(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"has_more": has_more, "data": data}
