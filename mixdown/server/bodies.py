"""Reading a request's JSON body with the limits a server needs: size, depth, strict numbers, UTF-8."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from mixdown.server.config import MAX_JSON_BODY
from mixdown.server.errors import ApiError

#: Deeper than any platform document nests; deeper bodies are refused before anything walks them.
MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 308


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    """No platform sends an integer past a double's range; refusing one here keeps it out of every model."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def depth(value: Any) -> int:
    """How deeply ``value`` nests (iterative: a hostile body cannot exhaust the stack)."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):  # only containers are walked: most of a body is numbers
                stack.append((child, level + 1))
    return deepest


def parse_json(raw: bytes, field: str = "body") -> Any:
    if len(raw) > MAX_JSON_BODY:
        raise ApiError(413, f"the body is over {MAX_JSON_BODY} bytes", field)
    if not raw.strip():
        raise ApiError(400, "expected a JSON body", field)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8", field) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_integer)
    except RecursionError:
        raise ApiError(400, f"the body nests deeper than {MAX_DEPTH} levels", field) from None
    except ValueError as error:
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise ApiError(400, f"malformed JSON: {message}"[:200], field) from None
    if depth(value) > MAX_DEPTH:
        raise ApiError(400, f"the body nests deeper than {MAX_DEPTH} levels", field)
    return value


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The body as JSON (``{}`` for an empty optional body)."""
    raw = await request.body()
    if not raw.strip() and not required:
        return {}
    return parse_json(raw)


def json_object(value: Any, field: str = "body") -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, "expected a JSON object", field)
    return value
