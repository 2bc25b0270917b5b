"""API keys as each platform's documents send them, checked against the server's local list.

Accepted: ``Authorization: Bearer KEY`` (TwoShot, TwistedWave, Songclip), ``Authorization: Basic`` with the
key as user name (TwistedWave's ``curl -u KEY:``), ``X-API-Key: KEY`` (TwoShot) and ``apikey: KEY``
(Songclip). With no keys configured every request is let in (the server then listens on loopback only).
"""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from mixdown.server.errors import ApiError, platform_of

_CHALLENGE = {"twistedwave": 'Basic realm="twistedwave", Bearer', "twoshot": "Bearer", "songclip": "Bearer"}


def presented(request: Request) -> list[str]:
    """Every key the request carries, in any of the accepted headers."""
    keys = []
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        keys.append(value)
    elif scheme.lower() == "basic" and value:
        try:
            user = base64.b64decode(value, validate=True).decode("utf-8").split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            keys.append(user)
    for header in ("x-api-key", "apikey"):
        if request.headers.get(header):
            keys.append(request.headers[header].strip())
    return keys


def _known(key: str, keys: frozenset[str]) -> bool:
    encoded = key.encode("utf-8", "surrogateescape")
    return any(hmac.compare_digest(encoded, known.encode()) for known in keys)


async def require_key(request: Request) -> None:
    """A route dependency: 401 in the platform's shape unless a configured key was given."""
    keys: frozenset[str] = request.app.state.config.keys
    if not keys:
        return
    given = presented(request)
    if any(_known(key, keys) for key in given):
        return
    platform = platform_of(request.url.path) or "twoshot"
    if platform == "songclip" and not given:
        message = "apikey parameter is missing"
    else:
        message = "invalid API key" if given else "missing API key"
    raise ApiError(401, message, "authorization", headers={"WWW-Authenticate": _CHALLENGE[platform]})
