"""Evidence attachments API: list and upload, read and remove one, download its file.

Every route looks the finding up through the selectors and then asks whether the caller may
have its attachments, so another lab, a defender that was not notified and an anonymous caller
all get a 404, before and after release alike.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import mfa_api_require

from .. import selectors
from ..models import Attachment
from ..services import attachments as service
from ..services import audit
from ..views.attachments import (
    SizeLimitUploadHandler,
    attachment_file_response,
    size_limit_install,
    upload_from,
)
from .serializers import ErrorSerializer

REFERENCE = OpenApiParameter(
    "reference",
    str,
    OpenApiParameter.PATH,
    description="The finding's reference, e.g. FW-2026-0001.",
)
ATTACHMENT_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description="The attachment's id (from the list)."
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    description="No such finding or attachment, or you may not have its attachments.",
)
ERRORS: dict[int, Any] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad file; `detail.file` says why."),
    403: OpenApiResponse(ErrorSerializer, description="You may see it but not do this."),
    404: NOT_FOUND,
}


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    uploaded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = (
            "id",
            "name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "created_at",
            "download_url",
        )
        read_only_fields = fields
        extra_kwargs = {
            "name": {"help_text": "The uploaded name, sanitised."},
            "content_type": {"help_text": "Detected from the content; what downloads are."},
            "size": {"help_text": "In bytes."},
            "sha256": {"help_text": "SHA-256 of the content, hex."},
        }

    def get_download_url(self, obj: Attachment) -> str:
        return f"/api/findings/{obj.finding.reference}/attachments/{obj.pk}/download/"


class AttachmentUploadSerializer(serializers.Serializer[Any]):
    """Documents the multipart body; the file itself is checked by the service."""

    file = serializers.FileField(
        help_text="The evidence file: PDF, PNG, JPEG, GIF, WebP or UTF-8 text (.txt, .log, .csv, "
        ".tsv, .md, .json, .jsonl), within ATTACHMENT_MAX_BYTES (25 MB by default)."
    )


class _AnyAccept(BaseContentNegotiation):
    """A download is what it is, whatever the Accept header asks; errors are JSON."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class _AttachmentView(APIView):
    # Access is decided per finding (a 404 for anyone without it), never by a 401 that would
    # confirm that an embargoed reference exists.
    permission_classes = [AllowAny]


class AttachmentListView(_AttachmentView, generics.ListAPIView[Attachment]):
    parser_classes = [MultiPartParser]
    serializer_class = AttachmentSerializer
    pagination_class = PageNumberPagination
    upload_handler: SizeLimitUploadHandler | None = None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything reads the body (the session CSRF check does), put the size limit in.
        if request.method == "POST":
            self.upload_handler = size_limit_install(request)
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Attachment]:
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        finding = selectors.finding_get_for(
            user=self.request.user, reference=self.kwargs["reference"]
        )
        return selectors.attachments_for(user=self.request.user, finding=finding)

    @extend_schema(
        summary="A finding's evidence attachments (its lab, coordinators, notified defenders)",
        parameters=[REFERENCE],
        responses={200: AttachmentSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        rows = selectors.attachments_for(user=request.user, finding=finding)
        audit.finding_read_record(actor=request.user, finding=finding, via="api:attachments")
        page = self.paginate_queryset(rows) or []
        for row in page:
            row.finding = finding  # read once above; the download URLs need its reference
        return self.get_paginated_response(AttachmentSerializer(page, many=True).data)

    @extend_schema(
        summary="Attach an evidence file (the finding's lab and coordinators, while it is open)",
        parameters=[REFERENCE],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        selectors.attachments_for(user=request.user, finding=finding)  # 404 without access
        # Refused before the body is looked at, so a 400 never tells the refused anything.
        service.attachment_add_check(actor=request.user, finding=finding)
        handler = self.upload_handler or size_limit_install(request._request)
        attachment = service.attachment_add(
            actor=request.user, finding=finding, upload=upload_from(request, handler)
        )
        attachment.finding = finding
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentDetailView(_AttachmentView):
    @extend_schema(
        summary="One attachment's metadata",
        parameters=[REFERENCE, ATTACHMENT_ID],
        responses={200: AttachmentSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, reference: str, id: int) -> Response:
        attachment = selectors.attachment_get_for(user=request.user, reference=reference, pk=id)
        return Response(AttachmentSerializer(attachment).data)

    @extend_schema(
        summary="Remove an attachment (its uploader, the lab, coordinators; before release)",
        parameters=[REFERENCE, ATTACHMENT_ID],
        responses={204: None, 403: ERRORS[403], 404: NOT_FOUND},
    )
    def delete(self, request: Request, reference: str, id: int) -> Response:
        attachment = selectors.attachment_get_for(user=request.user, reference=reference, pk=id)
        service.attachment_remove(actor=request.user, attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentDownloadView(_AttachmentView):
    content_negotiation_class = _AnyAccept

    @extend_schema(
        summary="Download an attachment's file (audited)",
        description="Always `Content-Disposition: attachment`, with the type detected at upload, "
        "`X-Content-Type-Options: nosniff`, `Cache-Control: no-store` and a sandboxing CSP.",
        parameters=[REFERENCE, ATTACHMENT_ID],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as uploaded."
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The stored file failed its integrity check (it may have been "
                "altered), or its encryption key is not configured; nothing is served.",
            ),
        },
    )
    def get(self, request: Request, reference: str, id: int) -> Any:
        attachment = selectors.attachment_get_for(user=request.user, reference=reference, pk=id)
        mfa_api_require(request)  # after the 404: a session must have passed MFA
        return attachment_file_response(actor=request.user, attachment=attachment, via="api")
