"""Error handlers: JSON ``{"detail": ...}`` under /api/, the site's pages elsewhere.

Errors raised inside a DRF view are answered by DRF (disclosure.api.errors); these cover what
happens before or around one: a URL that matches no route, a CSRF failure, a crash.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

TITLES = {400: "Bad request", 413: "Request too large", 415: "Unsupported content type"}


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def input_refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A 4xx for input we do not accept, saying what is wrong: JSON under /api/, a page
    elsewhere."""
    if _api(request):
        return JsonResponse({"detail": message}, status=status)
    context = {"title": TITLES.get(status, "Bad request"), "message": message}
    return render(request, "400.html", context, status=status)


def too_many_fields_message() -> str:
    return f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields."


def _bad_request_message(exception: Exception) -> tuple[int, str]:
    """What Django refused while reading the request (SuspiciousOperation and kin)."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return 413, f"The request's form fields are larger than the {limit:,} bytes accepted."
    if isinstance(exception, TooManyFieldsSent):
        return 400, too_many_fields_message()
    if isinstance(exception, TooManyFilesSent):
        return 400, f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files."
    return 400, "The request could not be understood."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return input_refused(request, *_bad_request_message(exception))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "You may not do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
