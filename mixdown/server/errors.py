"""Every error a route can meet, answered in the shape of the platform whose prefix the path is under.

Routes raise the adapters' own errors (:class:`TwoShotError`, :class:`TwistedWaveError`,
:class:`SongclipFailError`) or the neutral :class:`ApiError`; the framework's own refusals (an unknown
route, a wrong method, a query parameter of the wrong type) and anything unexpected are translated here
too, so a client never sees a traceback or another platform's shape. An unexpected error is logged with
its traceback on the server and answered 500 with a one-line message.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mixdown.api_compat.songclip.clips import SongclipFailError, error, fail
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.errors import MixdownError

log = logging.getLogger("mixdown.server")

PREFIXES = ("twoshot", "twistedwave", "songclip")
_TWOSHOT_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                  409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR"}


class ApiError(Exception):
    """A refusal any platform can answer: ``status``, a message, and the field it is about."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers


def platform_of(path: str) -> str | None:
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in PREFIXES else None


def api_path(path: str) -> str:
    """The path as the platform's own API would see it (without the local prefix)."""
    platform = platform_of(path)
    return path[len(platform) + 1:] or "/" if platform else path


def body_for(path: str, status: int, message: str, field: str | None) -> dict[str, Any]:
    """The error body the platform under ``path`` answers with."""
    platform = platform_of(path)
    if platform == "twistedwave":
        return TwistedWaveError(message, param=field, status=status).body()
    if platform == "songclip":
        if status in (400, 404, 409, 413):
            return fail({field or "request": message})
        return error(message)
    code = _TWOSHOT_CODES.get(status, "VALIDATION_ERROR" if status < 500 else "INTERNAL_ERROR")
    return TwoShotError(code, message, field=field).body(api_path(path))


def respond(request: Request, status: int, message: str, field: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body_for(request.url.path, status, message, field), status_code=status, headers=headers)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return respond(request, exc.status, exc.message, exc.field, exc.headers)


async def _twoshot(request: Request, exc: TwoShotError) -> JSONResponse:
    return JSONResponse(exc.body(api_path(request.url.path)), status_code=exc.status)


async def _twistedwave(request: Request, exc: TwistedWaveError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _songclip(request: Request, exc: SongclipFailError) -> JSONResponse:
    return JSONResponse(fail(exc.data), status_code=400)


async def _mixdown(request: Request, exc: MixdownError) -> JSONResponse:
    status = 400 if exc.exit_code == 2 else 500
    if status == 500:
        log.error("failed: %s %s: %s", request.method, request.url.path, exc)
    return respond(request, status, exc.message, exc.field)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    messages = {404: f"no such endpoint: {request.method} {api_path(request.url.path)}",
                405: f"{request.method} is not allowed on {api_path(request.url.path)}"}
    return respond(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)),
                   getattr(exc, "field", None), getattr(exc, "headers", None))


def _loc(location: tuple) -> str | None:
    parts = [str(p) for p in location if p not in ("query", "path", "body", "header", "form")]
    return ".".join(parts) or None


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    field = _loc(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return respond(request, 400, message, field)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return respond(request, 500, f"internal error ({type(exc).__name__})", None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(TwoShotError, _twoshot)
    app.add_exception_handler(TwistedWaveError, _twistedwave)
    app.add_exception_handler(SongclipFailError, _songclip)
    app.add_exception_handler(MixdownError, _mixdown)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
