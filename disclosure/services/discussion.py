"""Discussion threads on a finding: open one in a scope, post comments. Markdown is rendered and
sanitised once, here, when a comment is saved; pages show the stored HTML as it is.

Posting is audited without the finding link and without any text: the lab reads its finding's
audit trail, and even the fact that coordinators discuss it among themselves is theirs alone.
"""

from __future__ import annotations

from typing import Any

import markdown
import nh3
from django.db import transaction

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import Comment, Finding, FindingRecipient, Thread
from .audit import audit_record

Scope = Thread.Scope
SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000

# A conservative set: text structure, emphasis, code, lists, quotes and links. No images (they
# would load from anywhere, telling a third party who read the thread and when), no tables, no
# classes or styles, no ids.
ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


def markdown_render(text: str) -> str:
    """Markdown to safe HTML.

    Raw HTML in the source is not interpreted at all (Python-Markdown's HTML block and inline
    HTML handling are switched off, so ``<b>`` shows as text), image syntax stays text, and nh3
    (Ammonia) then removes whatever is not on the allow-list: unknown tags, event handlers,
    ``javascript:`` and ``data:`` URLs.
    """
    md = markdown.Markdown(extensions=["fenced_code", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    for pattern in ("html", "image_link", "image_reference", "short_image_ref"):
        md.inlinePatterns.deregister(pattern)
    html = md.convert(text)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed({"body": "Write something."})
    if len(body) > BODY_MAX_LENGTH:
        raise ValidationFailed({"body": f"Keep it under {BODY_MAX_LENGTH} characters."})
    return body


def _comment_create(*, actor: Any, thread: Thread, body: str) -> Comment:
    comment = Comment.objects.create(
        thread=thread, author=actor, body=body, body_html=markdown_render(body)
    )
    audit_record(
        actor=actor,
        action="discussion.comment_posted",
        data={
            "finding": thread.finding.reference,
            "thread": thread.pk,
            "comment": comment.pk,
            "scope": thread.scope,
        },
    )
    return comment


def _refuse(actor: Any, finding: Finding, scope: str, *, has_recipients: bool) -> None:
    """Say why the scope is not open to the actor, without telling a defender anything about
    other organizations."""
    if policies.is_coordinator(actor) and policies.coordinators_see(finding):
        # Coordinators may open every scope; only the defender ones can be out of reach.
        if not has_recipients:
            raise Conflict(
                f"No defender organization has been notified of {finding.reference} yet."
            )
        raise ValidationFailed(
            {"organization": "That organization was not notified of this finding."}
        )
    if scope == Scope.ORGANIZATION:
        raise NotAllowed("You can open a thread only with your own notified organization.")
    raise NotAllowed(f"You cannot open a thread for {Scope(scope).label.lower()}.")


@transaction.atomic
def thread_open(
    *,
    actor: Any,
    finding: Finding,
    scope: str,
    subject: str,
    body: str,
    organization: Organization | None = None,
) -> Thread:
    """Open a thread in ``scope`` (with ``organization`` for the one-organization scope) and
    post its first comment."""
    if scope not in Scope.values:
        raise ValidationFailed(
            {"scope": f"Unknown scope {scope!r}; choose one of: {', '.join(Scope.values)}."}
        )
    if finding.state == Finding.State.DRAFT:
        raise Conflict(f"Finding {finding.reference} is a draft; submit it before discussing it.")
    if scope == Scope.ORGANIZATION and organization is None:
        raise ValidationFailed({"organization": "Choose the defender organization."})
    if scope != Scope.ORGANIZATION:
        organization = None
    recipients = list(
        FindingRecipient.objects.filter(finding=finding).select_related("organization")
    )
    choices = policies.thread_scope_choices(actor, finding, recipients)
    if (scope, organization) not in choices:
        _refuse(actor, finding, scope, has_recipients=bool(recipients))
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed({"subject": "Give the thread a subject."})
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise ValidationFailed({"subject": f"Keep it under {SUBJECT_MAX_LENGTH} characters."})
    body = _body(body)
    thread = Thread.objects.create(
        finding=finding, scope=scope, organization=organization, subject=subject, created_by=actor
    )
    audit_record(
        actor=actor,
        action="discussion.thread_opened",
        data={
            "finding": finding.reference,
            "thread": thread.pk,
            "scope": scope,
            "organization": organization.slug if organization else None,
        },
    )
    _comment_create(actor=actor, thread=thread, body=body)
    return thread


@transaction.atomic
def comment_post(*, actor: Any, thread: Thread, body: str) -> Comment:
    if not policies.can_post_in_thread(actor, thread):
        raise NotAllowed("You cannot post in this thread.")
    return _comment_create(actor=actor, thread=thread, body=_body(body))
