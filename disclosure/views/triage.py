"""Triage pages: the coordinators' queue, and the triage panel's actions on the finding page.

Each action is a POST that checks the role first (403 on the page for someone who sees the
finding but may not act), calls a service, and redirects back to the finding (PRG). A refusal
re-renders the finding page with the error on the form, or as a message, and the error's 4xx.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User

from .. import policies, selectors
from ..models import Finding
from ..services import triage
from .actions import finding_action

State = Finding.State
QUEUE_PER_PAGE = 50

# --- Forms: shape only; the services decide what is allowed.


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _text(label: str, help_text: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=triage.MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
    )


class RequestInfoForm(_Form):
    message = _text(
        "Message to the lab",
        "The lab reads it on this page; emails only say that something changed.",
    )


class ProvideInfoForm(_Form):
    response = _text(
        "Your answer",
        "The finding goes back to the coordinators. Edit the "
        "finding itself separately if its content changes.",
    )


class DuplicateForm(_Form):
    duplicate_of = forms.CharField(
        label="Original finding", max_length=20, help_text="Its reference, e.g. FW-2026-0001."
    )
    reason = _text("Note", "Optional; shown to the lab.", required=False)


class WithdrawForm(_Form):
    reason = _text("Reason", "Shown to the coordinators. A withdrawn finding cannot be reopened.")


class CoordinatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return f"{obj.full_name} ({obj.email})" if obj.full_name else obj.email


class AssignForm(_Form):
    assignee = CoordinatorChoiceField(
        queryset=User.objects.none(), required=False, label="Assigned to", empty_label="Nobody"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.coordinators_all()  # type: ignore[attr-defined]


FORMS: dict[str, type[forms.Form]] = {
    "request-info": RequestInfoForm,
    "provide-info": ProvideInfoForm,
    "duplicate": DuplicateForm,
    "withdraw": WithdrawForm,
    "assign": AssignForm,
}


# --- The finding page's triage panel.

# How each triage note reads in the conversation between the coordinators and the lab.
MESSAGE_LABELS = {
    "finding.needs_info": "asked the lab for information",
    "finding.in_triage": "answered",
    "finding.accepted": "accepted the finding",
    "finding.rejected": "rejected the finding",
    "finding.duplicate": "closed it as a duplicate",
    "finding.withdrawn": "withdrew the finding",
}


def triage_context(
    user: Any, finding: Finding, *, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What _triage.html and _triage_messages.html need: the actions, their forms, the notes.

    ``bound`` holds a form that failed validation, to show again with its errors.
    """
    bound = bound or {}
    is_lab = policies.is_lab_member(user, finding)
    is_coordinator = policies.is_coordinator(user) and policies.coordinators_see(finding)
    actions = policies.triage_actions(user, finding)
    panel: dict[str, Any] = {
        "actions": actions,
        # Keyed with underscores, which templates can look up.
        "forms": {
            name.replace("-", "_"): bound.get(name) or form_class(initial=_initial(name, finding))
            for name, form_class in FORMS.items()
            if name in actions
        },
        "is_lab": is_lab,
        "is_coordinator": is_coordinator,
    }
    if is_lab or is_coordinator:
        panel["messages"] = [
            {"event": event, "label": MESSAGE_LABELS.get(event.action, event.action)}
            for event in selectors.triage_messages_for(finding)
        ]
        if finding.duplicate_of_id is not None:
            original = finding.duplicate_of
            # Another lab's finding is not the lab's to know of: name it only if visible.
            if original is not None and policies.can_view_finding(user, original):
                panel["duplicate_of"] = original
    if is_coordinator and "assign" not in actions:
        panel["assignee"] = finding.assignee  # the assign form shows it otherwise
    return {"triage": panel}


def _initial(name: str, finding: Finding) -> dict[str, Any]:
    return {"assignee": finding.assignee_id} if name == "assign" else {}


# --- The queue.


@never_cache
@login_required
@require_GET
def triage_queue(request: HttpRequest) -> HttpResponse:
    if not policies.can_triage(request.user):
        raise Http404("No such page.")
    assigned = request.GET.get("assigned")
    if assigned not in selectors.QUEUE_FILTERS:
        assigned = None
    queue = selectors.triage_queue_for(request.user, assigned=assigned)
    page = Paginator(queue, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "disclosure/triage_queue.html", {"page": page, "assigned": assigned or ""}
    )


# --- Actions.


def _act(request: HttpRequest, reference: str, *, name: str, **kwargs: Any) -> HttpResponse:
    """A triage action; its form, if it takes input, is FORMS[name]."""
    form_class = FORMS.get(name)
    return finding_action(
        request,
        reference,
        name=name,
        form_for=(lambda f: form_class(request.POST)) if form_class else None,
        **kwargs,
    )


def _coordinator(user: Any, finding: Finding) -> bool:
    return policies.can_triage(user)


@never_cache
@login_required
@require_POST
def finding_start_triage(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="start-triage",
        may=_coordinator,
        refusal="Only coordinators can triage findings.",
        run=lambda f, _: triage.finding_triage_start(actor=request.user, finding=f),
        done="{reference} is in triage.",
    )


@never_cache
@login_required
@require_POST
def finding_request_info(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="request-info",
        may=_coordinator,
        refusal="Only coordinators can ask the lab for information.",
        run=lambda f, d: triage.finding_request_info(
            actor=request.user, finding=f, message=d["message"]
        ),
        done="The lab has been asked for information on {reference}.",
    )


@never_cache
@login_required
@require_POST
def finding_provide_info(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="provide-info",
        may=policies.is_lab_member,
        refusal="Only the lab that filed the finding can answer the coordinators.",
        run=lambda f, d: triage.finding_provide_info(
            actor=request.user, finding=f, response=d["response"]
        ),
        done="Your answer is sent; {reference} is back with the coordinators.",
    )


@never_cache
@login_required
@require_POST
def finding_duplicate(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="duplicate",
        may=_coordinator,
        refusal="Only coordinators can mark findings as duplicates.",
        run=lambda f, d: triage.finding_mark_duplicate(
            actor=request.user, finding=f, duplicate_of=d["duplicate_of"], reason=d["reason"]
        ),
        done="{reference} is closed as a duplicate.",
    )


@never_cache
@login_required
@require_POST
def finding_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="withdraw",
        may=policies.is_lab_member,
        refusal="Only the lab that filed the finding can withdraw it.",
        run=lambda f, d: triage.finding_withdraw(actor=request.user, finding=f, reason=d["reason"]),
        done="{reference} is withdrawn.",
    )


@never_cache
@login_required
@require_POST
def finding_assign(request: HttpRequest, reference: str) -> HttpResponse:
    return _act(
        request,
        reference,
        name="assign",
        may=_coordinator,
        refusal="Only coordinators can assign findings.",
        run=lambda f, d: triage.finding_assign(
            actor=request.user, finding=f, assignee=d["assignee"]
        ),
        done="{reference}'s assignee is saved.",
    )
