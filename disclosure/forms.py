"""Forms for the pages. They check shape only; the services decide what is allowed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization

from .errors import ApplicationError
from .models import CapabilityCategory, Finding

TEXTAREA_ROWS = {"summary": 3, "details": 8, "recommended_actions": 5}


class FindingForm(forms.Form):
    developer = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label="Filed for", empty_label=None
    )
    title = forms.CharField(max_length=300)
    model_name = forms.CharField(max_length=200, label="Model name")
    model_version = forms.CharField(
        max_length=200,
        required=False,
        label="Model version",
        help_text="Embargoed until release.",
    )
    category = forms.ModelChoiceField(
        queryset=CapabilityCategory.objects.select_related("taxonomy"),
        label="Capability category",
    )
    risk_level = forms.ChoiceField(choices=Finding.RiskLevel.choices, label="Risk level")
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": TEXTAREA_ROWS["summary"]}),
        help_text="Public: shown to everyone who may see the finding, and to the world at release.",
    )
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": TEXTAREA_ROWS["details"]}),
        help_text="Embargoed: evaluation evidence and specifics, for notified defenders only.",
    )
    recommended_actions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": TEXTAREA_ROWS["recommended_actions"]}),
        label="Recommended defender actions",
        help_text="Embargoed until release.",
    )

    def __init__(self, *args: Any, labs: QuerySet[Organization], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        field = self.fields["developer"]
        field.queryset = labs  # type: ignore[attr-defined]
        if len(labs) == 1:
            field.initial = labs[0].pk
            field.widget = forms.HiddenInput()

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values in the shape ``intake.finding_create`` takes."""
        return {k: v for k, v in self.cleaned_data.items() if k != "developer"}


class UTCDateTimeField(forms.DateTimeField):
    """A browser's datetime-local value, which has no zone, read as UTC whatever the locale."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> dt.datetime | None:
        with timezone.override(dt.UTC):
            return super().to_python(value)


class DefenderChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organization) -> str:  # type: ignore[override]
        return f"{obj.name} ({obj.sector})" if obj.sector else obj.name


class AcceptForm(forms.Form):
    defender_organizations = DefenderChoiceField(
        queryset=Organization.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Notify these defender organizations",
    )
    embargo_ends_at = UTCDateTimeField(
        label="Embargo ends (UTC)",
        help_text="Date and time in UTC. The finding is released automatically then.",
    )
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit trail.",
    )

    def __init__(self, *args: Any, defenders: QuerySet[Organization], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["defender_organizations"].queryset = defenders  # type: ignore[attr-defined]


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the lab and recorded in the audit trail.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def form_add_application_error(form: forms.Form, error: ApplicationError) -> None:
    """Put a service's refusal on the form: per field where it names one, else on the form."""
    if isinstance(error.detail, dict):
        for name, message in error.detail.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, error.detail)
