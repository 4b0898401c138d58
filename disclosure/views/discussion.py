"""Discussion on the finding page: the threads the user may read, replies, opening a thread.

Comments are stored with their sanitised HTML (services.discussion renders it once, on save);
the template marks only that stored HTML safe.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Organization

from .. import policies, selectors
from ..errors import ApplicationError
from ..forms import form_add_application_error
from ..models import Comment, Finding, FindingRecipient, Thread
from ..services import discussion
from . import findings as finding_pages

Scope = Thread.Scope


def _audience_value(scope: str, organization: Organization | None) -> str:
    return f"{scope}:{organization.slug}" if organization is not None else scope


def _audience_label(scope: str, organization: Organization | None) -> str:
    if organization is not None:
        return f"Coordinators and {organization.name}"
    return str(Scope(scope).label)


class ThreadOpenForm(forms.Form):
    audience = forms.ChoiceField(label="Who can read it")
    subject = forms.CharField(max_length=discussion.SUBJECT_MAX_LENGTH)
    body = forms.CharField(
        label="Message",
        max_length=discussion.BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown: **bold**, *italic*, `code`, lists, links. No HTML or images.",
    )

    def __init__(
        self, *args: Any, choices: list[tuple[str, Organization | None]], **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.scopes = {_audience_value(s, o): (s, o) for s, o in choices}
        self.fields["audience"].choices = [  # type: ignore[attr-defined]
            (_audience_value(s, o), _audience_label(s, o)) for s, o in choices
        ]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Reply",
        max_length=discussion.BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: **bold**, *italic*, `code`, lists, links. No HTML or images.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def discussion_context(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient],
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What _discussion.html needs. ``recipients`` are the finding's rows, organizations loaded;
    ``bound`` holds a form that failed, to show again with its errors."""
    bound = bound or {}
    comments = Comment.objects.select_related("author").order_by("created_at", "id")
    threads = list(
        selectors.threads_visible_to(user, finding, recipients=recipients).prefetch_related(
            Prefetch("comments", queryset=comments)
        )
    )
    choices = policies.thread_scope_choices(user, finding, recipients)
    failed: tuple[int, CommentForm] | None = bound.get("comment")
    for thread in threads:
        # For the template, which cannot look things up by key.
        thread.audience_label = _audience_label(thread.scope, thread.organization)  # type: ignore[attr-defined]
        thread.reply_form = (  # type: ignore[attr-defined]
            failed[1]
            if failed and failed[0] == thread.pk
            else CommentForm(auto_id=f"id_reply_{thread.pk}_%s")
        )
    open_form = bound.get("thread")
    if open_form is None and choices:
        open_form = ThreadOpenForm(choices=choices)
    return {"discussion": {"threads": threads, "open_form": open_form}}


@never_cache
@login_required
@require_POST
def thread_open(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    recipients = list(selectors.recipients_of(finding))
    choices = policies.thread_scope_choices(request.user, finding, recipients)
    form = ThreadOpenForm(request.POST, choices=choices)
    status = 400
    if not choices:
        status = 403
        form.add_error(None, "You cannot open a thread on this finding.")
    elif form.is_valid():
        scope, organization = form.scopes[form.cleaned_data["audience"]]
        try:
            thread = discussion.thread_open(
                actor=request.user,
                finding=finding,
                scope=scope,
                organization=organization,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, f"Thread “{thread.subject}” opened.")
            return _to_thread(finding, thread)
    return finding_pages._detail_response(request, finding, forms={"thread": form}, status=status)


@never_cache
@login_required
@require_POST
def comment_post(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = selectors.thread_get_for(user=request.user, pk=thread_id)
    finding = thread.finding
    form = CommentForm(request.POST, auto_id=f"id_reply_{thread.pk}_%s")
    status = 400
    if form.is_valid():
        try:
            discussion.comment_post(
                actor=request.user, thread=thread, body=form.cleaned_data["body"]
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, "Reply posted.")
            return _to_thread(finding, thread)
    # The thread's finding came through findings_visible_to; reload it with its relations.
    finding = selectors.finding_get_for(user=request.user, reference=finding.reference)
    return finding_pages._detail_response(
        request, finding, forms={"comment": (thread.pk, form)}, status=status
    )


def _to_thread(finding: Finding, thread: Thread) -> HttpResponse:
    url = reverse("finding-detail", args=[finding.reference])
    return redirect(f"{url}#thread-{thread.pk}")
