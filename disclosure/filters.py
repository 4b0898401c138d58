"""Search and filters for the findings list, shared by the API and the /findings/ page.

The FilterSet only narrows a queryset it is given, and callers always give it
``selectors.findings_visible_to(user)`` (``finding_filter_for`` does exactly that), so neither
a filter nor the search can reach a finding the user may not see.

A value the filters do not know (an unknown state, lab or category, a malformed date) and a
parameter they do not know (a typo such as ``?stat=``) make the whole request invalid: a
silently ignored filter would show more than the user asked for and look like an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.models import Organization

from . import selectors
from .models import CapabilityCategory, Finding, Taxonomy
from .search import MAX_QUERY_LENGTH, findings_matching

State = Finding.State
# Multiple-choice filters say distinct=False: they never join a to-many relation, and
# django-filter's default DISTINCT would make PostgreSQL sort every match instead of walking the
# (created_at, id) index for the first page.
# Query parameters that are not filters but that the list understands.
PAGINATION_PARAMS = frozenset({"cursor"})


def _invalid_choice(what: str, values: list[str]) -> dict[str, str]:
    return {"invalid_choice": f"Unknown {what} '%(value)s'; use one of: {', '.join(values)}."}


class TlpField(forms.MultipleChoiceField):
    """TLP labels, forgiving about case, a ``TLP:`` prefix and a ``+`` that a URL made a space."""

    def to_python(self, value: Any) -> list[str]:
        labels = super().to_python(value)
        return [label.strip().upper().removeprefix("TLP:").replace(" ", "+") for label in labels]


class TlpFilter(django_filters.MultipleChoiceFilter):
    field_class = TlpField


class CategoryKeyField(forms.ModelChoiceField):
    """A capability category named by its key, ``<taxonomy slug>:<code>``."""

    default_error_messages = {
        "invalid_choice": "Unknown category '%(value)s'; name one as '<taxonomy>:<code>', "
        "e.g. 'openai-pf-v2:cybersecurity'.",
    }

    def to_python(self, value: Any) -> CapabilityCategory | None:
        if value in self.empty_values:
            return None
        slug, _, code = str(value).partition(":")
        categories = self.queryset if self.queryset is not None else CapabilityCategory.objects
        category = categories.filter(taxonomy__slug=slug, code=code).first()
        if category is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": str(value)},
            )
        return category

    def prepare_value(self, value: Any) -> Any:
        return value.key if isinstance(value, CapabilityCategory) else value

    def label_from_instance(self, obj: CapabilityCategory) -> str:
        return f"{obj.label} ({obj.taxonomy})"


@extend_schema_field(OpenApiTypes.STR)
class CategoryFilter(django_filters.ModelChoiceFilter):
    field_class = CategoryKeyField


class DayFilter(django_filters.DateFilter):
    """A UTC calendar day bounding a datetime field: ``after`` includes the day, so does
    ``before``. Compares with the column itself (never ``__date``), so indexes still apply."""

    def __init__(self, *args: Any, bound: str, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": "Give a date as YYYY-MM-DD."})
        what = "on or after" if bound == "after" else "on or before"
        kwargs.setdefault("help_text", f"{what.capitalize()} this UTC day, YYYY-MM-DD.")
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)
        self.bound = bound

    def filter(self, qs: QuerySet[Any], value: date | None) -> QuerySet[Any]:
        if value is None:
            return qs
        start = timezone.make_aware(datetime.combine(value, time.min), UTC)
        if self.bound == "after":
            return qs.filter(**{f"{self.field_name}__gte": start})
        return qs.filter(**{f"{self.field_name}__lt": start + timedelta(days=1)})


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet for which an unknown parameter, or a single-valued one given twice, makes
    the request invalid like a bad value does; ``error_detail`` names each one."""

    def __init__(self, data: Mapping[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.param_errors = self._param_errors(data or {})

    def _param_errors(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Parameters nobody understands, and single-valued ones given more than once."""
        errors = {}
        known = sorted(self.filters)
        for name in data:
            if name not in self.filters and name not in PAGINATION_PARAMS:
                errors[name] = f"Unknown parameter; the filters are: {', '.join(known)}."
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            for name, spec in self.filters.items():
                multiple = isinstance(spec, django_filters.MultipleChoiceFilter)
                if not multiple and len(getlist(name)) > 1:
                    errors[name] = "Give this parameter once."
        return errors

    def is_valid(self) -> bool:
        return not self.param_errors and super().is_valid()

    def error_detail(self) -> dict[str, str]:
        """``{"parameter": "what is wrong"}``, the API's shape for a 400."""
        detail = {name: " ".join(messages) for name, messages in self.errors.items()}
        detail.update(self.param_errors)
        return detail


class FindingFilter(StrictFilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Title, reference, model…"}),
        help_text="Words in the reference, title, summary, model name or category (public "
        'fields only); on PostgreSQL also "a phrase", or, -word.',
    )
    state = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=State.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages=_invalid_choice("state", State.values),
        help_text="Any of these states (repeat the parameter).",
    )
    category = CategoryFilter(
        queryset=CapabilityCategory.objects.select_related("taxonomy").order_by(
            "taxonomy__framework", "taxonomy__version", "position", "code"
        ),
        label="Category",
        empty_label="Any category",
        help_text="A capability category, '<taxonomy>:<code>'.",
    )
    taxonomy = django_filters.ModelChoiceFilter(
        field_name="category__taxonomy",
        to_field_name="slug",
        queryset=Taxonomy.objects.order_by("framework", "version"),
        label="Framework",
        empty_label="Any framework",
        error_messages={"invalid_choice": "Unknown taxonomy '%(value)s'; give a taxonomy slug."},
        help_text="Any category of this taxonomy (its slug).",
    )
    risk_level = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=Finding.RiskLevel.choices,
        label="Risk",
        widget=forms.CheckboxSelectMultiple,
        error_messages=_invalid_choice("risk level", Finding.RiskLevel.values),
        help_text="Risk before mitigations; any of these (repeat the parameter).",
    )
    residual_risk_level = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=Finding.RiskLevel.choices,
        label="Residual risk",
        widget=forms.CheckboxSelectMultiple,
        error_messages=_invalid_choice("risk level", Finding.RiskLevel.values),
        help_text="Risk after mitigations; any of these (repeat the parameter).",
    )
    lab = django_filters.ModelChoiceFilter(
        field_name="developer",
        to_field_name="slug",
        queryset=Organization.objects.filter(kind=Organization.Kind.DEVELOPER).order_by("name"),
        label="Lab",
        empty_label="Any lab",
        error_messages={
            "invalid_choice": "Unknown lab '%(value)s'; give a developer organization's slug."
        },
        help_text="The developer organization (its slug).",
    )
    tlp = TlpFilter(
        distinct=False,
        choices=Finding.Tlp.choices,
        label="TLP",
        widget=forms.CheckboxSelectMultiple,
        error_messages=_invalid_choice("TLP label", Finding.Tlp.values),
        help_text="Any of these TLP 2.0 labels (repeat the parameter).",
    )
    assignee = django_filters.ChoiceFilter(
        choices=[("me", "Assigned to me"), ("none", "Unassigned")],
        method="filter_assignee",
        label="Assignee",
        empty_label="Anyone or no one",
        error_messages=_invalid_choice("assignee", ["me", "none"]),
        help_text="'me' for findings assigned to you, 'none' for unassigned ones.",
    )
    created_after = DayFilter(field_name="created_at", bound="after", label="Created from")
    created_before = DayFilter(field_name="created_at", bound="before", label="Created until")
    submitted_after = DayFilter(field_name="submitted_at", bound="after", label="Submitted from")
    submitted_before = DayFilter(field_name="submitted_at", bound="before", label="Submitted until")
    released_after = DayFilter(field_name="released_at", bound="after", label="Released from")
    released_before = DayFilter(field_name="released_at", bound="before", label="Released until")

    class Meta:
        model = Finding
        fields: list[str] = []  # every filter is declared above

    @property
    def is_filtering(self) -> bool:
        """Whether any filter beyond the search text is set (the page opens its filter panel)."""
        getlist = getattr(self.data, "getlist", None)
        return any(
            any(value for value in (getlist(name) if getlist else [self.data[name]]))
            for name in self.data
            if name not in {"q", *PAGINATION_PARAMS}
        )

    def filter_search(
        self, findings: QuerySet[Finding], name: str, value: str
    ) -> QuerySet[Finding]:
        return findings_matching(findings, value)

    def filter_assignee(
        self, findings: QuerySet[Finding], name: str, value: str
    ) -> QuerySet[Finding]:
        if value == "me":
            me = getattr(getattr(self.request, "user", None), "pk", None)
            return findings.filter(assignee_id=me) if me is not None else findings.none()
        if value == "none":
            return findings.filter(assignee__isnull=True)
        return findings


def finding_filter_for(request: Any) -> FindingFilter:
    """The filters bound to the request's query, over exactly the findings its user may see
    (without their embargoed fields, which no list shows)."""
    findings = selectors.findings_visible_to(request.user).defer(*Finding.EMBARGOED_FIELDS)
    return FindingFilter(request.GET, queryset=findings, request=request)
