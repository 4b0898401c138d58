"""Discussion threads: list and open a finding's threads, read and post comments.

A finding the caller may not see is a 404, and so is a thread the caller may not read, even on
a finding the caller sees: the scope of a thread is need-to-know.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization

from .. import policies, selectors
from ..errors import ValidationFailed
from ..models import Comment, Finding, Thread
from ..services import discussion
from .permissions import FindingAccess
from .serializers import StrictInputSerializer, choice_field
from .views import ERRORS, REFERENCE, _require, _validated

THREAD_ID = OpenApiParameter("thread_id", int, OpenApiParameter.PATH, description="Thread id.")


class ThreadSerializer(serializers.ModelSerializer[Thread]):
    finding: serializers.SlugRelatedField[Finding] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True
    )
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="For the one-organization scope: that defender organization; else null.",
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )
    comment_count = serializers.IntegerField(read_only=True)
    last_comment_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Thread
        fields = (
            "id",
            "finding",
            "scope",
            "organization",
            "subject",
            "created_by",
            "created_at",
            "comment_count",
            "last_comment_at",
        )
        read_only_fields = fields


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )
    body_html = serializers.CharField(
        read_only=True, help_text="The Markdown rendered and sanitised; safe to insert as HTML."
    )

    class Meta:
        model = Comment
        fields = ("id", "author", "body", "body_html", "created_at")
        read_only_fields = fields


class ThreadOpenSerializer(StrictInputSerializer):
    scope = choice_field(Thread.Scope)
    organization = serializers.SlugField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of the defender organization, for the one-organization scope.",
    )
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text="The first comment, in Markdown.")


class CommentPostSerializer(StrictInputSerializer):
    body = serializers.CharField(help_text="Markdown.")


def _with_counts(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    return threads.annotate(
        comment_count=Count("comments"), last_comment_at=Max("comments__created_at")
    ).order_by("created_at", "id")


class FindingThreadsView(APIView):
    # Anonymous callers reach the lookup, so they get the same 404 as everyone else for a
    # finding they may not see (see FindingAccess).
    detail = True
    permission_classes = [FindingAccess]
    pagination_class = PageNumberPagination  # also tells the schema the answer is paginated

    def finding(self, request: Request, reference: str) -> Finding:
        finding = selectors.finding_get_for(user=request.user, reference=reference)
        self.check_object_permissions(request, finding)
        return finding

    @extend_schema(
        summary="The finding's discussion threads you may read",
        parameters=[REFERENCE],
        responses={200: ThreadSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        paginator = self.pagination_class()
        threads = _with_counts(selectors.threads_visible_to(request.user, finding))
        page = paginator.paginate_queryset(threads, request, view=self)
        return paginator.get_paginated_response(ThreadSerializer(page, many=True).data)

    @extend_schema(
        summary="Open a thread in a scope you may use, with its first comment",
        parameters=[REFERENCE],
        request=ThreadOpenSerializer,
        responses={201: ThreadSerializer, **ERRORS},
    )
    def post(self, request: Request, reference: str) -> Response:
        finding = self.finding(request, reference)
        if finding.state != Finding.State.DRAFT:  # a draft's lab hears why from the service
            recipients = list(selectors.recipients_of(finding))
            _require(
                bool(policies.thread_scope_choices(request.user, finding, recipients)),
                "You cannot open a thread on this finding.",
            )
        data = _validated(ThreadOpenSerializer, request.data)
        organization = None
        if data["organization"]:
            organization = Organization.objects.filter(slug=data["organization"]).first()
            if organization is None:
                raise ValidationFailed(
                    {"organization": f"Unknown organization: {data['organization']}."}
                )
        thread = discussion.thread_open(
            actor=request.user,
            finding=finding,
            scope=data["scope"],
            organization=organization,
            subject=data["subject"],
            body=data["body"],
        )
        thread = _with_counts(
            Thread.objects.select_related("finding", "organization", "created_by")
        ).get(pk=thread.pk)
        return Response(ThreadSerializer(thread).data, status=status.HTTP_201_CREATED)


class ThreadCommentsView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = PageNumberPagination  # also tells the schema the answer is paginated

    @extend_schema(
        summary="The thread's comments, oldest first",
        parameters=[THREAD_ID],
        responses={
            200: CommentSerializer(many=True),
            401: ERRORS[401],
            404: OpenApiResponse(
                ERRORS[404].response, description="No such thread that you may read."
            ),
        },
    )
    def get(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get_for(user=request.user, pk=thread_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.comments_of(thread), request, view=self)
        return paginator.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(
        summary="Post a comment (Markdown) in a thread you may read",
        parameters=[THREAD_ID],
        request=CommentPostSerializer,
        responses={201: CommentSerializer, **ERRORS},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get_for(user=request.user, pk=thread_id)
        data = _validated(CommentPostSerializer, request.data)
        comment = discussion.comment_post(actor=request.user, thread=thread, body=data["body"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
