"""drf-spectacular postprocessing: the error answers every API operation can give.

Views document their own errors where they mean something particular (a 409 for a state that
does not allow the action, a 404 for a finding one may not see); this hook adds the ones that
come from the framework around them, for every operation it applies to, so clients and
schemathesis (tests/test_schemathesis.py) see every status code the API really sends:

- 400 everywhere: a NUL character in the URL is refused before any view (config.bad_input),
  and so is a malformed body on any write, even one that reads none;
- 401 where it authenticates (a bad or expired token is refused even where anonymous use is fine);
- 403 where it authenticates and changes something (a read-only token, a missing CSRF token);
- 404 where its path has parameters (no such object, or one the caller may not see), or it
  is paginated (a page past the end);
- 413 on writes (a body over the size limit) and 415 on writes (a body in a media type
  that is not JSON or a form, or that the operation does not parse);
- 429 where it is rate limited (config.throttling).

A response the view declared is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import ResolverMatch, resolve
from django.urls.exceptions import Resolver404

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"description": "A message, or messages keyed by field name."}},
    "required": ["detail"],
}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
DESCRIPTIONS = {
    "400": "Bad input; `detail` says what is wrong.",
    "401": "Not logged in, or a bad, expired or revoked token.",
    "403": "Not allowed: a token without the write scope, or a missing CSRF token.",
    "404": "No such object, or none that you may see.",
    "413": "The body is larger than the site accepts; `detail` gives the limit.",
    "415": "The body is not in a media type this operation reads.",
    "429": "Too many requests; `Retry-After` says how many seconds to wait.",
}


def _resolve(path: str) -> ResolverMatch | None:
    # The schema's paths are the URL patterns with {name} placeholders: "1" fits every converter.
    try:
        return resolve(re.sub(r"\{[^}]+\}", "1", path))
    except Resolver404:
        return None


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    match = _resolve(path)
    view = getattr(match.func, "cls", None) if match else None
    # Unknown view: assume the framework's defaults, which authenticate and throttle.
    authenticates = bool(getattr(view, "authentication_classes", True))
    throttled = bool(getattr(view, "throttle_classes", True))
    if method == "post" and match and match.view_name in settings.RATE_LIMITED_POSTS:
        throttled = True  # config.middleware.FormRateLimitMiddleware
    writes = method in UNSAFE_METHODS or "requestBody" in operation
    codes = ["400"]
    if authenticates:
        codes.append("401")
        if method in UNSAFE_METHODS:
            codes.append("403")
    if "{" in path or any(  # a page number or cursor past the end is "not found" too
        parameter.get("name") in {"page", "cursor"} for parameter in operation.get("parameters", [])
    ):
        codes.append("404")
    if writes:
        codes.extend(["413", "415"])
    if throttled:
        codes.append("429")
    return codes


def document_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method, operation):
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": error})
    return result
