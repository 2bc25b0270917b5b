"""Confinement of job urls: which local folders a job may read and write, and which http hosts it may reach.

A job body from someone else (a server's client, a batch manifest from elsewhere) must not read any file
the process can read, overwrite any file it can write, POST a file to a service on the local network, or
learn what exists outside its folders from the errors it gets back. A :class:`Confinement` says:

* ``roots``: local paths (plain or ``file://``) must lie inside one of these folders once every symbolic
  link is followed; anything else is refused with one message that is the same whether the path exists,
  is a link, a loop or nothing at all;
* ``allow_private_http``: unless true, an http(s) url whose host is or resolves to a loopback, private,
  link-local or otherwise non-public address is refused, and so is a redirect to one.

``None`` (the command line's default) confines nothing: a user's own jobs may name any file.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mixdown.api_compat.twistedwave.errors import TwistedWaveError

OUTSIDE = "is outside the folders jobs may use"


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Confinement:
    roots: tuple[Path, ...] = ()
    allow_private_http: bool = False

    @classmethod
    def of(cls, roots: list[str | os.PathLike[str]] | tuple = (), *, allow_private_http: bool = False) -> Confinement:
        """Roots as given (``~`` expanded, links followed); a root that is not a folder is still a root."""
        return cls(tuple(Path(root).expanduser().resolve() for root in roots), allow_private_http)

    def check_path(self, path: Path, param: str) -> Path:
        """``path`` with its links followed, if that lies inside a root; else the one refusal."""
        if "\0" in str(path):
            raise TwistedWaveError("contains a NUL character", param=param)
        try:
            real = Path(path).absolute().resolve()
        except (OSError, RuntimeError, ValueError):
            raise TwistedWaveError(OUTSIDE, param=param) from None
        if not any(real.is_relative_to(root) for root in self.roots):
            raise TwistedWaveError(OUTSIDE, param=param)
        return real

    def check_http(self, url: str, param: str) -> None:
        """Refuse a url whose host is, or resolves to, a non-public address (unless those are allowed)."""
        if self.allow_private_http:
            return
        parsed = urllib.parse.urlparse(url)
        host = parsed.hostname
        if not host:
            raise TwistedWaveError(f"{url!r} has no host", param=param)
        try:
            port = parsed.port or (443 if parsed.scheme.lower() == "https" else 80)
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except (OSError, ValueError, UnicodeError):
            raise TwistedWaveError(f"cannot resolve the host {host!r}", param=param) from None
        if not addresses or not all(_public(address) for address in addresses):
            raise TwistedWaveError(f"the host {host!r} is a loopback or private-network address; such targets are "
                                   "refused unless explicitly allowed (--allow-private-http)", param=param)

    def opener(self, param: str) -> urllib.request.OpenerDirector:
        """A urllib opener that checks every redirect's target as it checked the url."""
        confinement = self

        class Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                try:
                    confinement.check_http(newurl, param)
                except TwistedWaveError as refused:
                    raise urllib.error.URLError(f"redirected to a refused target: {refused.message}") from None
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        return urllib.request.build_opener(Redirects)
