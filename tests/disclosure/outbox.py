"""Helpers for the outbox tests: contacts, webhook endpoints, a refusing SMTP server, and
fresh causes to enqueue against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone

from accounts.models import Membership, Organization, User
from disclosure.models import AuditEvent, Delivery, Finding, WebhookEndpoint
from disclosure.services.audit import audit_record
from disclosure.services.notify import deliveries_enqueue
from disclosure.services.webhooks import secret_generate
from tests.e2e.harness import LoopbackSMTP, Mailbox
from tests.factories import MembershipFactory, UserFactory


def member(org: Organization, email: str, *, contact_role: str = "", **user: Any) -> User:
    person = UserFactory(email=email, **user)
    MembershipFactory(user=person, organization=org, contact_role=contact_role)
    return person


def contact(org: Organization, email: str, role: str = Membership.ContactRole.PRIMARY) -> User:
    return member(org, email, contact_role=role)


def endpoint(org: Organization, url: str, *, by: User, disabled: bool = False) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organization=org,
        url=url,
        secret=secret_generate(),
        created_by=by,
        disabled_at=timezone.now() if disabled else None,
        disabled_reason="turned off" if disabled else "",
    )


def cause_for(finding: Finding, action: str = "test.notified") -> AuditEvent:
    return audit_record(actor=None, action=action, finding=finding)


def enqueue(finding: Finding, *organizations: Organization, event: str = "") -> AuditEvent:
    """A fresh cause, fanned out to the organizations; returns the cause."""
    cause = cause_for(finding)
    deliveries_enqueue(
        finding=finding,
        event=event or Delivery.Event.NOTIFIED,
        organizations=list(organizations),
        cause=cause,
    )
    return cause


def by_channel(**filters: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for channel in Delivery.objects.filter(**filters).values_list("channel", flat=True):
        counts[channel] = counts.get(channel, 0) + 1
    return counts


class RefusingMailbox(Mailbox):
    """A real SMTP server that refuses some recipients for good (550), like a bounce."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def smtp_server(settings: Any) -> Iterator[RefusingMailbox]:
    """Point the app's mail at a real SMTP server on loopback for the duration."""
    box = RefusingMailbox()
    controller = LoopbackSMTP(box)
    controller.start()
    box.port = controller.port
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 10},
        }
    }
    try:
        yield box
    finally:
        controller.stop()
