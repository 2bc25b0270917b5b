"""Confinement of job urls: which local folders a job may read and write, and which http hosts it may reach.

A job body from someone else (a server's client, a batch manifest from elsewhere) must not read any file
the process can read, overwrite any file it can write, POST a file to a service on the local network, or
learn what exists outside its folders from the errors it gets back. A :class:`Confinement` says:

* ``roots``: local paths (plain or ``file://``) must lie inside one of these folders once every symbolic
  link is followed; anything else is refused with one message that is the same whether the path exists,
  is a link, a loop or nothing at all;
* ``allow_private_http``: unless true, an http(s) url whose host is or resolves to a loopback, private,
  link-local or otherwise non-public address is refused, and so is a redirect to one. The check is made
  again when the connection opens, on the very addresses it connects to: a name that resolves to a public
  address when the job is created and to a private one a moment later (DNS rebinding) reaches nothing.
  Proxies from the environment are not used for such connections, since a proxy would resolve the name
  itself.

``None`` (the command line's default) confines nothing: a user's own jobs may name any file.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import os
import socket
import ssl
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


class PrivateAddressError(OSError):
    """A connection that would reach a loopback or private-network address."""


def _private_target(host: str) -> str:
    return (f"the host {host!r} is a loopback or private-network address; such targets are refused unless "
            "explicitly allowed (--allow-private-http)")


def _public_addresses(host: str, port: int) -> list[tuple]:
    """``getaddrinfo``'s answers for ``host``, all of them public, or :class:`PrivateAddressError`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos or not all(_public(info[4][0]) for info in infos):
        raise PrivateAddressError(_private_target(host))
    return infos


def connect_public(host: str, port: int, timeout: float | None, source_address: tuple | None = None) -> socket.socket:
    """A TCP connection to ``host`` made only to addresses checked to be public in this very call.

    Every address the name resolves to must be public (as :meth:`Confinement.check_http` requires); the
    socket then connects to one of those numbers, so no second lookup can send it elsewhere."""
    try:
        infos = _public_addresses(host, port)
    except (UnicodeError, ValueError) as error:
        raise OSError(f"cannot resolve the host {host!r}: {error}") from None
    failure: OSError | None = None
    for *_, address in infos:
        try:
            return socket.create_connection(address[:2], timeout, source_address)
        except OSError as error:
            failure = error
    raise failure or OSError(f"cannot connect to {host!r}")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = connect_public(self.host, self.port, self.timeout, self.source_address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PublicHTTPSConnection(http.client.HTTPSConnection, _PublicHTTPConnection):
    """TLS over :class:`_PublicHTTPConnection`: ``HTTPSConnection.connect`` opens its socket through the
    public-only ``connect`` above, then wraps it, still verifying the certificate against the host name."""


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self) -> None:
        super().__init__()
        self.tls = ssl.create_default_context()

    def https_open(self, req):
        return self.do_open(functools.partial(_PublicHTTPSConnection, context=self.tls), req)


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
            _public_addresses(host, parsed.port or (443 if parsed.scheme.lower() == "https" else 80))
        except PrivateAddressError as refused:
            raise TwistedWaveError(str(refused), param=param) from None
        except (OSError, ValueError, UnicodeError):
            raise TwistedWaveError(f"cannot resolve the host {host!r}", param=param) from None

    def opener(self, param: str) -> urllib.request.OpenerDirector:
        """A urllib opener that checks every redirect's target as it checked the url and, unless private
        hosts are allowed, connects only to addresses it has checked (no environment proxies)."""
        confinement = self

        class Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                try:
                    confinement.check_http(newurl, param)
                except TwistedWaveError as refused:
                    raise urllib.error.URLError(f"redirected to a refused target: {refused.message}") from None
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        if self.allow_private_http:
            return urllib.request.build_opener(Redirects)
        return urllib.request.build_opener(Redirects, urllib.request.ProxyHandler({}), _PublicHTTPHandler,
                                           _PublicHTTPSHandler)
