"""An ASGI middleware that refuses a body larger than its limit before the app reads it whole.

A stated ``Content-Length`` over the limit is answered 413 at once; a body sent without one (chunked) is
counted as it arrives and the request fails with :class:`BodyTooLarge` (answered 413) once it passes the
limit. Uploads are limited by ``--max-upload``, every other body by :data:`~mixdown.server.config.MAX_JSON_BODY`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

from mixdown.server.errors import body_for

Scope = dict[str, Any]


class BodyTooLarge(HTTPException):
    """An HTTP exception, so that the framework's body parsers pass it on as it is."""

    field = "body"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the {limit}-byte limit")


class BodyLimit:
    def __init__(self, app: Any, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        stated = dict(scope.get("headers") or []).get(b"content-length")
        if stated is not None and (not stated.isdigit() or int(stated) > limit):
            status, message = (413, BodyTooLarge(limit).detail) if stated.isdigit() else (400, "bad Content-Length")
            body = json.dumps(body_for(scope["path"], status, message, "body")).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
