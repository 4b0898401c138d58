"""The matrix's world: one finding of the lab L1 per state, each carrying a marker in every
embargoed field and related object (policy.marker), the organizations and users of every role,
and what hangs off them (attachments, threads, credits, extension requests, deliveries, inbox
items, webhooks, calendar feeds, invitations, tokens).

Built through the services, the way users get there; only what no service can make in every
state is written straight to the rows (credits of people outside the finding, and the
"accepted" state, which a finding passes through inside one transaction).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.contacts import invitation_create
from accounts.models import Invitation, Membership, Organization, User
from accounts.registry import subscription_add
from accounts.tokens import api_token_create, token_hash
from disclosure.models import (
    Credit,
    Delivery,
    ExtensionRequest,
    Finding,
    ReferenceCounter,
    Thread,
)
from disclosure.services import triage
from disclosure.services.attachments import attachment_add
from disclosure.services.audience import audience_remove
from disclosure.services.calendar import calendar_feed_create, calendar_feed_revoke
from disclosure.services.discussion import thread_open
from disclosure.services.embargo import embargo_end_set, embargo_propose
from disclosure.services.embargo_ending import embargo_break
from disclosure.services.embargo_extensions import extension_request
from disclosure.services.intake import finding_create, finding_submit, finding_update
from disclosure.services.readiness import readiness_report
from disclosure.services.stages import plan_set
from disclosure.services.webhooks import endpoint_create
from tests.factories import OrganizationFactory, UserFactory
from tests.factories.attachments import PDF, upload
from tests.mfa import totp_device

from .policy import (
    D1_INVITEE,
    D1_WEBHOOK,
    LAB_TOKEN,
    PEER_ORG,
    SEE_FINDING_KINDS,
    STAGE_ORG,
    STATES,
    marker,
)

Role = Membership.Role

# The marker kinds each state's finding carries (Builder puts them there).
_FILED = {*SEE_FINDING_KINDS, "creditpend", "attach"}
_SUBMITTED = _FILED | {"thcoord", "thlab"}
_IN_TRIAGE = _SUBMITTED | {"triagenote", "labanswer"}
_PROPOSED = _IN_TRIAGE | {"proposereason"}
_EMBARGOED = _PROPOSED | {"acceptnote", "removereason", "thdef", "thorg", "thpeer"}
_EMBARGOED |= {"readiness", "endreason", "labext", "defext"}
PRESENT: dict[str, set[str]] = {
    "draft": _FILED,
    "withdrawn_draft": _FILED | {"closenote"},
    "submitted": _SUBMITTED,
    "needs_info": _SUBMITTED | {"triagenote"},
    "in_triage": _IN_TRIAGE,
    "accepted": _PROPOSED,
    "embargoed": _EMBARGOED,
    "released": _EMBARGOED | {"breakreason"},
    "rejected": _IN_TRIAGE | {"closenote"},
    "duplicate": _IN_TRIAGE | {"closenote"},
    "withdrawn": _IN_TRIAGE | {"closenote"},
}


@dataclass
class World:
    orgs: dict[str, Organization]
    users: dict[str, User]  # by role; no "anonymous"
    tokens: dict[str, str] = field(default_factory=dict)  # raw API token by role
    findings: dict[str, Finding] = field(default_factory=dict)  # by state key
    attachments: dict[str, int] = field(default_factory=dict)
    threads: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, scope) -> id
    credits: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, acc|pend)
    extensions: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, lab|defender)
    deliveries: dict[str, int] = field(default_factory=dict)
    inbox: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, role) -> id
    feeds: dict[str, tuple[int, str]] = field(default_factory=dict)  # org key -> (pk, token)
    objects: dict[str, Any] = field(default_factory=dict)  # single objects by name


def _user(role: str, org: Organization, *, admin: bool = True) -> User:
    user = UserFactory(email=f"{role.replace('_', '-')}@matrix.example", full_name=role)
    Membership.objects.create(
        user=user, organization=org, role=Role.ADMIN if admin else Role.MEMBER
    )
    return user


def _people() -> tuple[dict[str, Organization], dict[str, User]]:
    orgs = {
        "L1": OrganizationFactory(name="Lab One", slug="lab-one", developer=True),
        "L2": OrganizationFactory(name="Lab Two", slug="lab-two", developer=True),
        "CC": OrganizationFactory(name="Coordination", slug="cc", coordinator=True),
        "D1": OrganizationFactory(name="Defender One", slug="defender-one"),
        "D2": OrganizationFactory(name="Defender Two", slug="defender-two"),
        "D3": OrganizationFactory(name="Defender Three", slug="defender-three"),
        "P": OrganizationFactory(name=f"Peer {PEER_ORG}", slug="peer-org"),
        "S": OrganizationFactory(name=f"Stage {STAGE_ORG}", slug="stage-org"),
    }
    users = {
        "lab": _user("lab", orgs["L1"]),
        "other_lab": _user("other_lab", orgs["L2"]),
        "coordinator": _user("coordinator", orgs["CC"], admin=False),
        "notified": _user("notified", orgs["D1"]),
        "notified_member": _user("notified_member", orgs["D1"], admin=False),
        "outsider": _user("outsider", orgs["D2"]),
        "removed": _user("removed", orgs["D3"]),
    }
    _user("peer", orgs["P"])
    return orgs, users


def _at(days: float) -> dt.datetime:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


class Builder:
    """Makes the finding of one state, step by step, as users would."""

    def __init__(self, world: World, state: str) -> None:
        self.w, self.state = world, state
        self.lab, self.coord = world.users["lab"], world.users["coordinator"]

    def m(self, kind: str) -> str:
        return marker(self.state, kind)

    def file(self) -> Finding:
        m = self.m
        finding = finding_create(
            actor=self.lab,
            developer=self.w.orgs["L1"],
            model_name="Frontier-9",
            model_version=m("version"),
            title=f"{m('title')} autonomous exploitation",
            summary=f"{m('summary')} the model chains exploits.",
            details=f"{m('olddetails')} first draft of the evidence.",
            category="openai-pf-v2:cybersecurity",
            risk_level=Finding.RiskLevel.HIGH,
            recommended_actions=f"{m('actions')} rate-limit tool calls.",
            evaluations=[
                {
                    "name": m("evaluation"),
                    "method": "Agentic runs",
                    "checkpoint": "base",
                    "metric": "Success rate",
                    "result": "31%",
                    "evaluated_on": "2026-10-01",
                }
            ],
            mitigations=[{"description": m("mitigation"), "status": "planned"}],
        )
        finding = finding_update(
            actor=self.lab, finding=finding, details=f"{m('details')} 31% on the cyber range."
        )
        attachment = attachment_add(
            actor=self.lab, finding=finding, upload=upload(f"{m('attach')}.pdf", PDF)
        )
        self.w.attachments[self.state] = attachment.pk
        for status, kind in ((Credit.Status.ACCEPTED, "acc"), (Credit.Status.PENDING, "pend")):
            person = UserFactory(full_name=m(f"credit{kind}"))
            credit = Credit.objects.create(
                finding=finding, user=person, type="finder", status=status, created_by=self.lab
            )
            self.w.credits[(self.state, kind)] = credit.pk
        return finding

    def thread(self, finding: Finding, scope: str, kind: str, org: str | None = None) -> None:
        organization = self.w.orgs[org] if org else None
        thread = thread_open(
            actor=self.coord,
            finding=finding,
            scope=scope,
            organization=organization,
            subject=f"{self.m(kind)} subject",
            body=f"{self.m(kind)} body",
        )
        self.w.threads[(self.state, {"D1": "org", "P": "peer"}.get(org or "", scope))] = thread.pk

    def submitted(self) -> Finding:
        finding = finding_submit(actor=self.lab, finding=self.file())
        self.thread(finding, Thread.Scope.COORDINATORS, "thcoord")
        self.thread(finding, Thread.Scope.LAB, "thlab")
        return finding

    def needs_info(self) -> Finding:
        finding = triage.finding_triage_start(actor=self.coord, finding=self.submitted())
        return triage.finding_request_info(
            actor=self.coord, finding=finding, message=f"{self.m('triagenote')} which checkpoint?"
        )

    def in_triage(self) -> Finding:
        finding = triage.finding_provide_info(
            actor=self.lab, finding=self.needs_info(), response=f"{self.m('labanswer')} base."
        )
        triage.finding_assign(actor=self.coord, finding=finding, assignee=self.coord)
        return finding

    def proposed(self) -> Finding:
        finding = self.in_triage()
        embargo_propose(
            actor=self.coord, finding=finding, ends_at=_at(10), reason=self.m("proposereason")
        )
        return finding

    def embargoed(self) -> Finding:
        w, m = self.w, self.m
        finding = triage.finding_accept(
            actor=self.coord,
            finding=self.proposed(),
            organizations=[w.orgs["D1"], w.orgs["P"], w.orgs["D3"]],
            note=m("acceptnote"),
        )
        audience_remove(
            actor=self.coord, finding=finding, organization=w.orgs["D3"], reason=m("removereason")
        )
        self.thread(finding, Thread.Scope.DEFENDERS, "thdef")
        self.thread(finding, Thread.Scope.ORGANIZATION, "thorg", org="D1")
        self.thread(finding, Thread.Scope.ORGANIZATION, "thpeer", org="P")
        readiness_report(
            actor=w.users["notified"],
            finding=finding,
            readiness="preparing",
            statement=m("readiness"),
        )
        plan_set(
            actor=self.coord,
            finding=finding,
            stages=[
                {"audience": "organizations"},
                {
                    "audience": "organizations",
                    "organizations": [w.orgs["S"].slug],
                    "tlp": "AMBER",
                    "scheduled_at": _at(5),
                },
                {"audience": "public", "scheduled_at": _at(10)},
            ],
        )
        embargo_end_set(actor=self.coord, finding=finding, ends_at=_at(12), reason=m("endreason"))
        for who, kind in (("lab", "lab"), ("notified", "defender")):
            request = extension_request(
                actor=w.users[who],
                finding=finding,
                ends_at=_at(20),
                reason=m("labext" if who == "lab" else "defext"),
            )
            w.extensions[(self.state, kind)] = request.pk
        finding.refresh_from_db()
        return finding

    def make(self) -> Finding:
        m, lab, coord = self.m, self.lab, self.coord
        if self.state == "draft":
            return self.file()
        if self.state == "withdrawn_draft":
            return triage.finding_withdraw(actor=lab, finding=self.file(), reason=m("closenote"))
        if self.state == "submitted":
            return self.submitted()
        if self.state == "needs_info":
            return self.needs_info()
        if self.state == "in_triage":
            return self.in_triage()
        if self.state == "accepted":
            # Acceptance starts the embargo in the same transaction: no service leaves a finding
            # here, so the row is moved by hand (as a crash between the two steps would).
            finding = self.proposed()
            Finding.objects.filter(pk=finding.pk).update(
                state=Finding.State.ACCEPTED, accepted_at=timezone.now()
            )
            finding.refresh_from_db()
            return finding
        if self.state == "embargoed":
            return self.embargoed()
        if self.state == "released":
            finding = self.embargoed()
            embargo_break(actor=coord, finding=finding, kind="leaked", reason=m("breakreason"))
            finding.refresh_from_db()
            return finding
        if self.state == "rejected":
            return triage.finding_reject(
                actor=coord, finding=self.in_triage(), reason=m("closenote")
            )
        if self.state == "duplicate":
            return triage.finding_mark_duplicate(
                actor=coord,
                finding=self.in_triage(),
                duplicate_of=self.w.findings["submitted"].reference,
                reason=m("closenote"),
            )
        if self.state == "withdrawn":
            return triage.finding_withdraw(
                actor=lab, finding=self.in_triage(), reason=m("closenote")
            )
        raise ValueError(self.state)


def _registry(world: World) -> None:
    """What the organizations and users hold besides findings."""
    orgs, users = world.orgs, world.users
    notified = users["notified"]
    endpoint, _secret = endpoint_create(
        actor=notified,
        organization=orgs["D1"],
        url="http://127.0.0.1:9/hooks",  # the discard port: nothing listens
        description=D1_WEBHOOK,
    )
    world.objects["webhook"] = endpoint.pk
    invitation = invitation_create(
        actor=notified, organization=orgs["D1"], email=f"{D1_INVITEE}@matrix.example"
    )
    world.objects["invitation"] = invitation.pk
    # The link's token travels only by mail (after commit): give the row one we know.
    world.objects["invitation_token"] = "matrix-invitation-" + "x" * 25
    Invitation.objects.filter(pk=invitation.pk).update(
        token_hash=token_hash(world.objects["invitation_token"])
    )
    subscription = subscription_add(
        actor=notified,
        organization=orgs["D1"],
        category="openai-pf-v2:cybersecurity",
        min_risk_level="low",
    )
    world.objects["subscription"] = subscription.pk
    world.objects["contact"] = Membership.objects.get(user=users["notified_member"]).pk
    for key, role in (("D1", "notified"), ("D2", "outsider"), ("D3", "removed")):
        feed, url = calendar_feed_create(actor=users[role], organization=orgs[key])
        world.feeds[key] = (feed.pk, url.rsplit("/", 1)[-1].removesuffix(".ics"))
    revoked, url = calendar_feed_create(actor=notified, organization=orgs["D1"])
    calendar_feed_revoke(actor=notified, feed=revoked)
    world.feeds["revoked"] = (revoked.pk, url.rsplit("/", 1)[-1].removesuffix(".ics"))
    for role, user in users.items():
        name = LAB_TOKEN if role == "lab" else f"{role} token"
        token, world.tokens[role] = api_token_create(user=user, name=name)
        if role == "lab":
            world.objects["token"] = token.pk
    world.objects["device"] = totp_device(users["lab"]).pk


def _outbox(world: World) -> None:
    """The ids of a delivery and of each role's inbox item, per finding."""
    for state, finding in world.findings.items():
        rows = Delivery.objects.filter(finding=finding).order_by("id")
        first = rows.first()
        if first is not None:
            world.deliveries[state] = first.pk
        for role, user in world.users.items():
            item = rows.filter(channel=Delivery.Channel.INBOX, recipient=user).first()
            if item is not None:
                world.inbox[(state, role)] = item.pk


def world_build() -> World:
    # References far from the examples pages give (FW-2026-0001), so that a page's help text is
    # never taken for a leak.
    ReferenceCounter.objects.update_or_create(
        year=timezone.now().year, defaults={"last_number": 5000}
    )
    orgs, users = _people()
    world = World(orgs=orgs, users=users)
    _registry(world)
    for state in STATES:  # "submitted" comes before "duplicate", which names it
        world.findings[state] = Builder(world, state).make()
    _outbox(world)
    assert {f.state for f in world.findings.values()} == set(Finding.State.values)
    assert ExtensionRequest.objects.count() == 4  # two per embargo
    return world
