"""The release plan on the finding page: every reader sees the stages (selectors_stages), and
a coordinator edits the stages not yet fired in a form of rows.

The rows are taken in order of their times (a blank audience drops a row), after the fired
stages, so a coordinator adds a stage by filling the empty row with any time before the public
release. A refusal re-renders the page with the error on the row it names and the error's 4xx.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import mfa_challenge

from .. import policies, selectors
from ..errors import ApplicationError, NotAllowed
from ..forms import LocalDateTimeField, time_zone_field, zoned_clean
from ..models import Finding, FindingRecipient, ReleaseStage
from ..selectors_content import sectors_all
from ..selectors_stages import release_plan_for
from ..services import stages as stages_service
from ..services.audience import defenders_verified
from ..services.stages_plan import MAX_STAGES
from ..timezones import UTC_NAME, user_zone
from . import findings as finding_pages

Audience = ReleaseStage.Audience
EXTRA_ROWS = 1
PREFIX = "stage"

# --- Forms: shape only; the service checks the plan.


class StageRowForm(forms.Form):
    audience = forms.ChoiceField(
        choices=[("", "— no stage —"), *Audience.choices], required=False, label="Audience"
    )
    organizations = forms.MultipleChoiceField(
        required=False, label="Organizations", widget=forms.SelectMultiple(attrs={"size": 4})
    )
    sectors = forms.MultipleChoiceField(
        required=False, label="Sectors", widget=forms.SelectMultiple(attrs={"size": 4})
    )
    tlp = forms.ChoiceField(
        choices=[("", "As before"), *Finding.Tlp.choices], required=False, label="TLP label"
    )
    scheduled_at = LocalDateTimeField(required=False, label="Time")

    def __init__(
        self,
        *args: Any,
        organizations: list[tuple[str, str]],
        sectors: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["organizations"].choices = organizations  # type: ignore[attr-defined]
        self.fields["sectors"].choices = sectors  # type: ignore[attr-defined]


# absolute_max: a posted TOTAL_FORMS beyond it is refused without building that many forms.
StageFormSet = forms.formset_factory(
    StageRowForm, extra=EXTRA_ROWS, max_num=MAX_STAGES, absolute_max=MAX_STAGES
)


class PlanForm(forms.Form):
    """What goes with the rows: the zone their times are in, and a reason for the release."""

    time_zone = time_zone_field()
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason",
        help_text="If the public release moves: why. Required beyond the policy maximum for "
        "the risk level; kept in the embargo's history.",
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        zone = user_zone(user)
        self.fields["time_zone"].initial = zone.key if zone else UTC_NAME


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "organizations": [(o.slug, o.name) for o in defenders_verified()],
        "sectors": [(s.slug, s.name) for s in sectors_all()],
    }


def _rows(plan_rows: list[Any], user: Any) -> Any:
    """The formset of the stages not yet fired, and one empty row; times as wall-clock times
    in the user's zone, which the form's time zone field starts with."""
    zone = user_zone(user) or dt.UTC
    initial = [
        {
            "audience": row.stage.audience,
            "organizations": [o.slug for o in row.organizations],
            "sectors": [s.slug for s in row.sectors],
            "tlp": row.stage.tlp,
            "scheduled_at": timezone.make_naive(row.stage.scheduled_at, zone),
        }
        for row in plan_rows
        if row.stage.fired_at is None
    ]
    return StageFormSet(initial=initial, prefix=PREFIX, form_kwargs=_choices())


# --- What the finding page shows.


def release_plan_context(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient],
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What _release_plan.html needs; nothing for those who may not read the plan (or when
    there is none). ``recipients``: the finding's rows (selectors.recipients_of); ``bound``:
    the forms that failed, shown again with their errors."""
    if finding.state not in (Finding.State.EMBARGOED, Finding.State.RELEASED):
        return {}
    try:
        plan = release_plan_for(user, finding, recipients=recipients)
    except Http404:
        return {}
    if not plan.rows:
        return {}
    panel: dict[str, Any] = {"plan": plan}
    if plan.editable:
        bound = bound or {}
        panel["rows_form"] = bound.get("release-plan-rows") or _rows(plan.rows, user)
        panel["fired"] = sum(row.stage.fired_at is not None for row in plan.rows)
        panel["plan_form"] = bound.get("release-plan") or PlanForm(user=user)
        panel["plan_errors"] = bound.get("release-plan-errors", [])
    return {"release_plan": panel}


# --- Editing.


def _items(
    rows_form: Any, fired: int, planned: list[ReleaseStage]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The plan for the service: the fired stages as they are, then the filled rows in order
    of time; and which form each new stage came from.

    The form shows times to the minute: a row still showing a planned stage's time keeps that
    time exactly, so that saving does not move the release by its seconds (and tell everyone).
    """
    exact = {s.scheduled_at.replace(second=0, microsecond=0): s.scheduled_at for s in planned}
    filled = [
        (i, form.cleaned_data)
        for i, form in enumerate(rows_form.forms)
        if form.cleaned_data.get("audience")
    ]
    for _, data in filled:
        if data.get("scheduled_at") in exact:
            data["scheduled_at"] = exact[data["scheduled_at"]]
    filled.sort(key=lambda r: (r[1]["scheduled_at"] is None, r[1]["scheduled_at"] or 0, r[0]))
    items: list[dict[str, Any]] = [{} for _ in range(fired)]
    for _, data in filled:
        items.append({k: v for k, v in data.items() if v not in (None, "")})
    return items, [i for i, _ in filled]


def _place_errors(
    rows_form: Any, plan_form: PlanForm, error: ApplicationError, fired: int, order: list[int]
) -> list[str]:
    """Each ``stages[i].field`` error on the row it names, ``reason`` on its field; the rest
    for the top of the form."""
    loose: list[str] = []
    detail = error.detail if isinstance(error.detail, dict) else {"": error.detail}
    for key, message in detail.items():
        if key == "reason":
            plan_form.add_error("reason", message)
            continue
        index, _, field = key.partition("].")
        if key.startswith("stages[") and index[7:].isdigit():
            position = int(index[7:]) - fired
            if 0 <= position < len(order):
                form = rows_form.forms[order[position]]
                form.add_error(field if field in form.fields else None, message)
                continue
            loose.append(f"Stage {int(index[7:]) + 1}: {message}")
            continue
        loose.append(str(message))
    return loose


@never_cache
@login_required
@require_POST
def finding_release_plan(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if challenge := mfa_challenge(request):  # the embargoed plan: MFA first (accounts.access)
        return challenge
    if not policies.can_edit_release_plan(request.user, finding):
        return finding_pages._refused(
            request, finding, NotAllowed("Only coordinators can change the release plan.")
        )
    rows_form = StageFormSet(request.POST, prefix=PREFIX, form_kwargs=_choices())
    plan_form = PlanForm(request.POST, user=request.user)
    status, errors = 400, []
    if rows_form.is_valid() and plan_form.is_valid():
        zone = plan_form.cleaned_data["time_zone"] or UTC_NAME
        for form in rows_form.forms:
            form.cleaned_data["time_zone"] = zone
            zoned_clean(form, "scheduled_at")
        stages = list(finding.stages.order_by("position"))
        fired = sum(s.fired_at is not None for s in stages)
        items, order = _items(rows_form, fired, [s for s in stages if s.fired_at is None])
        if not any(form.errors for form in rows_form.forms):
            try:
                stages_service.plan_set(
                    actor=request.user,
                    finding=finding,
                    stages=items,
                    reason=plan_form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                errors = _place_errors(rows_form, plan_form, exc, fired, order)
                status = exc.status_code
            else:
                messages.success(request, f"The release plan of {finding.reference} is saved.")
                return redirect("finding-detail", reference=finding.reference)
    bound = {
        "release-plan-rows": rows_form,
        "release-plan": plan_form,
        "release-plan-errors": errors,
    }
    return finding_pages._detail_response(request, finding, forms=bound, status=status)
