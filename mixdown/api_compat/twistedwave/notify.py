"""Notifications: ``edit.completed``, ``job.completed``, ``job.failed``, ``document.expired``.

Each is the document's notification object (``{"type", "job"}`` or ``{"type", "document"}``), given to
the Python callbacks in this process once the change it reports is committed, and POSTed as JSON to the
configured webhook. Webhook notifications go through an outbox table written in the same transaction as
the change, so none is lost when a process dies before sending it: whichever process delivers next picks
it up. A delivery succeeds on a 2xx answer; otherwise it is retried with exponential backoff
(``backoff * factor ** (attempt - 1)``, at most ``max_delay``) until ``attempts`` tries were made.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mixdown.api_compat.twistedwave.store import Store, dumps
from mixdown.api_compat.twistedwave.transfer import USER_AGENT

log = logging.getLogger(__name__)

Callback = Callable[[dict[str, Any]], None]

#: How long a process may hold a notification it is delivering before another may try it.
CLAIM_S = 60.0


@dataclass(frozen=True)
class Webhook:
    """Where notifications are POSTed, and how hard to try.

    The document's service retries up to 20 times over three days; an offline tool runs for minutes, so
    the defaults are 6 tries over about 15 s. Every figure can be raised.
    """

    url: str
    attempts: int = 6
    backoff: float = 0.5
    factor: float = 2.0
    max_delay: float = 60.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return min(self.max_delay, self.backoff * self.factor ** (attempt - 1))


class Notifier:
    """Records notifications with the change they report and hands them out once it is committed."""

    def __init__(self, store: Store, webhook: Webhook | None = None, callbacks: list[Callback] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.webhook = webhook
        self.callbacks = list(callbacks or [])
        self.sleep = sleep
        #: Deliver from a thread of this process (a long-lived one); a command line process hands the outbox
        #: to a process of its own instead (:func:`deliver_detached`), so it can exit at once.
        self.background = True
        self._thread: threading.Thread | None = None
        self._wanted = False
        self._lock = threading.Lock()

    def deliver_soon(self) -> None:
        """Send what is due, with its retries, from a background thread: the caller never waits for a
        webhook. One thread per notifier; it ends when nothing is left to try."""
        if self.webhook is None or not self.background:
            return
        with self._lock:
            self._wanted = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._deliver_while_wanted, name="mixdown-webhook", daemon=True)
            self._thread.start()

    def _deliver_while_wanted(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    return
                self._wanted = False
            try:
                self.deliver(wait=True)
            except Exception:  # a broken store must not kill the process from a background thread
                log.exception("webhook delivery failed")
            finally:
                self.store.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background delivery to end; whether it did within ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def undelivered(self) -> int:
        """How many notifications still have tries left."""
        return self.store.connection().execute(
            "SELECT COUNT(*) FROM notifications WHERE delivered_at IS NULL AND given_up = 0").fetchone()[0]

    def record(self, conn: sqlite3.Connection, kind: str, subject: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Inside the transaction that makes the change: queue the webhook delivery; returns the object."""
        notification = {"type": kind, subject: obj}
        if self.webhook is not None:
            conn.execute("INSERT INTO notifications (url, body, next_attempt) VALUES (?, ?, ?)",
                         (self.webhook.url, dumps(notification), self.store.now()))
        return notification

    def publish(self, notifications: list[dict[str, Any]]) -> None:
        """After the commit: call the callbacks (a failing callback is logged, never fails the job)."""
        for notification in notifications:
            for callback in self.callbacks:
                try:
                    callback(notification)
                except Exception:
                    log.exception("notification callback failed for %s", notification["type"])

    # --- webhook ------------------------------------------------------------------------------------

    def _claim(self) -> list[sqlite3.Row]:
        now = self.store.now()
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM notifications WHERE delivered_at IS NULL AND given_up = 0 AND next_attempt <= ? "
                "AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY seq", (now, now)).fetchall()
            conn.executemany("UPDATE notifications SET claimed_until = ? WHERE seq = ?",
                             [(now + CLAIM_S, row["seq"]) for row in rows])
        return rows

    def _post(self, row: sqlite3.Row, timeout: float) -> str | None:
        """One try; the failure's description, or None when the endpoint answered 2xx."""
        request = urllib.request.Request(row["url"], data=row["body"].encode(), method="POST", headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            return str(getattr(error, "reason", None) or error)

    def _settle(self, row: sqlite3.Row, failure: str | None) -> None:
        webhook = self.webhook
        attempts = row["attempts"] + 1
        now = self.store.now()
        with self.store.transaction() as conn:
            if failure is None:
                conn.execute("UPDATE notifications SET attempts = ?, delivered_at = ?, claimed_until = NULL, "
                             "last_error = NULL WHERE seq = ?", (attempts, now, row["seq"]))
            elif attempts >= webhook.attempts:
                log.warning("gave up notifying %s after %d tries: %s", row["url"], attempts, failure)
                conn.execute("UPDATE notifications SET attempts = ?, given_up = 1, claimed_until = NULL, "
                             "last_error = ? WHERE seq = ?", (attempts, failure, row["seq"]))
            else:
                conn.execute("UPDATE notifications SET attempts = ?, next_attempt = ?, claimed_until = NULL, "
                             "last_error = ? WHERE seq = ?", (attempts, now + webhook.delay(attempts), failure,
                                                              row["seq"]))

    def deliver(self, *, wait: bool = True) -> int:
        """Send what is due; with ``wait``, keep going (sleeping through the backoff) until nothing is left
        to try. Returns how many notifications were delivered."""
        if self.webhook is None:
            return 0
        delivered = 0
        while True:
            for row in self._claim():
                failure = self._post(row, self.webhook.timeout)
                self._settle(row, failure)
                delivered += failure is None
            if not wait:
                return delivered
            conn = self.store.connection()
            upcoming = conn.execute("SELECT MIN(next_attempt) FROM notifications WHERE delivered_at IS NULL "
                                    "AND given_up = 0 AND (claimed_until IS NULL OR claimed_until < ?)",
                                    (self.store.now(),)).fetchone()[0]
            if upcoming is None:
                return delivered
            self.sleep(max(0.0, upcoming - self.store.now()))

    def deliver_detached(self) -> None:
        """Hand what is left in the outbox to a new process of its own (it retries with backoff, then exits),
        so that a command line process need not wait for a slow or failing webhook."""
        if self.webhook is None or not self.undelivered():
            return
        w = self.webhook
        subprocess.Popen(
            [sys.executable, "-m", "mixdown.api_compat.twistedwave.deliver", str(self.store.folder), w.url,
             str(w.attempts), str(w.backoff), str(w.factor), str(w.max_delay), str(w.timeout)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            close_fds=True)

    def pending(self) -> list[dict[str, Any]]:
        """The outbox: every webhook notification with its tries, for inspection."""
        rows = self.store.connection().execute("SELECT * FROM notifications ORDER BY seq").fetchall()
        return [{"type": json.loads(row["body"])["type"], "url": row["url"], "attempts": row["attempts"],
                 "delivered": row["delivered_at"] is not None, "given_up": bool(row["given_up"]),
                 "last_error": row["last_error"]} for row in rows]

