"""A finding travels from filing to timed public release with nobody touching it after accept:
a real worker and scheduler, the real broker and database, mail over SMTP on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from disclosure.models import Delivery, Finding
from tests.conftest import FINDING_FIELDS, World

from .checks import mail_for, outbox, recipients, release_events, wait_until_settled
from .conftest import Audience
from .harness import Mailbox, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTIFIED = Delivery.Event.NOTIFIED
RELEASED = Delivery.Event.RELEASED
# The embargo is a few seconds long: long enough to see the notices first, short enough to wait.
EMBARGO = timedelta(seconds=4)


def test_accepted_finding_notifies_defenders_then_releases_itself_and_mails_once(
    world: World, audience: Audience, stack: Stack, mailbox: Mailbox
) -> None:
    stack.start_worker("only")
    stack.start_beat()

    finding = audience.accept(world, ends_in=EMBARGO)

    # Each member of each notified defender gets a thin notice: reference, end, no detail.
    stack.wait_until(
        lambda: set(recipients(mailbox, NOTIFIED, finding)) >= audience.defender_emails,
        what="a notice to every defender member",
        explain=lambda: f"got: {[(r.to, r.subject) for r in mailbox.received]}",
    )
    embargo_end = f"{finding.embargo_ends_at:%Y-%m-%d %H:%M} UTC"
    for notice in mail_for(mailbox, NOTIFIED, finding):
        assert notice.rcpt_tos == (notice.to,)
        assert finding.reference in notice.subject
        assert finding.reference in notice.body
        assert embargo_end in notice.body
        for name in ("details", "recommended_actions", "title", "model_version"):
            assert FINDING_FIELDS[name] not in notice.decoded_text, f"{name} leaked to {notice.to}"

    wait_until_settled(stack, finding, released_recipients=6)

    finding.refresh_from_db()
    assert finding.state == Finding.State.RELEASED
    # 4 notices, 6 release mails, and the lab's members told that their finding was accepted.
    told_lab = len(audience.lab_emails)
    assert [state for *_, state in outbox(finding)] == [Delivery.State.SENT] * (10 + told_lab)
    assert recipients(mailbox, Delivery.Event.TRIAGED, finding) == dict.fromkeys(
        audience.lab_emails, 1
    )
    assert recipients(mailbox, NOTIFIED, finding) == dict.fromkeys(audience.defender_emails, 1)
    assert recipients(mailbox, RELEASED, finding) == dict.fromkeys(
        audience.defender_emails | audience.lab_emails, 1
    )
    for notice in mail_for(mailbox, RELEASED, finding):
        assert finding.reference in notice.body
    assert not {r.to for r in mailbox.received} & audience.bystander_emails
    assert [event.actor_id for event in release_events(finding)] == [None]  # the system did it
