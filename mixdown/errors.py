"""Typed errors shared by the engine, the formats and the adapters.

Every error names what was wrong (``field``) so that an adapter can translate it into its platform's
error body and the command line can print one line without a traceback.
"""

from __future__ import annotations


class MixdownError(Exception):
    """Base of every error mixdown raises on purpose."""

    #: Process exit status the command line uses for this kind of error.
    exit_code: int = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message


class InvalidInputError(MixdownError, ValueError):
    """A value given by the caller is out of range, of the wrong type, or not finite."""

    exit_code = 2


class AudioReadError(MixdownError, OSError):
    """An audio file is missing, unreadable, truncated, or holds non-finite samples."""

    exit_code = 2


class OutputError(MixdownError, OSError):
    """An output could not be written; nothing was left in its place."""


class OutputPathError(OutputError):
    """The output cannot be written where the caller asked: a folder or a missing folder named as the
    target, no permission, no space left, or the file-size limit reached. Bad input, not a bug: exit 2."""

    exit_code = 2
