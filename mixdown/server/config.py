"""What a server is started with: its home folder, keys, workers, limits and TwistedWave confinement."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from mixdown.errors import InvalidInputError
from mixdown.frames import DEFAULT_MAX_DURATION_S

#: Upload and body limits (bytes): an upload streams to disk up to ``max_upload``; a JSON body is read whole.
DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024
MAX_JSON_BODY = 16 * 1024 * 1024
#: Renders waiting or running at once; past it a request is answered 429 instead of queued.
DEFAULT_MAX_PENDING = 1024


def default_home() -> Path:
    home = os.environ.get("MIXDOWN_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "mixdown"


def read_keys(path: str | os.PathLike[str]) -> frozenset[str]:
    """API keys, one a line; blank lines and ``#`` comments are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"cannot read the key file: {getattr(error, 'strerror', None) or error}",
                                field="--keys") from None
    keys = frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise InvalidInputError("the key file holds no key", field="--keys")
    return keys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``mixdown serve`` takes; :func:`mixdown.server.create_app` builds the app from it."""

    home: Path = field(default_factory=default_home)
    keys: frozenset[str] = frozenset()
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    scheduler: str | None = None
    webhook: str | None = None
    allow_roots: tuple[Path, ...] = ()
    allow_private_http: bool = False
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_pending: int = DEFAULT_MAX_PENDING
    max_duration: float = DEFAULT_MAX_DURATION_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().absolute())
        if self.workers < 1:
            raise InvalidInputError(f"must be at least 1, got {self.workers}", field="--workers")
        if self.max_pending < 1:
            raise InvalidInputError(f"must be at least 1, got {self.max_pending}", field="--queue")
        if not self.max_duration >= 0 or self.max_duration == float("inf"):
            raise InvalidInputError(f"must be a finite number of seconds >= 0, got {self.max_duration}",
                                    field="--max-duration")
        if self.max_upload < 1:
            raise InvalidInputError(f"must be at least 1, got {self.max_upload}", field="--max-upload")

    def check_bind(self, host: str) -> None:
        """With no keys the server is open, so it may only listen on loopback."""
        if not self.keys and not is_loopback(host):
            raise InvalidInputError(f"refusing to listen on {host!r} with no API keys: give --keys FILE, or "
                                    "listen on 127.0.0.1", field="--host")
