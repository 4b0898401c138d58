"""Who may see and do what. Pure functions; selectors, the API and pages all ask these."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, Organization

from .models import Delivery, Finding, FindingRecipient, Thread

Kind = Organization.Kind
State = Finding.State

# A defender sees a finding it was notified of once the embargo has begun.
DEFENDER_VISIBLE_STATES = frozenset({State.EMBARGOED, State.RELEASED})
# org_ids(user, ADMIN): the organizations the user administers (not a kind of organization).
ADMIN = "admin-of"


def org_ids(user: Any, kind: str | None = None) -> frozenset[int]:
    """The organizations the user belongs to (of one kind), cached on the user object.

    ``kind=ADMIN`` gives those where the user is an admin (from the same single query).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cache: dict[str, frozenset[int]] | None = getattr(user, "_forewarn_orgs", None)
    if cache is None:
        cache = {}
        rows = Membership.objects.filter(user=user).values_list(
            "organization_id", "organization__kind", "role"
        )
        for org_id, org_kind, role in rows:
            cache[org_kind] = cache.get(org_kind, frozenset()) | {org_id}
            if role == Membership.Role.ADMIN:
                cache[ADMIN] = cache.get(ADMIN, frozenset()) | {org_id}
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


def can_update_advisory(user: Any, finding: Finding) -> bool:
    """A released advisory changes only by an update that a coordinator publishes (each one a
    new revision with a public note, services.advisories); the lab asks the coordinators."""
    return finding.state == State.RELEASED and is_coordinator(user)


def can_view_attachments(user: Any, finding: Finding) -> bool:
    """Evidence files stay with the lab, coordinators and notified defenders, even after release:
    evidence of a dangerous capability is sensitive for good, unlike the advisory."""
    if is_lab_member(user, finding):
        return True
    if is_coordinator(user) and coordinators_see(finding):
        return True
    return finding.state in DEFENDER_VISIBLE_STATES and is_notified_defender(user, finding)


def can_remove_attachment(user: Any, attachment: Any, finding: Finding) -> bool:
    """The uploader, the finding's lab and coordinators may remove one until the release."""
    if finding.state == State.RELEASED:
        return False
    if is_lab_member(user, finding) or (is_coordinator(user) and coordinators_see(finding)):
        return True
    # Checked last: it costs a query, and pages ask this for every row.
    return attachment.uploaded_by_id == user.pk and can_view_attachments(user, finding)


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


# --- Triage: the actions a user may take on a finding now, named as the API's endpoints.


def triage_actions(user: Any, finding: Finding) -> list[str]:
    """The triage actions this user may take on the finding in its current state.

    Derived from transitions.RULES, so the pages and the API offer exactly what the services
    will accept. "start-triage" from needs_info lets a coordinator resume without the lab.
    """
    from .transitions import COORDINATOR, LAB, RULES, roles_of  # transitions imports us

    roles = roles_of(user, finding)
    targets = {to for (src, to), who in RULES.items() if src == finding.state and who & roles}
    actions = []
    if State.IN_TRIAGE in targets and COORDINATOR in roles:
        actions.append("start-triage")
    if State.NEEDS_INFO in targets:
        actions.append("request-info")
    if finding.state == State.NEEDS_INFO and State.IN_TRIAGE in targets and LAB in roles:
        actions.append("provide-info")
    for target, name in (
        (State.ACCEPTED, "accept"),
        (State.REJECTED, "reject"),
        (State.DUPLICATE, "duplicate"),
        (State.WITHDRAWN, "withdraw"),
    ):
        if target in targets:
            actions.append(name)
    if can_assign(user, finding):
        actions.append("assign")
    return actions


def can_assign(user: Any, finding: Finding) -> bool:
    """Coordinators share out the findings they see that are not yet closed."""
    return is_coordinator(user) and coordinators_see(finding) and finding.state not in CLOSED_STATES


def can_be_assignee(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and is_coordinator(user)


# --- Discussion threads. ``notified`` is the user's own organizations that were notified of
# the finding (defender_orgs_for), passed in by callers that already hold the audience rows.


def _thread_scope_readable(
    user: Any, finding: Finding, scope: str, organization_id: int | None, notified: frozenset[int]
) -> bool:
    if is_coordinator(user) and coordinators_see(finding):
        return True
    if scope == Thread.Scope.LAB:
        return is_lab_member(user, finding)
    if finding.state not in DEFENDER_VISIBLE_STATES:
        return False
    if scope == Thread.Scope.DEFENDERS:
        return bool(notified)
    if scope == Thread.Scope.ORGANIZATION:
        return organization_id in notified
    return False  # coordinators only


def can_read_thread(user: Any, thread: Thread, *, notified: frozenset[int] | None = None) -> bool:
    """Coordinators read every thread; the lab its lab threads; notified defenders theirs."""
    finding = thread.finding
    if notified is None:
        notified = defender_orgs_for(user, finding)
    return _thread_scope_readable(user, finding, thread.scope, thread.organization_id, notified)


def can_post_in_thread(
    user: Any, thread: Thread, *, notified: frozenset[int] | None = None
) -> bool:
    """Whoever may read a thread may answer in it."""
    return can_read_thread(user, thread, notified=notified)


def thread_scope_choices(
    user: Any, finding: Finding, recipients: list[FindingRecipient]
) -> list[tuple[str, Organization | None]]:
    """The (scope, organization) pairs the user may open a thread in.

    ``recipients`` are the finding's FindingRecipient rows, their organization loaded.
    Coordinators open any scope (the defender scopes once someone was notified), the lab its
    lab scope, a notified defender its own organization's scope. No thread on a draft: only
    its lab sees one.
    """
    if finding.state == State.DRAFT:
        return []
    if is_coordinator(user) and coordinators_see(finding):
        choices: list[tuple[str, Organization | None]] = [
            (Thread.Scope.COORDINATORS, None),
            (Thread.Scope.LAB, None),
        ]
        if recipients:
            choices.append((Thread.Scope.DEFENDERS, None))
            choices += [(Thread.Scope.ORGANIZATION, r.organization) for r in recipients]
        return choices
    choices = []
    if is_lab_member(user, finding):
        choices.append((Thread.Scope.LAB, None))
    if finding.state in DEFENDER_VISIBLE_STATES:
        mine = org_ids(user, Kind.DEFENDER)
        choices += [
            (Thread.Scope.ORGANIZATION, r.organization)
            for r in recipients
            if r.organization_id in mine
        ]
    return choices


# --- Finding content: taxonomies and credits.


def can_manage_taxonomies(user: Any) -> bool:
    """Coordinators add taxonomies and categories (never to the shipped ones)."""
    return is_coordinator(user)


def can_manage_credits(user: Any, finding: Finding) -> bool:
    """The lab and the coordinators who see the finding credit people on it."""
    return is_lab_member(user, finding) or (is_coordinator(user) and coordinators_see(finding))


# --- The defender registry. Coordinators see every organization and verify them; an
# organization's admins manage its profile, contacts, subscriptions, keys and endpoints.


def is_org_admin(user: Any, organization: Organization) -> bool:
    return organization.pk in org_ids(user, ADMIN)


def can_view_organization(user: Any, organization: Organization) -> bool:
    """Its admins and the coordinators; a plain member is refused (403), an outsider sees a 404
    (selectors: organization_get_for)."""
    return is_org_admin(user, organization) or is_coordinator(user)


def can_manage_organization(user: Any, organization: Organization) -> bool:
    """Profile, contacts, subscriptions, keys and webhook endpoints: its admins only."""
    return is_org_admin(user, organization)


def can_invite_to_organization(user: Any, organization: Organization) -> bool:
    """Its admins and the coordinators invite contacts and revoke invitations."""
    return is_org_admin(user, organization) or is_coordinator(user)


def can_verify_organizations(user: Any) -> bool:
    return is_coordinator(user)


def can_deactivate_user(actor: Any, user: Any) -> bool:
    """Coordinators and superusers deactivate accounts (offboarding), never their own."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return actor.pk != user.pk and (actor.is_superuser or is_coordinator(actor))


def can_manage_openpgp_key(actor: Any, user: Any) -> bool:
    """A person uploads and removes their own OpenPGP key; so do the admins of an organization
    they belong to, who manage its contacts' keys (accounts.openpgp)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return actor.pk == user.pk or bool(org_ids(actor, ADMIN) & org_ids(user))


# --- Audience and readiness (services.audience, services.readiness).


def can_manage_audience(user: Any, finding: Finding) -> bool:
    """Coordinators propose the audience and add or remove organizations."""
    return is_coordinator(user) and coordinators_see(finding)


# How much of the notified organizations' readiness a user sees (recipients_access).
RECIPIENTS_ALL, RECIPIENTS_OWN, RECIPIENTS_COUNTS = "all", "own", "counts"


def recipients_access(
    user: Any, finding: Finding, *, notified: frozenset[int] | None = None
) -> str:
    """Coordinators see every organization's readiness and statement; a notified defender its
    own organization's; the lab only counts (a defender's posture is not the lab's to know).
    The caller has checked that the user may see the finding. ``notified``: the user's notified
    organizations (defender_orgs_for), if the caller has the audience rows already."""
    if is_coordinator(user) and coordinators_see(finding):
        return RECIPIENTS_ALL
    if finding.state in DEFENDER_VISIBLE_STATES and org_ids(user, Kind.DEFENDER):
        if notified is None:
            notified = defender_orgs_for(user, finding)
        if notified:
            return RECIPIENTS_OWN
    if is_lab_member(user, finding):
        return RECIPIENTS_COUNTS
    return ""


# --- Deliveries (services.deliveries): coordinators see failures and retry them.


def can_manage_deliveries(user: Any) -> bool:
    """Coordinators see every delivery and its failures, and retry failed ones."""
    return is_coordinator(user)


def can_browse_audit_trail(user: Any) -> bool:
    """Coordinators browse and export the whole audit trail (a finding's own trail is also
    for its lab: the finding's events endpoint)."""
    return is_coordinator(user)


# --- Private calendar feeds (services.calendar): a defender organization's admins.


def can_manage_calendar_feeds(user: Any, organization: Organization) -> bool:
    """Create, list and revoke a defender organization's calendar feeds: its admins only.

    The feed itself needs no login: its URL's token is the credential (services.calendar)."""
    return organization.kind == Kind.DEFENDER and is_org_admin(user, organization)


# --- Staged release (services.stages): the plan, and the TLP label each viewer holds.

# From the least strict to the strictest (FIRST TLP 2.0).
TLP_ORDER = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def tlp_rank(label: str) -> int:
    return TLP_ORDER.index(label)


def tlp_for(
    user: Any, finding: Finding, *, recipients: list[FindingRecipient] | None = None
) -> str:
    """The TLP label (a ``Finding.Tlp`` value) under which the user holds the finding.

    Released: CLEAR. The lab and coordinators: the finding's own label. A member of a notified
    defender organization: the label of the release stage that brought the organization in
    (stage 1, the first audience, has the finding's label), the strictest of them if the user
    is in several. ``recipients``: the finding's rows with their stage loaded
    (selectors.recipients_of), to save a query.
    """
    if finding.is_public:
        return Finding.Tlp.CLEAR
    if is_lab_member(user, finding) or (is_coordinator(user) and coordinators_see(finding)):
        return finding.tlp
    mine = org_ids(user, Kind.DEFENDER)
    if not mine:
        return finding.tlp
    labels: list[str | None]
    if recipients is None:
        labels = list(
            finding.recipients.filter(organization_id__in=mine).values_list("stage__tlp", flat=True)
        )
    else:
        labels = [r.stage.tlp if r.stage else None for r in recipients if r.organization_id in mine]
    return max((label or finding.tlp for label in labels), key=tlp_rank, default=finding.tlp)


def tlp_for_delivery(delivery: Any) -> str:
    """The TLP label a notification carries: CLEAR for a release (the advisory is public),
    else the label of the stage that brought the recipient organization in, else the finding's.

    The dispatcher annotates each claimed row with ``stage_tlp`` (services.notify); a row
    without it costs a query.
    """
    finding = delivery.finding
    if delivery.event == Delivery.Event.RELEASED:
        return Finding.Tlp.CLEAR
    if hasattr(delivery, "stage_tlp"):
        stage_tlp = delivery.stage_tlp
    else:
        stage_tlp = (
            FindingRecipient.objects.filter(
                finding_id=delivery.finding_id, organization_id=delivery.organization_id
            )
            .values_list("stage__tlp", flat=True)
            .first()
        )
    return stage_tlp or finding.tlp


# How much of the release plan a user sees (release_plan_access).
PLAN_ALL, PLAN_OWN = "all", "own"


def release_plan_access(
    user: Any, finding: Finding, *, notified: frozenset[int] | None = None
) -> str:
    """Coordinators and the lab see the whole plan; a notified defender each stage's audience
    kind, TLP and time and whether it fired, and its own organization where a stage names it,
    never other organizations; anyone else nothing (a 404). ``notified``: the user's notified
    organizations (defender_orgs_for), if the caller has the audience rows already."""
    if (is_coordinator(user) and coordinators_see(finding)) or is_lab_member(user, finding):
        return PLAN_ALL
    if finding.state not in DEFENDER_VISIBLE_STATES or not org_ids(user, Kind.DEFENDER):
        return ""
    if notified is None:
        notified = defender_orgs_for(user, finding)
    return PLAN_OWN if notified else ""


def can_edit_release_plan(user: Any, finding: Finding) -> bool:
    """Coordinators change the stages not yet fired (while the finding is embargoed: the
    service refuses other states with a 409)."""
    return is_coordinator(user) and coordinators_see(finding)


# --- Embargo (services.embargo, services.embargo_extensions, selectors_embargo).


def can_manage_embargo(user: Any, finding: Finding) -> bool:
    """Coordinators propose an embargo, move its end, break it and decide extension requests."""
    return is_coordinator(user) and coordinators_see(finding)


def can_request_extension(user: Any, finding: Finding) -> bool:
    """The lab and the members of notified defender organizations ask for a later end (the
    service refuses with a 409 when the embargo is not running, e.g. after the release)."""
    if is_lab_member(user, finding):
        return True
    return finding.state in DEFENDER_VISIBLE_STATES and is_notified_defender(user, finding)


def is_embargo_participant(user: Any, finding: Finding) -> bool:
    """Those who took part in the disclosure: coordinators, the lab, notified defenders. They
    read the reasons on the embargo's timeline; anyone else (a released finding is public)
    sees only its dates."""
    return (
        (is_coordinator(user) and coordinators_see(finding))
        or is_lab_member(user, finding)
        or (finding.state in DEFENDER_VISIBLE_STATES and is_notified_defender(user, finding))
    )
