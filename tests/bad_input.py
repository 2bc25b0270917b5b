"""Helpers for the bad-input tests: run ``mixdown`` in this process and check how it refused."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

from mixdown.cli import main


def cli(*argv: object) -> tuple[int, str, str]:
    """``mixdown ARGV`` in this process: (exit status, stdout, stderr). Never raises for a bad input."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def process(*argv: object, timeout: float = 120, cwd: object = None) -> tuple[int, str, str]:
    """``mixdown ARGV`` as a real process."""
    done = subprocess.run([sys.executable, "-m", "mixdown.cli", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def refused(result: tuple[int, str, str], field: str | None = None) -> dict | None:
    """Assert a clean refusal (exit 2, one error line, no traceback); returns the JSON body on stdout if any.

    ``field`` must then be the field the error names (TwoShot ``details.field``, TwistedWave
    ``error.param``, a JSEND ``fail`` key), or appear in the error line when there is no body."""
    code, out, err = result
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err) < 2000, len(err)
    body = json.loads(out) if out.strip() else None
    if field is not None:
        names = _fields(body) if body is not None else []
        assert field in names or f"{field}:" in err, (field, body, err)
    return body


def _fields(body: dict) -> list[str]:
    if "details" in body:
        return [body["details"]["field"]]
    if "error" in body and isinstance(body["error"], dict):
        return [body["error"]["param"]]
    if body.get("status") == "fail":
        return list(body["data"])
    return []
