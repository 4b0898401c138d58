"""The audience on the finding page: the proposal on the accept form, the notified
organizations' readiness at a glance, adding and removing organizations during the embargo, and
a defender's readiness report.

Like the triage panel, each action is a POST that checks the role first (403 on the page),
calls a service, and redirects back to the finding; a refusal re-renders the page with the
error on the form and the error's 4xx.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Organization

from .. import policies, selectors, selectors_audience
from ..forms import AcceptForm, DefenderChoiceField
from ..models import Finding, FindingRecipient
from ..services import audience as audience_service
from ..services import readiness as readiness_service
from .actions import finding_action

Readiness = FindingRecipient.Readiness

# --- Forms: shape only; the services decide what is allowed.


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ReadinessForm(_Form):
    readiness = forms.ChoiceField(
        choices=[(value, Readiness(value).label) for value in readiness_service.REPORTABLE],
        widget=forms.RadioSelect,
        label="Your organization is",
    )
    statement = forms.CharField(
        required=False,
        max_length=readiness_service.STATEMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Statement (optional)",
        help_text="For the coordinators: what you are doing, or why you are not affected.",
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, empty_label=None
    )

    def __init__(self, *args: Any, organizations: list[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        field.queryset = Organization.objects.filter(  # type: ignore[attr-defined]
            pk__in=[o.pk for o in organizations]
        ).order_by("name")
        if len(organizations) == 1:
            field.widget = forms.HiddenInput()
            field.initial = organizations[0].pk
        else:
            field.required = True
            field.label = "Report for"


class AudienceAddForm(_Form):
    defender_organizations = DefenderChoiceField(
        queryset=Organization.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Also notify",
        help_text="Only these newcomers are told; the organizations already notified hear "
        "nothing more.",
    )

    def __init__(self, *args: Any, candidates: QuerySet[Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["defender_organizations"].queryset = candidates  # type: ignore[attr-defined]


class AudienceRemoveForm(_Form):
    organization = forms.ChoiceField(label="Remove")
    reason = forms.CharField(
        max_length=audience_service.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail. The organization no longer sees the finding.",
    )

    def __init__(self, *args: Any, recipients: list[FindingRecipient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organizations = {r.organization.slug: r.organization for r in recipients}
        self.fields["organization"].choices = [  # type: ignore[attr-defined]
            ("", "Choose"),
            *((r.organization.slug, r.organization.name) for r in recipients),
        ]

    def clean_organization(self) -> Organization:
        return self.organizations[self.cleaned_data["organization"]]


def _candidates(finding: Finding) -> QuerySet[Organization]:
    """Verified defenders not yet notified of the finding."""
    return audience_service.defenders_verified().exclude(recipient_of__finding=finding)


def _choices(
    form: forms.Form, name: str, reasons: dict[int, list[str]]
) -> list[tuple[Any, list[str]]]:
    """Each checkbox of a multiple-choice field with why it is proposed (empty if it is not)."""
    return [(box, reasons.get(box.data["value"].value, [])) for box in form[name]]


# --- What the finding page shows.


def accept_context(finding: Finding, form: AcceptForm | None = None) -> dict[str, Any]:
    """The accept form over the verified defenders, the proposed ones ticked, with reasons."""
    reasons = {o.pk: r for o, r in audience_service.audience_propose(finding)}
    if form is None:
        form = AcceptForm(
            initial={"defender_organizations": list(reasons)},
            defenders=audience_service.defenders_verified(),
        )
    return {
        "accept_form": form,
        "accept_choices": _choices(form, "defender_organizations", reasons),
        "accept_proposed": len(reasons),
    }


def audience_context(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient],
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What _audience.html and _readiness_form.html need. ``recipients``: the finding's rows
    (selectors.recipients_of); ``bound``: a form that failed, to show again with its errors."""
    bound = bound or {}
    access, shown = selectors_audience.recipients_for(user, finding, recipients)
    counted = access in (policies.RECIPIENTS_ALL, policies.RECIPIENTS_COUNTS) and recipients
    panel: dict[str, Any] = {
        "access": access,
        "rows": shown,
        # A defender sees its own row, not counts over the others.
        "summary": selectors_audience.readiness_summary(finding, recipients) if counted else None,
    }
    if (
        access == policies.RECIPIENTS_ALL
        and finding.state == Finding.State.EMBARGOED
        and policies.can_manage_audience(user, finding)
    ):
        reasons = {o.pk: r for o, r in audience_service.audience_propose(finding)}
        add = bound.get("audience-add") or AudienceAddForm(candidates=_candidates(finding))
        panel["add_form"] = add
        panel["add_choices"] = _choices(add, "defender_organizations", reasons)
        if len(recipients) > 1:
            panel["remove_form"] = bound.get("audience-remove") or AudienceRemoveForm(
                recipients=recipients
            )
    if access == policies.RECIPIENTS_OWN and policies.can_acknowledge(user, finding):
        organizations = [r.organization for r in shown]
        form = bound.get("readiness")
        if form is None:
            current = shown[0]
            initial = {"statement": current.readiness_statement}
            if current.readiness != Readiness.NOT_ASSESSED:
                initial["readiness"] = current.readiness
            form = ReadinessForm(organizations=organizations, initial=initial)
        panel["readiness_form"] = form
    return {"audience": panel}


# --- Actions.


@never_cache
@login_required
@require_POST
def finding_readiness(request: HttpRequest, reference: str) -> HttpResponse:
    def form_for(finding: Finding) -> forms.Form:
        mine = policies.defender_orgs_for(request.user, finding)
        organizations = list(Organization.objects.filter(pk__in=mine))
        return ReadinessForm(request.POST, organizations=organizations)

    return finding_action(
        request,
        reference,
        name="readiness",
        may=policies.can_acknowledge,
        refusal="Only members of a notified defender organization can report their readiness.",
        form_for=form_for,
        run=lambda f, d: readiness_service.readiness_report(
            actor=request.user,
            finding=f,
            readiness=d["readiness"],
            statement=d["statement"],
            organization=d["organization"],
        ),
        done="Your readiness on {reference} is saved.",
    )


@never_cache
@login_required
@require_POST
def finding_audience_add(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="audience-add",
        may=policies.can_manage_audience,
        refusal="Only coordinators can add organizations to the audience.",
        form_for=lambda f: AudienceAddForm(request.POST, candidates=_candidates(f)),
        run=lambda f, d: audience_service.audience_add(
            actor=request.user, finding=f, organizations=list(d["defender_organizations"])
        ),
        done="The organizations added to {reference}'s audience are being notified.",
    )


@never_cache
@login_required
@require_POST
def finding_audience_remove(request: HttpRequest, reference: str) -> HttpResponse:
    return finding_action(
        request,
        reference,
        name="audience-remove",
        may=policies.can_manage_audience,
        refusal="Only coordinators can remove organizations from the audience.",
        form_for=lambda f: AudienceRemoveForm(
            request.POST, recipients=list(selectors.recipients_of(f))
        ),
        run=lambda f, d: audience_service.audience_remove(
            actor=request.user, finding=f, organization=d["organization"], reason=d["reason"]
        ),
        done="The organization is removed from {reference}'s audience.",
    )
