"""The whole audit trail, for coordinators: browsing, filtering, exporting.

Coordinators see every event except those of a lab's draft that was never submitted (they do
not see drafts; the events appear once it is submitted). Anyone else sees nothing here (the
pages and the API answer 404); a finding's own trail is selectors.audit_events_for.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from accounts.models import Membership, Organization

from . import policies
from .filters import DayFilter, StrictFilterSet
from .models import AuditEvent

# What a row shows: the event, its actor's address and its finding's reference, nothing else
# of the finding (its embargoed fields are never read here).
AUDIT_COLUMNS = (
    "id",
    "created_at",
    "actor",
    "action",
    "finding",
    "from_state",
    "to_state",
    "note",
    "data",
    "sequence",
    "prev_hash",
    "entry_hash",
    "actor__email",
    "finding__reference",
)
SYSTEM = "system"
# Only a tampered SQLite row (a time that is not a time) makes the ORM fail to read a row.
UNREADABLE = (
    "An audit row could not be read (a value the application never writes: tampering?). "
    "Run manage.py audit_verify to find it."
)


def audit_trail_for(user: Any) -> QuerySet[AuditEvent]:
    """Every audit event a coordinator may see, newest first; none for anyone else."""
    if not policies.can_browse_audit_trail(user):
        return AuditEvent.objects.none()
    return (
        AuditEvent.objects.filter(Q(finding__isnull=True) | Q(finding__submitted_at__isnull=False))
        .select_related("actor", "finding")
        .only(*AUDIT_COLUMNS)
        .order_by("-id")
    )


class AuditEventFilter(StrictFilterSet):
    actor = django_filters.CharFilter(
        method="filter_actor",
        max_length=254,
        label="Actor",
        widget=forms.TextInput(attrs={"placeholder": "coord@example.org, or system"}),
        help_text="The actor's email address (any case), or 'system' for the scheduler's events.",
    )
    action = django_filters.CharFilter(
        method="filter_action",
        max_length=60,
        label="Action",
        widget=forms.TextInput(attrs={"placeholder": "finding.read, or auth."}),
        help_text="An action such as 'finding.read'; one ending in '.' takes every action it "
        "begins, e.g. 'auth.' or 'finding.'.",
    )
    finding = django_filters.CharFilter(
        method="filter_finding",
        max_length=40,
        label="Finding",
        widget=forms.TextInput(attrs={"placeholder": "FW-2026-0001"}),
        help_text="The finding's reference (any case).",
    )
    organization = django_filters.ModelChoiceFilter(
        method="filter_organization",
        to_field_name="slug",
        queryset=Organization.objects.order_by("name"),
        label="Organization",
        empty_label="Any organization",
        error_messages={
            "invalid_choice": "Unknown organization '%(value)s'; give an organization's slug."
        },
        help_text="Events by the members of this organization (its slug).",
    )
    created_after = DayFilter(field_name="created_at", bound="after", label="From")
    created_before = DayFilter(field_name="created_at", bound="before", label="Until")

    class Meta:
        model = AuditEvent
        fields: list[str] = []  # every filter is declared above

    def filter_actor(
        self, events: QuerySet[AuditEvent], name: str, value: str
    ) -> QuerySet[AuditEvent]:
        value = value.strip()
        if value.lower() == SYSTEM:
            return events.filter(actor__isnull=True)
        return events.filter(actor__email__iexact=value)

    def filter_action(
        self, events: QuerySet[AuditEvent], name: str, value: str
    ) -> QuerySet[AuditEvent]:
        value = value.strip()
        if value.endswith("."):
            return events.filter(action__startswith=value)
        return events.filter(action=value)

    def filter_finding(
        self, events: QuerySet[AuditEvent], name: str, value: str
    ) -> QuerySet[AuditEvent]:
        return events.filter(finding__reference=value.strip().upper())

    def filter_organization(
        self, events: QuerySet[AuditEvent], name: str, value: Organization
    ) -> QuerySet[AuditEvent]:
        members = Membership.objects.filter(organization=value).values("user_id")
        return events.filter(actor_id__in=members)

    def given(self) -> dict[str, str]:
        """The filters given, as text (for links and the export's audit event)."""
        return {
            name: str(self.data.get(name, "")).strip()
            for name in self.filters
            if str(self.data.get(name, "")).strip()
        }


def audit_filter_for(request: Any) -> AuditEventFilter:
    """The filters bound to the request's query, over exactly what its user may see."""
    return AuditEventFilter(request.GET, queryset=audit_trail_for(request.user), request=request)
