"""The embargo on the finding page (its panel: state, end, policy, requests, and the controls
each role has) and the finding's timeline page.

Like the triage panel, each action is a POST that checks the role first (403 on the page for
someone who sees the finding but may not act), calls a service, and redirects back to the
finding (PRG); a refusal re-renders the finding page with the error on the form and its 4xx.
Times are typed as a local date-time and a time zone (the user's own by default).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import mfa_challenge

from .. import policies, selectors
from ..forms import LocalDateTimeField, time_zone_field, zoned_clean
from ..models import Embargo, ExtensionRequest, Finding, FindingRecipient
from ..selectors_embargo import embargo_of, embargo_view_for, extension_request_get_for
from ..selectors_timeline import timeline_for
from ..services import embargo as embargo_service
from ..services import embargo_ending
from ..services import embargo_extensions as extensions
from ..services.embargo_policy import REASON_MAX_LENGTH, policy_max_days
from ..timezones import UTC_NAME, user_zone, zone_names
from .actions import finding_action

REASON_ROWS = 2

# --- Forms: shape only; the services decide what is allowed.


class _Form(forms.Form):
    """``name``: the form's name on the page, which makes its ids unique there."""

    def __init__(self, *args: Any, user: Any = None, name: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", f"id_embargo_{name}_%s")
        super().__init__(*args, **kwargs)
        if "time_zone" in self.fields:
            zone = user_zone(user)
            self.fields["time_zone"].initial = zone.key if zone else UTC_NAME


def _reason(label: str, help_text: str, *, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": REASON_ROWS}),
        help_text=help_text,
    )


class EndForm(_Form):
    """Propose an embargo, or move the end of a running one (``label``: the end's)."""

    ends_at = LocalDateTimeField(label="Proposed end")
    time_zone = time_zone_field()
    reason = _reason(
        "Reason",
        "Why this end. Required beyond the policy maximum for the risk level; shown on the "
        "timeline.",
    )

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["ends_at"].label = label

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        zoned_clean(self, "ends_at")
        return cleaned


class ExtensionForm(EndForm):
    ends_at = LocalDateTimeField(label="Requested end")
    reason = _reason(
        "Why you need more time",
        "The coordinators decide; they and your organization read it.",
        required=True,
    )
    organization = forms.ChoiceField(label="Asking for", required=False)

    def __init__(
        self, *args: Any, organizations: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        if organizations and len(organizations) > 1:
            field.choices = organizations  # type: ignore[attr-defined]
            field.required = True
        else:
            del self.fields["organization"]


class BreakForm(_Form):
    kind = forms.ChoiceField(
        label="Why it ends early", choices=Embargo.BreakKind.choices, widget=forms.RadioSelect
    )
    reason = _reason(
        "What happened",
        "Everyone told of the finding reads it. The finding is released at once.",
        required=True,
    )


class DecisionForm(_Form):
    note = _reason(
        "Note to the requester",
        "Required to deny, and to approve beyond the policy maximum (it is then the reason).",
    )


# --- The finding page's panel.


def _organizations_for(
    user: Any, finding: Finding, recipients: list[FindingRecipient] | None = None
) -> list[tuple[str, str]]:
    """The organizations the user may ask for (the lab, its notified defenders), as choices.
    ``recipients``: the finding's rows with their organization, if the caller has them."""
    if recipients is None:
        recipients = list(selectors.recipients_of(finding))
    ids = set(extensions.requester_organizations(user, finding, recipients=recipients))
    rows = [finding.developer] if finding.developer_id in ids else []
    rows += [r.organization for r in recipients if r.organization_id in ids]
    return [(str(o.pk), o.name) for o in rows]


def embargo_context(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient],
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What _embargo.html needs; ``bound``: a form that failed, to show again with its errors."""
    bound = bound or {}
    view = embargo_view_for(user, finding, recipients=recipients, history=False)
    actions = view.actions
    panel_forms: dict[str, Any] = {}
    if "propose" in actions:
        panel_forms["propose"] = bound.get("propose") or EndForm(user=user, name="propose")
    if "end" in actions:
        panel_forms["end"] = bound.get("end") or EndForm(user=user, name="end", label="New end")
        panel_forms["break"] = bound.get("break") or BreakForm(user=user, name="break")
    if "request-extension" in actions:
        panel_forms["extension"] = bound.get("extension") or ExtensionForm(
            user=user,
            name="extension",
            organizations=_organizations_for(user, finding, recipients),
        )
    requests = [
        {
            "request": r,
            "decide": (bound.get(f"decide-{r.pk}") or DecisionForm(user=user, name=f"decide{r.pk}"))
            if "decide" in actions and r.state == ExtensionRequest.State.PENDING
            else None,
            "withdraw": r.state == ExtensionRequest.State.PENDING and r.requested_by_id == user.pk,
        }
        for r in view.requests
    ]
    return {
        "embargo_panel": {
            "view": view,
            "forms": panel_forms,
            "requests": requests,
            "zones": zone_names()
            if any(f in panel_forms for f in ("propose", "end", "extension"))
            else (),
        }
    }


# --- Actions.


@never_cache
@login_required
@require_POST
def embargo_propose(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="propose",
        may=policies.can_manage_embargo,
        refusal="Only coordinators can propose an embargo.",
        form_for=lambda f: EndForm(request.POST, user=request.user, name="propose"),
        run=lambda f, d: embargo_service.embargo_propose(
            actor=request.user, finding=f, ends_at=d["ends_at"], reason=d["reason"]
        ),
        done="The embargo of {reference} is proposed; the lab has been told.",
    )


@never_cache
@login_required
@require_POST
def embargo_end(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="end",
        may=policies.can_manage_embargo,
        refusal="Only coordinators can change an embargo's end.",
        form_for=lambda f: EndForm(request.POST, user=request.user, name="end", label="New end"),
        run=lambda f, d: embargo_service.embargo_end_set(
            actor=request.user, finding=f, ends_at=d["ends_at"], reason=d["reason"]
        ),
        done="The embargo end of {reference} is changed; everyone told of it hears so.",
    )


@never_cache
@login_required
@require_POST
def embargo_break(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="break",
        may=policies.can_manage_embargo,
        refusal="Only coordinators can break an embargo.",
        form_for=lambda f: BreakForm(request.POST, user=request.user, name="break"),
        run=lambda f, d: embargo_ending.embargo_break(
            actor=request.user, finding=f, kind=d["kind"], reason=d["reason"]
        ),
        done="The embargo of {reference} is broken; the finding is released.",
    )


def _chosen_organization(finding: Finding, data: dict[str, Any]) -> Any:
    pk = data.get("organization")
    if not pk:
        return None
    if str(finding.developer_id) == pk:
        return finding.developer
    row = finding.recipients.select_related("organization").filter(organization_id=pk).first()
    return row.organization if row else None


@never_cache
@login_required
@require_POST
def extension_request(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="extension",
        may=policies.can_request_extension,
        refusal="Only the lab and notified defender organizations can ask for an extension.",
        form_for=lambda f: ExtensionForm(
            request.POST,
            user=request.user,
            name="extension",
            organizations=_organizations_for(request.user, f),
        ),
        run=lambda f, d: extensions.extension_request(
            actor=request.user,
            finding=f,
            ends_at=d["ends_at"],
            reason=d["reason"],
            organization=_chosen_organization(f, d),
        ),
        done="Your extension request for {reference} is with the coordinators.",
    )


DECISIONS = {
    "approve": "The extension of {reference} is approved; the new end is told to everyone.",
    "deny": "The extension request for {reference} is denied.",
    "withdraw": "Your extension request for {reference} is withdrawn.",
}


@never_cache
@login_required
@require_POST
def extension_decide(request: HttpRequest, reference: str, pk: int, decision: str) -> HttpResponse:
    def run(finding: Finding, data: dict[str, Any]) -> Any:
        extension = extension_request_get_for(user=request.user, finding=finding, pk=pk)
        if decision == "withdraw":
            return extensions.extension_withdraw(actor=request.user, request=extension)
        return extensions.extension_decide(
            actor=request.user, request=extension, approve=decision == "approve", note=data["note"]
        )

    return finding_action(
        request,
        reference,
        name=f"decide-{pk}",
        may=(lambda u, f: True) if decision == "withdraw" else policies.can_manage_embargo,
        refusal="Only coordinators can decide extension requests.",
        form_for=lambda f: DecisionForm(request.POST, user=request.user, name=f"decide{pk}"),
        run=run,
        done=DECISIONS[decision],
    )


# --- The timeline page.


@never_cache
@login_required
@require_GET
def finding_timeline(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    # As for the finding page: what is not public yet only to a session that passed MFA.
    if finding.state != Finding.State.RELEASED and (challenge := mfa_challenge(request)):
        return challenge
    context = {
        "finding": finding,
        "entries": timeline_for(request.user, finding),
        "embargo": embargo_of(finding),
        "policy_max_days": policy_max_days(finding),
        "viewer_tlp": Finding.Tlp(policies.tlp_for(request.user, finding)),
    }
    return render(request, "disclosure/timeline.html", context)
