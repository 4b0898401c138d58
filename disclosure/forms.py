"""Forms for the pages. They check shape only; the services decide what is allowed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Organization

from .errors import ApplicationError
from .models import Credit, Evaluation, Finding, Mitigation
from .selectors_content import category_choices, sectors_all
from .timezones import UTC_NAME, datetime_input

TEXTAREA_ROWS = {"summary": 3, "details": 8, "recommended_actions": 5}
PUBLIC = "Public before release."
EMBARGOED = "Embargoed until release."


class FindingForm(forms.Form):
    """The whole finding; the evidence and mitigations come as formsets beside it."""

    developer = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label="Filed for", empty_label=None
    )
    title = forms.CharField(max_length=300, help_text=PUBLIC)
    model_name = forms.CharField(max_length=200, label="Model name", help_text=PUBLIC)
    model_version = forms.CharField(
        max_length=200,
        required=False,
        label="Version or checkpoint",
        help_text=EMBARGOED,
    )
    deployment_surfaces = forms.MultipleChoiceField(
        choices=Finding.Surface.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Deployment surfaces",
        help_text="Where the model is or will be available. " + EMBARGOED,
    )
    planned_availability = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Planned availability",
        help_text=EMBARGOED,
    )
    category = forms.ChoiceField(
        label="Capability category",
        help_text="From the capability taxonomies, grouped by framework. " + PUBLIC,
    )
    risk_level = forms.ChoiceField(
        choices=Finding.RiskLevel.choices,
        label="Risk before mitigations",
        help_text=PUBLIC,
    )
    residual_risk_level = forms.ChoiceField(
        choices=[("", "Not assessed"), *Finding.RiskLevel.choices],
        required=False,
        label="Risk after mitigations",
        help_text="Never above the risk before them. " + PUBLIC,
    )
    tlp = forms.ChoiceField(
        choices=[(value, label) for value, label in Finding.Tlp.choices],
        initial=Finding.Tlp.AMBER_STRICT,
        label="TLP label",
        help_text="Traffic Light Protocol 2.0: how far notified defenders may share it. " + PUBLIC,
    )
    affected_sectors = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Affected sectors",
        help_text=PUBLIC,
    )
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
        help_text=EMBARGOED,
    )

    def __init__(
        self, *args: Any, labs: QuerySet[Organization] | None = None, **kwargs: Any
    ) -> None:
        """``labs``: the developer organizations to file for; None when editing."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", "Choose a category"),
            *category_choices(),
        ]
        self.fields["affected_sectors"].choices = [  # type: ignore[attr-defined]
            (sector.slug, sector.name) for sector in sectors_all()
        ]
        if labs is None:
            del self.fields["developer"]
            return
        field = self.fields["developer"]
        field.queryset = labs  # type: ignore[attr-defined]
        if len(labs) == 1:
            field.initial = labs[0].pk
            field.widget = forms.HiddenInput()

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values in the shape ``intake.finding_create`` takes."""
        return {k: v for k, v in self.cleaned_data.items() if k != "developer"}


class EvaluationForm(forms.Form):
    """One evaluation of the evidence table. A blank extra row is skipped."""

    name = forms.CharField(max_length=200)
    method = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    checkpoint = forms.ChoiceField(
        choices=[("", "Choose"), *Evaluation.Checkpoint.choices], label="Checkpoint evaluated"
    )
    modifications = forms.MultipleChoiceField(
        choices=Evaluation.Modification.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Modification testing",
    )
    metric = forms.CharField(max_length=200)
    result = forms.CharField(max_length=200)
    baseline = forms.CharField(max_length=200, required=False)
    uplift = forms.CharField(max_length=200, required=False, label="Measured uplift")
    evaluated_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Date")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MitigationForm(forms.Form):
    description = forms.CharField(max_length=2000)
    status = forms.ChoiceField(choices=[("", "Choose"), *Mitigation.Status.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# A few empty rows to fill in, no JavaScript needed; a row ticked "Remove" is dropped.
# At most FORMSET_MAX_ROWS rows: Django builds (and shows again) as many forms as the posted
# TOTAL_FORMS asks for up to absolute_max, 2,000 by default, seconds of work per request.
FORMSET_MAX_ROWS = 100
EvaluationFormSet = forms.formset_factory(
    EvaluationForm,
    extra=2,
    can_delete=True,
    max_num=FORMSET_MAX_ROWS,
    absolute_max=FORMSET_MAX_ROWS,
)
MitigationFormSet = forms.formset_factory(
    MitigationForm,
    extra=2,
    can_delete=True,
    max_num=FORMSET_MAX_ROWS,
    absolute_max=FORMSET_MAX_ROWS,
)


def formset_rows(formset: forms.BaseFormSet) -> list[forms.Form]:
    """The rows that count, in order: every kept row given before, and every filled new one.

    Call after validation (it reads each row's cleaned data)."""
    rows = []
    for i, form in enumerate(formset.forms):
        if getattr(form, "cleaned_data", {}).get("DELETE"):
            continue
        if i >= formset.initial_form_count() and not form.has_changed():
            continue
        rows.append(form)
    return rows


def formset_values(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The rows as the services take them (a list of plain dicts, dates as dates)."""
    return [
        {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
        for form in formset_rows(formset)
    ]


def formsets_add_application_error(
    error: ApplicationError, form: forms.Form, formsets: dict[str, forms.BaseFormSet]
) -> None:
    """Put a service's refusal where it belongs: on a formset row ('evaluations[1].metric'),
    on the finding form's field, or on the form as a whole."""
    if not isinstance(error.detail, dict):
        form.add_error(None, error.detail)
        return
    for key, message in error.detail.items():
        name, _, rest = str(key).partition("[")
        if name in formsets and rest:
            index, _, field = rest.partition("].")
            rows = formset_rows(formsets[name])
            if index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                row.add_error(field if field in row.fields else None, message)
                continue
        form.add_error(name if name in form.fields else None, message)


class CreditForm(forms.Form):
    email = forms.EmailField(
        label="Email address of the person",
        help_text="They must be able to see this finding; they accept or decline the credit.",
    )
    type = forms.ChoiceField(choices=Credit.Type.choices, label="Credit as")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A browser's datetime-local value: a wall-clock time without a zone, kept naive for
    ``zoned_clean`` to read in the form's ``time_zone``; an ISO 8601 time with an offset is
    taken as it is."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
        with timezone.override(dt.UTC):  # Django's other input formats; "Enter a valid ..."
            result = super().to_python(value)
        return None if result is None else timezone.make_naive(result, dt.UTC)


def time_zone_field(initial: str = UTC_NAME) -> forms.CharField:
    """An IANA zone name, typed with the suggestions of the page's #time-zones datalist."""
    return forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        initial=initial,
        widget=forms.TextInput(
            attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="IANA name, e.g. Europe/Berlin; UTC if empty.",
    )


def zoned_clean(form: forms.Form, *names: str) -> None:
    """In ``clean()``: turn the named LocalDateTimeFields into aware UTC datetimes, read in the
    form's ``time_zone``; unknown zones and times a DST change skips or repeats are errors."""
    zone = form.cleaned_data.get("time_zone") or UTC_NAME
    for name in names:
        value = form.cleaned_data.get(name)
        if value is None:
            continue
        try:
            form.cleaned_data[name] = datetime_input(value, time_zone=zone, field=name)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            return


class DefenderChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organization) -> str:  # type: ignore[override]
        return f"{obj.name} ({obj.sector})" if obj.sector else obj.name


class AcceptForm(forms.Form):
    defender_organizations = DefenderChoiceField(
        queryset=Organization.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Notify these defender organizations",
    )
    embargo_ends_at = LocalDateTimeField(
        label="Embargo ends",
        required=False,
        help_text="In the time zone below. The finding is released automatically then. Leave "
        "it empty to take the proposed embargo's end.",
    )
    time_zone = time_zone_field()
    over_policy_reason = forms.CharField(
        label="Reason to go beyond the policy",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed only if the end is past the policy maximum for the risk level; "
        "shown on the timeline.",
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

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        zoned_clean(self, "embargo_ends_at")
        return cleaned


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
