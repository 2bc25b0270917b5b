"""Moving files in and out: a document's ``url`` to import, an output's ``url`` to deliver to.

A url is a local path, a ``file://`` URL, or an ``http(s)://`` URL. Downloads stream to a file with a
timeout and a size limit; local deliveries are written beside the target and renamed into place; http
deliveries are one multipart POST of the file (``exported_filename``) and, when asked, the job's note.
Only the standard library is used.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mixdown.api_compat.twistedwave.confine import Confinement, PrivateAddressError
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.errors import MixdownError, OutputError
from mixdown.formats import atomic_path

#: Defaults for downloads of document urls and for POSTs of outputs.
DOWNLOAD_TIMEOUT_S = 30.0
MAX_DOWNLOAD_BYTES = 2 * 1024**3
POST_TIMEOUT_S = 120.0
#: Tries of an output POST that fails on the server's side or the network's, and the first wait between.
POST_ATTEMPTS = 3
POST_BACKOFF_S = 0.5
_CHUNK = 1 << 16
USER_AGENT = "mixdown-twistedwave"


class TransferError(MixdownError):
    """A download or a delivery failed (the job fails with this message)."""


@dataclass(frozen=True)
class Location:
    """Where a url points: ``kind`` is ``"local"`` (``path`` set) or ``"http"`` (``url`` set)."""

    kind: str
    path: Path | None = None
    url: str | None = None

    @property
    def target(self) -> str:
        return str(self.path) if self.kind == "local" else str(self.url)


def locate(url: str, param: str, confinement: Confinement | None = None) -> Location:
    """Classify a url; a relative path is taken from the current folder. s3 and other schemes are refused.

    With a ``confinement``, a local path must lie inside its roots and an http host must be public (see
    :mod:`.confine`); the location then holds the path with its links followed."""
    if "\0" in url:
        raise TwistedWaveError("contains a NUL byte, which no path or URL may hold", param=param)
    location = _classify(url, param)
    if confinement is not None:
        if location.kind == "local":
            return Location("local", path=confinement.check_path(location.path, param))
        confinement.check_http(url, param)
    return location


def _open(request: urllib.request.Request, timeout: float, confinement: Confinement | None, param: str):
    """``urlopen``, with every redirect checked against the confinement when there is one."""
    if confinement is None:
        return urllib.request.urlopen(request, timeout=timeout)
    return confinement.opener(param).open(request, timeout=timeout)


def _classify(url: str, param: str) -> Location:
    parsed = urllib.parse.urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        if not parsed.netloc:
            raise TwistedWaveError(f"{url!r} has no host", param=param)
        return Location("http", url=url)
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise TwistedWaveError(f"{url!r} names another host; a file:// URL must be on this machine", param=param)
        return Location("local", path=Path(urllib.request.url2pathname(parsed.path)).absolute())
    if scheme == "s3":
        raise TwistedWaveError("s3:// URLs go through TwistedWave's servers; offline, give a local path, a "
                               "file:// URL or an http(s):// URL", param=param)
    if scheme and len(scheme) > 1:
        raise TwistedWaveError(f"unsupported URL scheme {scheme!r}; give a local path, a file:// URL or an "
                               "http(s):// URL", param=param)
    if not url:
        raise TwistedWaveError("is empty", param=param)
    return Location("local", path=Path(url).expanduser().absolute())


def fetch(url: str, folder: Path, prefix: str, *, timeout: float = DOWNLOAD_TIMEOUT_S,
          max_bytes: int = MAX_DOWNLOAD_BYTES, confinement: Confinement | None = None) -> Path:
    """Download ``url`` into a new file in ``folder`` (named ``prefix-...`` with the url's extension).

    Raises :class:`TransferError` for an HTTP error status, a network failure or timeout, or a body
    larger than ``max_bytes`` (by its Content-Length or as it arrives); nothing is left behind.
    """
    suffix = Path(urllib.parse.urlparse(url).path).suffix[:16]
    path = folder / f"{prefix}-{uuid.uuid4().hex}{suffix}"
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _open(request, timeout, confinement, "document.url") as response, open(path, "wb") as handle:
            stated = response.headers.get("Content-Length")
            if stated is not None and stated.isdigit() and int(stated) > max_bytes:
                raise TransferError(f"{url} is {int(stated)} bytes, over the {max_bytes}-byte limit", field="url")
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TransferError(f"{url} is over the {max_bytes}-byte limit", field="url")
                handle.write(chunk)
    except BaseException as error:
        path.unlink(missing_ok=True)
        if isinstance(error, TransferError):
            raise
        if isinstance(error, urllib.error.HTTPError):
            raise TransferError(f"cannot download {url}: HTTP {error.code} {error.reason}", field="url") from None
        if isinstance(error, (urllib.error.URLError, OSError)):
            reason = getattr(error, "reason", None) or error
            raise TransferError(f"cannot download {url}: {reason}", field="url") from None
        raise
    return path


def deliver_local(source: Path, target: Path, filename: str) -> Path:
    """Copy ``source`` to ``target`` (a folder means ``target / filename``) atomically; returns the path."""
    if target.is_dir():
        target = target / filename
    try:
        with atomic_path(target) as temp:
            shutil.copyfile(source, temp)
    except OSError as error:
        raise OutputError(f"cannot write {str(target)!r}: {error.strerror or error}", field="url") from None
    return target


def leftovers(target: Path, filename: str) -> list[Path]:
    """Temporary files a killed delivery to ``target`` may have left beside it."""
    if target.is_dir():
        target = target / filename
    if not target.parent.is_dir():
        return []
    return list(target.parent.glob(f".{target.name}.*.part{target.suffix}"))


def _multipart(path: Path, filename: str, note: str | None, boundary: str) -> tuple[list[bytes], int]:
    """The parts around the file's bytes, and the body's total length."""
    quoted = filename.replace('"', "%22")
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    head = b""
    if note is not None:
        head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n"
                 f"Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + note.encode() + b"\r\n"
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\n"
             f"Content-Type: {kind}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [head, tail], len(head) + os.path.getsize(path) + len(tail)


def post_file(url: str, path: Path, filename: str, note: str | None = None, *,
              timeout: float = POST_TIMEOUT_S, confinement: Confinement | None = None,
              attempts: int | None = None) -> int:
    """POST ``path`` as ``multipart/form-data`` (part ``file`` named ``filename``; part ``note`` when
    given), streamed from disk. Returns the HTTP status; raises :class:`TransferError` unless it is 2xx.

    A server error (5xx, 429) or a failed connection is tried again, ``attempts`` times in all (default
    :data:`POST_ATTEMPTS`), after :data:`POST_BACKOFF_S` seconds doubling each time; a 4xx answer is final."""
    tries = POST_ATTEMPTS if attempts is None else attempts
    for attempt in range(1, tries + 1):
        try:
            return _post_once(url, path, filename, note, timeout, confinement)
        except _RetryableError as error:
            if attempt == tries:
                raise TransferError(error.message, field="url") from None
            time.sleep(POST_BACKOFF_S * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


class _RetryableError(TransferError):
    """A delivery failure worth another try: the server or the network, not the request."""


def _post_once(url: str, path: Path, filename: str, note: str | None, timeout: float,
               confinement: Confinement | None) -> int:
    boundary = f"mixdown-{uuid.uuid4().hex}"
    (head, tail), length = _multipart(path, filename, note, boundary)

    def body() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
        yield tail

    request = urllib.request.Request(url, data=body(), method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
        "User-Agent": USER_AGENT,
    })
    try:
        with _open(request, timeout, confinement, "output.url") as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        failure = _RetryableError if error.code >= 500 or error.code == 429 else TransferError
        raise failure(f"POST to {url} answered HTTP {error.code} {error.reason}", field="url") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        failure = TransferError if isinstance(reason, PrivateAddressError) else _RetryableError
        raise failure(f"cannot POST to {url}: {reason}", field="url") from None
