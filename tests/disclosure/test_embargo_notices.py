"""Every change of an embargo's end or state is told to the lab and every notified organization
by a thin notice (EMBARGO_CHANGED): reference, TLP label, the end in UTC and a link to the
timeline; delivered here over a real SMTP server and to a real webhook receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from disclosure.models import Delivery
from disclosure.services.channels import http
from disclosure.services.embargo import embargo_end_set
from disclosure.services.embargo_ending import embargo_break
from disclosure.services.notify import deliveries_dispatch
from tests.disclosure.embargo_helpers import changed_notices, embargoed, proposed, soon
from tests.disclosure.outbox import contact, endpoint, smtp_server
from tests.webhook_receiver import Receiver

EMBARGOED = ("EMBARGOED-DETAIL", "EMBARGOED-ACTION", "ckpt-2026-10", "Autonomous exploitation")
Event = Delivery.Event


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
    http.pools_clear()


def test_a_new_end_is_told_to_every_notified_organization_and_the_lab(world):
    finding = embargoed(world)
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=soon(20))
    told = changed_notices(finding)
    assert set(told) == {"grid-isac", "water-cert", "example-lab"}
    members = {world.defender_user, world.other_defender_user, world.lab_user}
    emails = Delivery.objects.filter(
        finding=finding, event=Event.EMBARGO_CHANGED, channel=Delivery.Channel.EMAIL
    )
    inbox = Delivery.objects.filter(
        finding=finding, event=Event.EMBARGO_CHANGED, channel=Delivery.Channel.INBOX
    )
    assert {d.recipient for d in emails} == members
    assert {d.recipient for d in inbox} == members
    assert not Delivery.objects.filter(
        finding=finding, event=Event.EMBARGO_CHANGED, organization=world.center
    ).exists()


def test_the_email_is_thin_and_says_the_new_end_in_utc(world, settings):
    finding = embargoed(world)
    ends = soon(20)
    contact(world.defender, "soc@grid.example")
    with smtp_server(settings) as smtp:
        embargo_end_set(actor=world.coordinator, finding=finding, ends_at=ends)
        deliveries_dispatch()
        received = [r for r in smtp.received if "embargo has changed" in r.subject]
    assert {r.to for r in received} >= {"soc@grid.example", world.lab_user.email}
    for mail in received:
        body = mail.message.get_content()
        assert finding.reference in mail.subject and "TLP:AMBER+STRICT" in mail.subject
        assert f"Embargo end: {ends:%Y-%m-%d %H:%M} UTC" in body
        assert f"/findings/{finding.reference}/timeline/" in body
        for secret in EMBARGOED:
            assert secret not in body and secret not in mail.subject


def test_the_lab_hears_of_a_proposal_with_the_proposed_end(world, settings):
    with smtp_server(settings) as smtp:
        finding = proposed(world, days=9)
        deliveries_dispatch()
        (mail,) = [r for r in smtp.received if "embargo has changed" in r.subject]
    assert mail.to == world.lab_user.email
    assert "Proposed embargo end: " in mail.message.get_content()
    assert finding.reference in mail.subject


def test_a_break_is_told_as_the_embargo_having_ended_early(world, settings):
    finding = embargoed(world)
    with smtp_server(settings) as smtp:
        embargo_break(actor=world.coordinator, finding=finding, kind="leaked", reason="FORUM")
        deliveries_dispatch()
        changed = [r for r in smtp.received if "embargo has changed" in r.subject]
        released = [r for r in smtp.received if "has been released" in r.subject]
    assert changed and released
    body = changed[0].message.get_content()
    assert "The embargo has ended early" in body
    assert "FORUM" not in body  # the reason is read on the timeline, after logging in


def test_the_webhook_notice_is_thin_signed_and_links_the_timeline(world, receiver):
    finding = embargoed(world)
    hook = endpoint(world.defender, receiver.url("/hook"), by=world.defender_user)
    ends = soon(20)
    embargo_end_set(actor=world.coordinator, finding=finding, ends_at=ends)
    deliveries_dispatch()
    (request,) = [
        r for r in receiver.requests if json.loads(r.body)["type"] == Event.EMBARGO_CHANGED
    ]
    request.verify(hook.secret)
    data = json.loads(request.body)["data"]
    assert data["reference"] == finding.reference
    assert data["embargo_ends_at"] == ends.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["embargo"] == {"state": "active", "ends_at": data["embargo_ends_at"]}
    assert data["links"]["html"].endswith(f"/findings/{finding.reference}/timeline/")
    assert data["links"]["api"].endswith(f"/api/findings/{finding.reference}/embargo/")
    for secret in EMBARGOED:
        assert secret not in request.body.decode()
