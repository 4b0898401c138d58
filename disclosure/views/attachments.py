"""Evidence attachments on the finding page: upload, download, remove.

Also the pieces the API shares: the upload handler that stops storing an oversized file and the
download response with its protective headers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.access import mfa_challenge

from .. import policies, selectors
from ..errors import ApplicationError, ValidationFailed
from ..models import Attachment, Finding
from ..services import attachments as service
from . import findings as finding_pages

TEXT_TYPES = ("text/", "application/json", "application/jsonl")
ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@-]")


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the chain: once a file passes ATTACHMENT_MAX_BYTES it is skipped, not stored.

    Django would otherwise spool the whole upload to a temporary file before the view runs.
    ``too_large`` tells the view why the file is missing.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.ATTACHMENT_MAX_BYTES
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler in the chain makes the file


def size_limit_install(request: HttpRequest) -> SizeLimitUploadHandler:
    """Put the limit in front of Django's handlers; call before anything reads the body."""
    handler = SizeLimitUploadHandler(request)
    request.upload_handlers.insert(0, handler)
    return handler


def upload_from(request: Any, handler: SizeLimitUploadHandler) -> Any:
    """The uploaded ``file`` field, or a 400 that says what is wrong."""
    upload = request.FILES.get("file")  # reads the body, through the handler, if not yet read
    if handler.too_large:
        raise ValidationFailed({"file": service.too_large_message()})
    if upload is None:
        raise ValidationFailed({"file": "Choose a file to attach (multipart field `file`)."})
    return upload


def _content_type(attachment: Attachment) -> str:
    if attachment.content_type.startswith(TEXT_TYPES):
        return f"{attachment.content_type}; charset=utf-8"
    return attachment.content_type


def content_disposition(name: str) -> str:
    """Always a download, never shown inline; RFC 6266 with an ASCII fallback for old clients."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = ASCII_UNSAFE.sub("_", fallback).strip() or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _DecryptedFileResponse(FileResponse):
    block_size = 64 * 1024  # the files' segment size (disclosure.encryption.files)


def attachment_file_response(*, actor: Any, attachment: Attachment, via: str) -> FileResponse:
    """Stream the file, decrypted, as a download that no browser will render or cache; audit it.

    A file that fails its integrity check is a 409 (services.attachments.attachment_open).
    """
    try:
        handle, size = service.attachment_open(actor=actor, attachment=attachment, via=via)
    except FileNotFoundError as exc:
        raise Http404("The attachment's file is missing.") from exc
    service.attachment_download_record(actor=actor, attachment=attachment, via=via)
    response = _DecryptedFileResponse(handle, content_type=_content_type(attachment))
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition(attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    # Should a browser render it after all, it runs nothing and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def attachments_context(user: Any, finding: Finding) -> dict[str, Any]:
    """What templates/disclosure/_attachments.html needs; nothing for those without access."""
    if not policies.can_view_attachments(user, finding):
        return {"attachments": None}
    rows = list(selectors.attachments_for(user=user, finding=finding))
    for row in rows:
        row.removable = policies.can_remove_attachment(user, row, finding)  # type: ignore[attr-defined]
    return {
        "attachments": rows,
        "can_add_attachments": policies.can_edit_finding(user, finding),
        "attachment_max_label": service.size_label(settings.ATTACHMENT_MAX_BYTES),
        "attachment_types": service.ALLOWED_DESCRIPTION,
    }


def _not_found(request: HttpRequest) -> HttpResponse:
    # The same answer as the finding page gives a logged-out visitor, existing or not.
    return render(request, "disclosure/finding_not_found.html", status=404)


def _back_to(finding: Finding) -> HttpResponse:
    return redirect(reverse("finding-detail", args=[finding.reference]) + "#attachments")


@require_GET  # not never_cache: the response sets its own Cache-Control: no-store
def attachment_download(request: HttpRequest, reference: str, pk: int) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return _not_found(request)
    attachment = selectors.attachment_get_for(user=request.user, reference=reference, pk=pk)
    if challenge := mfa_challenge(request):  # embargoed evidence: MFA first (accounts.access)
        return challenge
    try:
        return attachment_file_response(actor=request.user, attachment=attachment, via="page")
    except ApplicationError as exc:  # a file that fails its integrity check
        return finding_pages._refused(request, attachment.finding, exc)


@csrf_exempt  # checked by _attachment_add, once the size limit is in place
@never_cache
@require_POST
def attachment_add(request: HttpRequest, reference: str) -> HttpResponse:
    # The CSRF check reads the body, so the limit must be installed before it runs.
    handler = size_limit_install(request)
    return _attachment_add(request, reference, handler)


@csrf_protect
def _attachment_add(
    request: HttpRequest, reference: str, handler: SizeLimitUploadHandler
) -> HttpResponse:
    if not request.user.is_authenticated:
        return _not_found(request)
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not policies.can_view_attachments(request.user, finding):
        raise Http404("No finding with that reference.")
    try:
        service.attachment_add_check(actor=request.user, finding=finding)
        attachment = service.attachment_add(
            actor=request.user, finding=finding, upload=upload_from(request, handler)
        )
    except ApplicationError as exc:
        return finding_pages._refused(request, finding, exc)
    messages.success(request, f"Attached {attachment.name}.")
    return _back_to(finding)


@never_cache
@require_POST
def attachment_remove(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _not_found(request)
    attachment = selectors.attachment_get_for(user=request.user, reference=reference, pk=pk)
    finding = attachment.finding
    try:
        service.attachment_remove(actor=request.user, attachment=attachment)
    except ApplicationError as exc:
        return finding_pages._refused(request, finding, exc)
    messages.success(request, f"Removed {attachment.name}.")
    return _back_to(finding)
