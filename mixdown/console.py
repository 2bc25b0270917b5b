"""How every ``mixdown`` command answers: the reply, warnings, the error object, exit codes and verbosity.

- A command prints one reply on stdout: plain text by default, one JSON object with ``--json``. mixdown's
  own replies use snake_case keys; a platform command (``render``, ``songclip``, ``job``, ``document``)
  replies in its platform's shape and keys.
- Failure prints one line on stderr (``mixdown CMD: error: FIELD: MESSAGE``) and, with ``--json``, an
  error object on stdout: mixdown's own ``{"error": {"code", "message", "field"}}``, or the platform's
  error body for a platform command. Option errors are answered the same way.
- Warnings (an unknown field in a platform body) are part of the reply (``warnings``: a list of
  ``{"field", "message"}``) and, in plain mode, lines on stderr.
- ``-q`` keeps stderr to errors alone (no progress, no warnings); ``-v`` adds timings and, for an internal
  failure, the traceback.
- Exit status: 0 success, 2 bad input (a missing or unreadable file, an out-of-range value, an unwritable
  output path, an option error), 1 internal failure (and a batch or job that ran but failed), 130
  interrupted by Ctrl-C, 128 + N stopped by signal N (143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from mixdown.errors import AudioReadError, InvalidInputError, MixdownError, OutputError

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class UsageError(MixdownError):
    """The command line itself is wrong: an unknown option, a missing argument, a value of the wrong type."""

    exit_code = EXIT_BAD_INPUT


class InternalError(MixdownError):
    """An unexpected failure, carried to the error reply as a typed error."""

    exit_code = EXIT_INTERNAL


class CommandInterruptedError(MixdownError):
    """Ctrl-C (or a signal treated as one) stopped the command."""

    exit_code = EXIT_INTERRUPTED


_CODES: tuple[tuple[type[MixdownError], str], ...] = (
    (UsageError, "usage"),
    (CommandInterruptedError, "interrupted"),
    (AudioReadError, "unreadable_audio"),
    (OutputError, "output"),
    (InvalidInputError, "invalid_input"),
)


def error_code(error: MixdownError) -> str:
    """The ``code`` of mixdown's error object: what kind of failure, stable for scripts to test."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return "invalid_input" if error.exit_code == EXIT_BAD_INPUT else "internal"


def error_object(error: MixdownError) -> dict[str, Any]:
    """mixdown's own error reply: ``{"error": {"code", "message", "field"}}``."""
    return {"error": {"code": error_code(error), "message": error.message, "field": error.field}}


def print_json(payload: Mapping[str, Any]) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False))


def emit(args: argparse.Namespace, reply: Mapping[str, Any], plain: str | Iterable[str] | None,
         warnings: Iterable[Mapping[str, str]] = ()) -> None:
    """Print ``reply`` as JSON with ``--json``, else the ``plain`` lines, and the warnings on stderr."""
    if getattr(args, "json", False):
        print_json(reply)
        return
    warn(args, warnings)
    if plain is not None:
        print(plain if isinstance(plain, str) else "\n".join(plain))


def warn(args: argparse.Namespace, warnings: Iterable[Mapping[str, str]]) -> None:
    """Warnings as stderr lines (plain mode, unless ``-q``)."""
    if getattr(args, "json", False) or getattr(args, "quiet", False):
        return
    for item in warnings:
        field = f"{item['field']}: " if item.get("field") else ""
        print(f"{command_name(args)}: warning: {field}{item['message']}", file=sys.stderr)


def note(args: argparse.Namespace, text: str) -> None:
    """A ``-v`` line on stderr."""
    if getattr(args, "verbose", False) and not getattr(args, "quiet", False):
        print(f"{command_name(args)}: {text}", file=sys.stderr)


def command_name(args: argparse.Namespace) -> str:
    return getattr(args, "prog", None) or f"mixdown {getattr(args, 'command', None) or ''}".rstrip()


_ARGUMENT = re.compile(r"^argument ([^:]+): ")
_REQUIRED = re.compile(r"^the following arguments are required: ([^,]+)")


#: Longest usage message echoed back: argparse quotes the bad value whole, which may be any size.
USAGE_MESSAGE_CHARS = 240


def usage_error(message: str) -> UsageError:
    """An argparse message as a :class:`UsageError` naming its option (``argument --lufs: ...`` -> ``--lufs``)."""
    if len(message) > USAGE_MESSAGE_CHARS:
        message = f"{message[:USAGE_MESSAGE_CHARS]}... ({len(message)} characters)"
    found = _ARGUMENT.match(message)
    if found:
        return UsageError(message[found.end():], field=found.group(1).split("/")[-1].strip())
    found = _REQUIRED.match(message)
    if found:
        return UsageError(message, field=found.group(1).split("/")[-1].strip())
    return UsageError(message)


def add_reply_options(parser: argparse.ArgumentParser) -> None:
    """``--json``, ``-q`` and ``-v`` on one command's parser (those it does not define itself)."""
    have = parser._option_string_actions
    if "--json" not in have:
        parser.add_argument("--json", action="store_true", help="print the reply (or the error) as one JSON object")
    talk = parser.add_mutually_exclusive_group()
    if "-q" not in have:
        talk.add_argument("-q", "--quiet", action="store_true", help="no progress or warnings on stderr")
    if "-v" not in have:
        talk.add_argument("-v", "--verbose", action="store_true",
                          help="timings on stderr, and the traceback of an internal error")
