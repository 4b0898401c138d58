"""Account mail (invitations, registry decisions): thin, rendered now, sent after the commit.

Account mail is not a notification about a finding, so it does not go through the delivery
outbox; a failed send is logged and the sender can resend the invitation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

logger = logging.getLogger(__name__)


def site_url(name: str, *args: Any) -> str:
    """An absolute link for an email."""
    return settings.SITE_URL + reverse(name, args=args)


def mail_after_commit(
    *, to: Iterable[str], subject: str, template: str, context: dict[str, Any]
) -> None:
    """Render the message now and send it once the transaction commits (never if it rolls back)."""
    recipients = sorted(set(to))
    if not recipients:
        return
    body = render_to_string(template, context)
    message = EmailMessage(subject=f"[Forewarn] {subject}", body=body, to=recipients)

    def send() -> None:
        try:
            message.send()
        except Exception:  # the data is committed; a lost mail is resent by hand, not a 500
            logger.exception("Could not send %r to %s", subject, ", ".join(recipients))

    transaction.on_commit(send)
