"""A finding's revisions: every edit of its content, and what changed.

Revisions hold embargoed content, so they are for those who may see the finding's details:
the selector decides, and anyone else gets the finding's 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, selectors_content
from ..models import Finding
from ..services.audit import finding_read_record
from ..services.revisions import revision_diff
from .content import RevisionDetailSerializer, RevisionSerializer
from .permissions import FindingAccess
from .views import ERRORS, REFERENCE

NUMBER = OpenApiParameter(
    "number", int, OpenApiParameter.PATH, description="The revision number (1 is the filing)."
)
READ_ERRORS = {401: ERRORS[401], 404: ERRORS[404]}


class _FindingRevisionsBase(APIView):
    permission_classes = [FindingAccess]
    detail = True  # FindingAccess: the lookup runs first, so an outsider gets the same 404

    def _finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        finding_read_record(actor=request.user, finding=finding, via="api")  # embargoed content
        return finding


class RevisionListView(_FindingRevisionsBase):
    pagination_class = PageNumberPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="A finding's revisions, oldest first",
        parameters=[REFERENCE],
        responses={200: RevisionSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self._finding(request, reference)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors_content.revisions_of(finding), request, view=self
        )
        return paginator.get_paginated_response(RevisionSerializer(page, many=True).data)


class RevisionDetailView(_FindingRevisionsBase):
    @extend_schema(
        summary="One revision: the content then, and the diff against the revision before",
        parameters=[REFERENCE, NUMBER],
        responses={200: RevisionDetailSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, reference: str, number: int) -> Response:
        finding = self._finding(request, reference)
        revision, previous = selectors_content.revision_with_previous(
            finding=finding, number=number
        )
        context = {"diff": revision_diff(previous, revision)}
        return Response(RevisionDetailSerializer(revision, context=context).data)
