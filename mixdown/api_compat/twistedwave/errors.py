"""TwistedWave's error body, ``{"error": {"message", "param"}}``, and the conversions into it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mixdown.errors import MixdownError

if TYPE_CHECKING:  # pydantic loads with the models that raise its errors, not with every command
    from pydantic import ValidationError

#: HTTP status each kind of refusal stands for (TwistedWave answers over HTTP; mixdown keeps the figure
#: for callers that serve the API).
BAD_REQUEST = 400
NOT_FOUND = 404
CONFLICT = 409


class TwistedWaveError(MixdownError):
    """A refused request: bad input, an unknown id, or an action the job's state does not allow.

    ``param`` is the attribute path the error is about (``document.url``, ``edit.commands[2].selection``,
    ``limit``), or None when the request as a whole is refused.
    """

    exit_code = 2

    def __init__(self, message: str, *, param: str | None = None, status: int = BAD_REQUEST) -> None:
        super().__init__(message, field=param)
        self.param = param
        self.status = status

    def body(self) -> dict[str, Any]:
        """The reply TwistedWave sends for this error."""
        return {"error": {"message": self.message, "param": self.param}}


def param_path(location: tuple, prefix: str | None = None) -> str | None:
    """``("edit", "commands", 2, "selection")`` -> ``"edit.commands[2].selection"``."""
    text = prefix or ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or None


_MESSAGES = {"missing": "is required", "extra_forbidden": "is not an attribute of this object"}


def from_validation(error: ValidationError, prefix: str | None = None, document: Any = ...) -> TwistedWaveError:
    """The first failure of a pydantic validation of ``document``, naming its attribute path (union
    member tags such as ``.str`` are not part of it)."""
    from mixdown.api_compat.fields import problems

    first = error.errors(include_url=False)[0]
    location, message = problems(error, document)[0]
    return TwistedWaveError(_MESSAGES.get(first["type"]) or message, param=param_path(location, prefix))


def from_mixdown(error: MixdownError, prefix: str | None = None) -> TwistedWaveError:
    """An engine or formats error as a refusal; its field becomes ``prefix.field``."""
    if isinstance(error, TwistedWaveError):
        return error
    if error.field is None:
        param = prefix
    elif prefix:
        param = f"{prefix}.{error.field}"
    else:
        param = error.field
    refused = TwistedWaveError(error.message, param=param)
    refused.exit_code = error.exit_code
    return refused
