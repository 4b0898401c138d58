"""What the end-to-end tests look for: outbox rows and audit events in the database, mail
at the SMTP server."""

from __future__ import annotations

from collections import Counter

from disclosure.models import AuditEvent, Delivery, Finding
from disclosure.services.channels.email import SUBJECTS

from .harness import Mailbox, Received, Stack


def subject(event: str, finding: Finding) -> str:
    # A release is public: its email says TLP:CLEAR whatever the finding's label was.
    tlp = "TLP:CLEAR" if event == Delivery.Event.RELEASED else finding.get_tlp_display()
    return SUBJECTS[Delivery.Event(event)].format(ref=finding.reference, tlp=tlp)


def mail_for(mailbox: Mailbox, event: str, finding: Finding) -> list[Received]:
    return mailbox.with_subject(subject(event, finding))


def recipients(mailbox: Mailbox, event: str, finding: Finding) -> Counter[str]:
    """How many messages of this event each address got."""
    return Counter(received.to for received in mail_for(mailbox, event, finding))


def release_events(finding: Finding) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(finding=finding, action="finding.released"))


def outbox(finding: Finding) -> list[tuple[str, str, str]]:
    """The finding's email rows (inbox rows are written SENT; there are no webhooks here)."""
    return sorted(
        Delivery.objects.filter(finding=finding, channel=Delivery.Channel.EMAIL).values_list(
            "event", "recipient__email", "state"
        )
    )


def wait_until_settled(stack: Stack, finding: Finding, *, released_recipients: int) -> None:
    """Wait until the finding is released and every email row for it has been sent.

    A row is marked sent only after the SMTP server accepted the message, so once this holds
    every message the system will ever send for the finding is in the mailbox.
    """

    def settled() -> bool:
        rows = Delivery.objects.filter(finding=finding, channel=Delivery.Channel.EMAIL)
        return (
            Finding.objects.filter(pk=finding.pk, state=Finding.State.RELEASED).exists()
            and rows.filter(event=Delivery.Event.RELEASED).count() == released_recipients
            and not rows.exclude(state=Delivery.State.SENT).exists()
        )

    def explain() -> str:
        state = Finding.objects.values_list("state", flat=True).get(pk=finding.pk)
        rows = "\n".join(f"  {row}" for row in outbox(finding))
        return f"{finding.reference} is {state}; outbox:\n{rows}"

    stack.wait_until(
        settled, what=f"{finding.reference} to be released and its mail sent", explain=explain
    )
