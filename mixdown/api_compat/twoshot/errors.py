"""TwoShot's error body: ``{"error", "code", "details": {"field", "message"}, "timestamp", "path"}``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mixdown.errors import MixdownError

if TYPE_CHECKING:  # pydantic loads with the models that raise its errors, not with every command
    from pydantic import ValidationError

#: Codes the adapter answers with, and the HTTP status each stands for.
STATUS = {"VALIDATION_ERROR": 400, "NOT_FOUND": 404, "INTERNAL_ERROR": 500, "UNAUTHORIZED": 401,
          "METHOD_NOT_ALLOWED": 405, "CONFLICT": 409, "PAYLOAD_TOO_LARGE": 413, "RATE_LIMITED": 429}
SUMMARY = {
    "VALIDATION_ERROR": "Invalid request parameters",
    "NOT_FOUND": "Resource not found",
    "INTERNAL_ERROR": "Internal server error",
    "UNAUTHORIZED": "Unauthorized",
    "METHOD_NOT_ALLOWED": "Method not allowed",
    "CONFLICT": "Conflict",
    "PAYLOAD_TOO_LARGE": "Request too large",
    "RATE_LIMITED": "Rate limited",
}


class TwoShotError(MixdownError):
    """An error the adapter reports in TwoShot's shape."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
        self.status = STATUS[code]
        self.exit_code = 1 if self.status >= 500 else 2

    def body(self, path: str = "/project/render") -> dict:
        return {
            "error": SUMMARY[self.code],
            "code": self.code,
            "details": {"field": self.field, "message": self.message},
            "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "path": path,
        }


def field_path(location: tuple) -> str:
    """``("tracks", 2, "clips", 5, "speed")`` -> ``"tracks[2].clips[5].speed"``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def from_validation(error: ValidationError, document: Any = ...) -> TwoShotError:
    """The first failure of a pydantic validation of ``document``, as a VALIDATION_ERROR naming its field
    path in the document (union member tags such as ``.str`` are not part of it)."""
    from mixdown.api_compat.fields import problems

    location, message = problems(error, document)[0]
    return TwoShotError("VALIDATION_ERROR", message, field=field_path(location) or None)


def from_mixdown(error: MixdownError, field: str | None = None) -> TwoShotError:
    """An engine or formats error in TwoShot's shape; bad input is a VALIDATION_ERROR."""
    if isinstance(error, TwoShotError):
        return error
    code = "VALIDATION_ERROR" if error.exit_code == 2 else "INTERNAL_ERROR"
    return TwoShotError(code, error.message, field=field or error.field)
