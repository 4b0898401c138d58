"""A defender organization's private calendar feeds, for its admins: list, create, revoke.

An organization the caller does not belong to is a 404; a member who is not an admin (or a
coordinator) gets a 403, as for the organization's other settings. The feed's URL (which holds
its token) is in the answer to creating, never again.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_registry import ORG_ERRORS, SLUG
from accounts.models import Organization
from accounts.selectors import organization_get_for

from .. import policies, selectors_calendar
from ..models import CalendarFeed
from ..services import calendar as service
from .serializers import ErrorSerializer
from .views import _require

FEED_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The feed's id.")
ERRORS: dict[int, Any] = {
    **ORG_ERRORS,
    404: OpenApiResponse(ErrorSerializer, description="No such organization or feed."),
}
ADMINS_ONLY = "Only a defender organization's admins manage its calendar feeds."


class CalendarFeedSerializer(serializers.ModelSerializer[CalendarFeed]):
    created_by = serializers.EmailField(source="created_by.email", read_only=True)
    is_active = serializers.SerializerMethodField(
        help_text="Not revoked, and its creator is still an active member of the organization."
    )

    class Meta:
        model = CalendarFeed
        fields: tuple[str, ...] = (
            "id",
            "prefix",
            "is_active",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "prefix": {"help_text": "The token's first characters, to tell feeds apart."},
            "last_used_at": {"help_text": "When a calendar app last fetched it (to the minute)."},
        }

    def get_is_active(self, feed: CalendarFeed) -> bool:
        return feed.revoked_at is None and bool(getattr(feed, "creator_member", True))


class CalendarFeedCreatedSerializer(CalendarFeedSerializer):
    """The feed with its URL: only in the answer to creating it."""

    url = serializers.SerializerMethodField(
        help_text="The private iCalendar URL (it holds the token): shown this once."
    )

    class Meta(CalendarFeedSerializer.Meta):
        fields = (*CalendarFeedSerializer.Meta.fields, "url")
        read_only_fields = fields

    def get_url(self, feed: CalendarFeed) -> str:
        return str(self.context["url"])


def _organization(request: Request, slug: str) -> Organization:
    organization = organization_get_for(user=request.user, slug=slug)
    _require(policies.can_manage_calendar_feeds(request.user, organization), ADMINS_ONLY)
    return organization


class CalendarFeedListView(APIView):
    @extend_schema(
        summary="A defender organization's calendar feeds (its admins)",
        parameters=[SLUG],
        responses={200: CalendarFeedSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, slug: str) -> Response:
        feeds = selectors_calendar.calendar_feeds_of(_organization(request, slug))
        return Response(CalendarFeedSerializer(feeds, many=True).data)

    @extend_schema(
        summary="Create a calendar feed; the answer holds its private URL, shown this once",
        parameters=[SLUG],
        request=None,
        responses={201: CalendarFeedCreatedSerializer, **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        organization = _organization(request, slug)
        feed, url = service.calendar_feed_create(actor=request.user, organization=organization)
        data = CalendarFeedCreatedSerializer(feed, context={"url": url}).data
        return Response(data, status=status.HTTP_201_CREATED)


class CalendarFeedDetailView(APIView):
    @extend_schema(
        summary="One calendar feed",
        parameters=[SLUG, FEED_ID],
        responses={200: CalendarFeedSerializer, **ERRORS},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        feed = selectors_calendar.calendar_feed_get(_organization(request, slug), pk)
        return Response(CalendarFeedSerializer(feed).data)

    @extend_schema(
        summary="Revoke a calendar feed: its URL answers 404 from now on",
        parameters=[SLUG, FEED_ID],
        responses={204: None, **ERRORS},
    )
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        feed = selectors_calendar.calendar_feed_get(_organization(request, slug), pk)
        service.calendar_feed_revoke(actor=request.user, feed=feed)
        return Response(status=status.HTTP_204_NO_CONTENT)


PREFIX = "organizations/<slug:slug>/calendar-feeds/"
urlpatterns = [
    path(PREFIX, CalendarFeedListView.as_view(), name="organization-calendar-feeds"),
    path(f"{PREFIX}<int:pk>/", CalendarFeedDetailView.as_view(), name="organization-calendar-feed"),
]
