"""Who may see and do what. Pure functions; selectors, the API and pages all ask these."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, Organization

from .models import Finding

Kind = Organization.Kind
State = Finding.State

# A defender sees a finding it was notified of once the embargo has begun.
DEFENDER_VISIBLE_STATES = frozenset({State.EMBARGOED, State.RELEASED})


def org_ids(user: Any, kind: str | None = None) -> frozenset[int]:
    """The organizations the user belongs to (of one kind), cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache: dict[str, frozenset[int]] | None = getattr(user, "_forewarn_orgs", None)
    if cache is None:
        cache = {}
        rows = Membership.objects.filter(user=user).values_list(
            "organization_id", "organization__kind"
        )
        for org_id, org_kind in rows:
            cache[org_kind] = cache.get(org_kind, frozenset()) | {org_id}
        user._forewarn_orgs = cache
    if kind is None:
        return frozenset().union(*cache.values())
    return cache.get(kind, frozenset())


def is_coordinator(user: Any) -> bool:
    return bool(org_ids(user, Kind.COORDINATOR))


def is_lab_member(user: Any, finding: Finding) -> bool:
    return finding.developer_id in org_ids(user, Kind.DEVELOPER)


def is_notified_defender(user: Any, finding: Finding) -> bool:
    mine = org_ids(user, Kind.DEFENDER)
    if not mine:
        return False
    return finding.recipients.filter(organization_id__in=mine).exists()


# Content can no longer be edited in these states (released findings change through issue
# updates of the advisory, not edits).
CLOSED_STATES = frozenset({State.RELEASED, State.REJECTED, State.DUPLICATE, State.WITHDRAWN})


def coordinators_see(finding: Finding) -> bool:
    """Coordinators see what a lab has submitted, whatever became of it; never a mere draft."""
    return finding.submitted_at is not None


def can_view_finding(user: Any, finding: Finding) -> bool:
    if finding.state == State.RELEASED:
        return True
    if is_lab_member(user, finding):
        return True
    if is_coordinator(user) and coordinators_see(finding):
        return True
    return finding.state in DEFENDER_VISIBLE_STATES and is_notified_defender(user, finding)


def can_file_findings(user: Any) -> bool:
    return bool(org_ids(user, Kind.DEVELOPER))


def can_edit_finding(user: Any, finding: Finding) -> bool:
    if finding.state in CLOSED_STATES:
        return False
    return is_lab_member(user, finding) or (is_coordinator(user) and coordinators_see(finding))


def can_submit_finding(user: Any, finding: Finding) -> bool:
    return is_lab_member(user, finding)


def can_triage(user: Any) -> bool:
    return is_coordinator(user)


def can_acknowledge(user: Any, finding: Finding) -> bool:
    return finding.state in DEFENDER_VISIBLE_STATES and is_notified_defender(user, finding)


def defender_orgs_for(user: Any, finding: Finding) -> frozenset[int]:
    """The user's organizations that were notified of the finding."""
    mine = org_ids(user, Kind.DEFENDER)
    if not mine:
        return frozenset()
    return frozenset(
        finding.recipients.filter(organization_id__in=mine).values_list(
            "organization_id", flat=True
        )
    )
