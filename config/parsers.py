"""Request body parsing for the API, and the checks every JSON body passes (config.bad_input
runs them too, on every JSON request, before any view)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any body of ours (a release plan's stages are 3 levels) and far below the depth at
# which Python's json module runs out of stack (a RecursionError, i.e. a 500).
MAX_JSON_DEPTH = 32
NUL_REFUSED = "Null characters (\\u0000) are not allowed"


class BadJSON(ValueError):
    """The body is not a JSON object we accept; the message says why."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_object_load(raw: bytes | str) -> dict[str, Any]:
    """Parse a body that must be a JSON object: UTF-8, well-formed, at most MAX_JSON_DEPTH levels
    deep, with no NUL character in any key or string (PostgreSQL refuses them in text)."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadJSON(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise BadJSON(f"JSON parse error - {exc}") from None
    if not isinstance(data, dict):
        raise BadJSON("The request body must be a JSON object.")
    _check_tree(data)
    return data


def _check_tree(data: dict[str, Any]) -> None:
    """Depth and NUL characters, walked without recursion; a NUL is reported with the top-level
    field it is in."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadJSON(f"{NUL_REFUSED} (in {field or 'the body'}).")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadJSON(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise BadJSON(f"{NUL_REFUSED} (in a field name).")
                stack.append((item, depth + 1, field or key))
        else:
            stack.extend((item, depth + 1, field) for item in value)


class JSONObjectParser(JSONParser):
    """JSON bodies must be objects: every endpoint reads named fields, and a list, a number or a
    string would otherwise reach code that expects a mapping (a 500, not a 400)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> dict[str, Any]:
        try:
            return json_object_load(stream.read())
        except BadJSON as exc:
            raise ParseError(str(exc)) from None
