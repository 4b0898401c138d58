"""Input that no view of ours accepts, refused before any view runs, with a 4xx that says why.

``BadInputMiddleware`` checks every request for:

- a NUL character anywhere in the URL (path or query string): PostgreSQL refuses NUL in text,
  so such a value would otherwise turn a lookup into a 500;
- a body over the limits: DATA_UPLOAD_MAX_MEMORY_SIZE, or for a multipart upload
  ATTACHMENT_MAX_BYTES plus that much for the form's other fields: a 413, read no further;
- on a write (POST, PUT, PATCH, DELETE) with a body: a content type the target does not take
  (the API takes JSON and forms, pages take forms: a 415); JSON that is malformed, not UTF-8,
  not an object, nested too deeply or holding a NUL (config.parsers.json_object_load); form
  fields holding a NUL or text that is not UTF-8, or too many fields.

An endpoint that reads no body refuses a malformed one all the same, so a client learns its
mistake instead of having the action done. Multipart bodies are left to the views: reading one
here would come before the upload handler that an attachment upload installs.
Each refusal is a 4xx, which django.request logs at WARNING with the path.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse

from .parsers import NUL_REFUSED, BadJSON, json_object_load
from .views import input_refused, too_many_fields_message

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
API_PREFIX = "/api/"


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def body_limit(content_type: str) -> int | None:
    """The largest body accepted, in bytes (None: no limit)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and content_type == MULTIPART:
        return int(settings.ATTACHMENT_MAX_BYTES) + int(limit)
    return limit


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _url_problem(request: HttpRequest) -> str | None:
    query = request.META.get("QUERY_STRING", "")
    if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(query.replace("+", " ")):
        return f"{NUL_REFUSED} in the URL."
    return None


def _form_problem(request: HttpRequest) -> str | None:
    """NUL characters and text that is not UTF-8 (which Django would quietly replace)."""
    try:
        fields = parse_qsl(
            request.body.decode(),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeError:
        return "The form data is not valid UTF-8."
    except ValueError:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise TooManyFieldsSent(too_many_fields_message()) from None
    for key, value in fields:
        if "\x00" in key or "\x00" in value:
            return f"{NUL_REFUSED} (in {key.replace(chr(0), '') or 'a field name'})."
    return None


def _body_problem(request: HttpRequest, content_type: str) -> tuple[int, str] | None:
    api = request.path.startswith(API_PREFIX)
    if is_json(content_type) and api:
        try:
            json_object_load(request.body)
        except BadJSON as exc:
            return 400, str(exc)
        return None
    if content_type == FORM:
        problem = _form_problem(request)
        return (400, problem) if problem else None
    if content_type == MULTIPART:
        return None
    takes = "JSON or a form" if api else "a form (application/x-www-form-urlencoded)"
    shown = content_type or "none"
    return 415, f"Unsupported content type {shown!r}: this address takes {takes}."


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _url_problem(request)
        if problem:
            return input_refused(request, 400, problem)
        length = _content_length(request)
        content_type = request.content_type or ""
        limit = body_limit(content_type)
        if limit is not None and length > limit:
            return input_refused(request, 413, too_large_message(limit))
        if request.method in UNSAFE and length:
            try:
                refusal = _body_problem(request, content_type)
            except RequestDataTooBig:
                refusal = 413, too_large_message(limit)
            except TooManyFieldsSent:
                refusal = 400, too_many_fields_message()
            if refusal:
                return input_refused(request, *refusal)
        return self.get_response(request)


def too_large_message(limit: int | None) -> str:
    return f"The request body is larger than the {limit or 0:,} bytes this site accepts."
