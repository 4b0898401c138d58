"""Reading a finding's embargo for a user: its state, its history, its extension requests.

Who sees what (the finding page's audience rules; the caller has the finding from
selectors.finding_get_for, so the user may see it):

- coordinators: everything, with who did it and why;
- the lab: the history, the end and the reasons; its own extension requests in full; a
  defender's request only as "an extension was asked for" (a defender's posture is not the
  lab's to know), and the decision on it without the note;
- a notified defender: the same, with its own organization's requests in full; never another
  organization's name; proposals made before it was told are the lab's and coordinators';
- anyone else (a released finding is public): the dates, the kind of a break, no reasons and
  no names.

People are named (by email) to coordinators, and to members of the organization they acted
for; otherwise by role ("coordinator", "lab", "defender", "system").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from accounts.models import Organization

from . import policies
from .models import Embargo, EmbargoEvent, ExtensionRequest, Finding, FindingRecipient
from .services.embargo_policy import policy_max_days

Kind = EmbargoEvent.Kind
COORDINATOR, LAB, DEFENDER, SYSTEM = "coordinator", "lab", "defender", "system"
EXTENSION_KINDS = frozenset(
    {Kind.EXTENSION_REQUESTED, Kind.EXTENSION_APPROVED, Kind.EXTENSION_DENIED}
)
# Shown with the label of the event's kind; the timeline adds the finding's own milestones.
KIND_TITLES: dict[str, str] = {
    Kind.PROPOSED: "Embargo proposed",
    Kind.ACTIVATED: "Embargo started",
    Kind.CHANGED: "Embargo end changed",
    Kind.EXTENSION_REQUESTED: "Extension requested",
    Kind.EXTENSION_APPROVED: "Extension approved",
    Kind.EXTENSION_DENIED: "Extension denied",
    Kind.BROKEN: "Embargo broken",
    Kind.ENDED: "Embargo ended",
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking, in the terms the rules above need (no query after it is built)."""

    user: Any
    coordinator: bool
    lab: bool
    orgs: frozenset[int]  # every organization of the user
    notified: frozenset[int]  # the user's defender organizations notified of the finding

    @property
    def participant(self) -> bool:
        return self.coordinator or self.lab or bool(self.notified)

    def names(self, organization_id: int | None) -> bool:
        """May this viewer read what was done on behalf of that organization, and by whom?"""
        return self.coordinator or (organization_id is not None and organization_id in self.orgs)


def viewer_for(
    user: Any, finding: Finding, *, recipients: list[FindingRecipient] | None = None
) -> Viewer:
    """``recipients``: the finding's rows, if the caller has them (saves a query)."""
    defenders = policies.org_ids(user, Organization.Kind.DEFENDER)
    if finding.state not in policies.DEFENDER_VISIBLE_STATES or not defenders:
        notified: frozenset[int] = frozenset()
    elif recipients is not None:
        notified = frozenset(
            r.organization_id for r in recipients if r.organization_id in defenders
        )
    else:
        notified = policies.defender_orgs_for(user, finding)
    return Viewer(
        user=user,
        coordinator=policies.can_manage_embargo(user, finding),
        lab=policies.is_lab_member(user, finding),
        orgs=policies.org_ids(user),
        notified=notified,
    )


@dataclass
class Entry:
    """One line of an embargo's history or a finding's timeline, as this viewer may see it."""

    at: datetime
    kind: str
    title: str
    actor: str | None = None  # an email, where the viewer may know who
    actor_role: str = SYSTEM
    organization: str | None = None  # a name, where the viewer may see it
    old_ends_at: datetime | None = None
    new_ends_at: datetime | None = None
    reason: str = ""
    over_policy: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def actor_shown(
    viewer: Viewer, user: Any, organization_id: int | None, role: str
) -> tuple[str | None, str]:
    """(email or None, role) of someone who acted for ``organization_id`` (None: a coordinator)."""
    if user is None:
        return None, SYSTEM
    if viewer.coordinator or (organization_id is not None and organization_id in viewer.orgs):
        return user.email, role
    return None, role


# --- The embargo and its history.


def embargo_of(finding: Finding) -> Embargo | None:
    return Embargo.objects.filter(finding_id=finding.pk).select_related("created_by").first()


def extension_requests_of(embargo: Embargo | None) -> list[ExtensionRequest]:
    if embargo is None:
        return []
    return list(
        ExtensionRequest.objects.filter(embargo=embargo)
        .select_related("organization", "requested_by", "decided_by")
        .order_by("created_at", "id")
    )


def extension_requests_visible(
    viewer: Viewer, requests: list[ExtensionRequest]
) -> list[ExtensionRequest]:
    """Coordinators see every request; others their own organizations'."""
    return [r for r in requests if viewer.names(r.organization_id)]


def _match_requests(
    events: list[EmbargoEvent], requests: list[ExtensionRequest]
) -> dict[int, ExtensionRequest]:
    """The request each extension event is about, by event id.

    Every request writes one EXTENSION_REQUESTED event (its requester, its end) and every
    coordinator's decision one APPROVED or DENIED event (the decider, the requested end), in
    order; matching them in order on those is exact, without reading the audit trail.
    """
    matched: dict[int, ExtensionRequest] = {}
    used: set[tuple[str, int]] = set()
    decided = sorted(
        (r for r in requests if r.decided_at is not None), key=lambda r: (r.decided_at, r.pk)
    )
    for event in events:
        if event.kind == Kind.EXTENSION_REQUESTED:
            pool, who = requests, "requested_by_id"
        elif event.kind in (Kind.EXTENSION_APPROVED, Kind.EXTENSION_DENIED):
            pool, who = decided, "decided_by_id"
        else:
            continue
        for request in pool:
            if (event.kind, request.pk) in used:
                continue
            if (
                getattr(request, who) == event.actor_id
                and request.requested_ends_at == event.new_ends_at
            ):
                matched[event.pk] = request
                used.add((event.kind, request.pk))
                break
    return matched


def _over_policy(finding: Finding, embargo: Embargo, event: EmbargoEvent) -> bool:
    maximum = policy_max_days(finding)
    if maximum is None or event.new_ends_at is None or event.kind == Kind.BROKEN:
        return False
    start = embargo.starts_at if event.kind != Kind.PROPOSED and embargo.starts_at else event.at
    return event.new_ends_at > start + timedelta(days=maximum)


def history_entries(
    viewer: Viewer,
    finding: Finding,
    embargo: Embargo | None,
    events: list[EmbargoEvent],
    requests: list[ExtensionRequest],
) -> list[Entry]:
    """The embargo's events as this viewer may see them, oldest first."""
    if embargo is None:
        return []
    about = _match_requests(events, requests)
    entries = []
    for event in events:
        if event.kind == Kind.PROPOSED and not (viewer.coordinator or viewer.lab):
            continue  # the negotiation before acceptance is the lab's and coordinators'
        request = about.get(event.pk)
        entry = Entry(
            at=event.at,
            kind=f"embargo.{event.kind}",
            title=KIND_TITLES.get(event.kind, event.kind),
            old_ends_at=event.old_ends_at,
            new_ends_at=event.new_ends_at,
            over_policy=_over_policy(finding, embargo, event),
        )
        if event.kind in EXTENSION_KINDS:
            org_id = request.organization_id if request else None
            requester = event.kind == Kind.EXTENSION_REQUESTED
            role = (
                (LAB if org_id == finding.developer_id else DEFENDER) if requester else COORDINATOR
            )
            if viewer.names(org_id):
                entry.organization = request.organization.name if request else None
                entry.reason = event.reason
                entry.actor, entry.actor_role = actor_shown(
                    viewer, event.actor, org_id if requester else None, role
                )
                if request is not None:
                    entry.extra["extension"] = request.pk
            else:
                # Others learn that the embargo is being revised and its outcome, not who asked.
                entry.actor_role = role
                if event.kind == Kind.EXTENSION_REQUESTED:
                    entry.old_ends_at = entry.new_ends_at = None
        else:
            entry.actor, entry.actor_role = actor_shown(viewer, event.actor, None, COORDINATOR)
            if viewer.participant:
                entry.reason = event.reason
            if event.kind == Kind.BROKEN:
                entry.extra["break_kind"] = embargo.break_kind
                entry.title = f"{entry.title}: {embargo.get_break_kind_display()}"
        entries.append(entry)
    return entries


@dataclass
class EmbargoView:
    """What the embargo API and the finding page's panel show."""

    finding: Finding
    embargo: Embargo | None
    viewer: Viewer
    policy_max_days: int | None
    history: list[Entry]
    requests: list[ExtensionRequest]  # the ones this viewer may see
    actions: list[str]

    @property
    def pending(self) -> list[ExtensionRequest]:
        return [r for r in self.requests if r.state == ExtensionRequest.State.PENDING]

    @property
    def break_reason(self) -> str:
        return self.embargo.break_reason if self.embargo and self.viewer.participant else ""

    @property
    def over_policy_reason(self) -> str:
        return self.embargo.over_policy_reason if self.embargo and self.viewer.participant else ""


def embargo_actions(viewer: Viewer, finding: Finding, embargo: Embargo | None) -> list[str]:
    """What this viewer may do to the embargo now, named as the API's endpoints."""
    from .services.embargo import PROPOSABLE_STATES, RUNNING

    running = (
        finding.state == Finding.State.EMBARGOED
        and embargo is not None
        and embargo.state in RUNNING
    )
    actions = []
    if viewer.coordinator:
        if finding.state in PROPOSABLE_STATES:
            actions.append("propose")
        if running:
            actions += ["end", "break", "decide"]
    if running and (viewer.lab or viewer.notified):
        actions.append("request-extension")
    return actions


def embargo_view_for(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient] | None = None,
    history: bool = True,
) -> EmbargoView:
    """The embargo as ``user`` may see it: the embargo, its requests (none exist before it is
    active) and, unless ``history`` is False, its events; a query each."""
    viewer = viewer_for(user, finding, recipients=recipients)
    embargo = embargo_of(finding)
    events = (
        list(embargo.events.select_related("actor").order_by("at", "id"))
        if embargo is not None and history
        else []
    )
    proposal = embargo is None or embargo.state == Embargo.State.PROPOSED
    requests = [] if proposal else extension_requests_of(embargo)
    return EmbargoView(
        finding=finding,
        embargo=embargo,
        viewer=viewer,
        policy_max_days=policy_max_days(finding),
        history=history_entries(viewer, finding, embargo, events, requests),
        requests=extension_requests_visible(viewer, requests),
        actions=embargo_actions(viewer, finding, embargo),
    )


def extension_request_get_for(*, user: Any, finding: Finding, pk: int) -> ExtensionRequest:
    """One of the finding's extension requests the user may see, or 404."""
    from django.http import Http404

    request = (
        ExtensionRequest.objects.filter(pk=pk, embargo__finding_id=finding.pk)
        .select_related("embargo__finding", "organization", "requested_by")
        .first()
    )
    if request is None or not viewer_for(user, finding).names(request.organization_id):
        raise Http404("No extension request with that id.")
    request.embargo.finding = finding  # already read and access-checked
    return request
