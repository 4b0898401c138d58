"""Pages for what a finding records: filing it in full, editing it, and the detail page's
content sections (evidence, mitigations, sectors, credits, revisions and their diffs).

The forms check shape; intake validates and writes, and records a revision for each edit.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Organization

from .. import policies, selectors, selectors_content
from ..errors import ApplicationError
from ..forms import (
    CreditForm,
    EvaluationFormSet,
    FindingForm,
    MitigationFormSet,
    formset_values,
    formsets_add_application_error,
)
from ..models import Credit, Evaluation, Finding, FindingRecipient, FindingRevision
from ..services import audit, intake
from ..services.revisions import finding_content, revision_diff

Kind = Organization.Kind

# How a page names each field a revision records.
CONTENT_FIELD_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "model_name": "Model",
    "model_version": "Version or checkpoint",
    "deployment_surfaces": "Deployment surfaces",
    "planned_availability": "Planned availability",
    "category": "Capability category",
    "risk_level": "Risk before mitigations",
    "residual_risk_level": "Risk after mitigations",
    "tlp": "TLP label",
    "affected_sectors": "Affected sectors",
    "details": "Details",
    "evaluations": "Evaluations",
    "mitigations": "Mitigations",
    "recommended_actions": "Recommended defender actions",
}


# --- Filing and editing.


def _bound_forms(request: HttpRequest, **form_kwargs: Any) -> tuple[FindingForm, dict[str, Any]]:
    form = FindingForm(request.POST, **form_kwargs)
    formsets = {
        "evaluations": EvaluationFormSet(request.POST, prefix="evaluations"),
        "mitigations": MitigationFormSet(request.POST, prefix="mitigations"),
    }
    return form, formsets


def _all_valid(form: FindingForm, formsets: dict[str, Any]) -> bool:
    # Validate every part (no short-circuit), so that every error shows at once.
    results = [form.is_valid(), *(formset.is_valid() for formset in formsets.values())]
    return all(results)


def _service_fields(form: FindingForm, formsets: dict[str, Any]) -> dict[str, Any]:
    fields = form.service_fields()
    fields.update({name: formset_values(formset) for name, formset in formsets.items()})
    return fields


def _render_form(
    request: HttpRequest,
    form: FindingForm,
    formsets: dict[str, Any],
    *,
    finding: Finding | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, **formsets, "finding": finding}
    return render(request, "disclosure/finding_form.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def finding_new(request: HttpRequest) -> HttpResponse:
    if not policies.can_file_findings(request.user):
        raise PermissionDenied("Only members of an AI developer organization can file findings.")
    labs = Organization.objects.filter(
        pk__in=policies.org_ids(request.user, Kind.DEVELOPER)
    ).order_by("name")
    if request.method != "POST":
        formsets: dict[str, Any] = {
            "evaluations": EvaluationFormSet(prefix="evaluations"),
            "mitigations": MitigationFormSet(prefix="mitigations"),
        }
        return _render_form(request, FindingForm(labs=labs), formsets)
    form, formsets = _bound_forms(request, labs=labs)
    status = 400
    if _all_valid(form, formsets):
        submit = "submit" in request.POST
        try:
            # One transaction: "Submit" never leaves a stray draft behind when the submit fails.
            with transaction.atomic():
                finding = intake.finding_create(
                    actor=request.user,
                    developer=form.cleaned_data["developer"],
                    **_service_fields(form, formsets),
                )
                if submit:
                    finding = intake.finding_submit(actor=request.user, finding=finding)
        except ApplicationError as exc:
            formsets_add_application_error(exc, form, formsets)
            status = exc.status_code
        else:
            if submit:
                messages.success(request, f"{finding.reference} is submitted for coordination.")
            else:
                messages.success(request, f"{finding.reference} is saved as a draft.")
            return redirect("finding-detail", reference=finding.reference)
    return _render_form(request, form, formsets, status=status)


def _initial(finding: Finding) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The finding's content as the forms' initial values (the shape a revision stores)."""
    content = finding_content(finding)
    lists = {name: content.pop(name) for name in ("evaluations", "mitigations")}
    return content, lists


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def finding_edit(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not policies.can_edit_finding(request.user, finding):
        raise PermissionDenied(
            "Only the finding's lab and the coordinators can edit it, and not once it is "
            "released, rejected, a duplicate or withdrawn."
        )
    if request.method != "POST":
        audit.finding_read_record(actor=request.user, finding=finding, via="edit")  # the form
        initial, lists = _initial(finding)
        formsets: dict[str, Any] = {
            "evaluations": EvaluationFormSet(prefix="evaluations", initial=lists["evaluations"]),
            "mitigations": MitigationFormSet(prefix="mitigations", initial=lists["mitigations"]),
        }
        return _render_form(request, FindingForm(initial=initial), formsets, finding=finding)
    form, formsets = _bound_forms(request)
    status = 400
    if _all_valid(form, formsets):
        revisions_before = finding.revisions.count()
        try:
            intake.finding_update(
                actor=request.user, finding=finding, **_service_fields(form, formsets)
            )
        except ApplicationError as exc:
            formsets_add_application_error(exc, form, formsets)
            status = exc.status_code
        else:
            if finding.revisions.count() == revisions_before:
                messages.info(request, "Nothing changed.")
            else:
                messages.success(request, f"{finding.reference} is updated.")
            return redirect("finding-detail", reference=finding.reference)
    return _render_form(request, form, formsets, finding=finding, status=status)


# --- The detail page's content sections.


def _diff_rows(diff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A revision_diff with labels, and each line marked added, removed or context."""
    rows = []
    for entry in diff:
        lines = []
        for line in entry["diff"]:
            kind = (
                "hunk"
                if line.startswith("@@")
                else "add"
                if line.startswith("+")
                else "del"
                if line.startswith("-")
                else "ctx"
            )
            lines.append({"text": line, "kind": kind})
        label = CONTENT_FIELD_LABELS.get(entry["field"], entry["field"])
        rows.append({"field": entry["field"], "label": label, "lines": lines})
    return rows


def _history(revisions: list[FindingRevision]) -> list[dict[str, Any]]:
    """Each revision, newest first, with its labelled diff against the one before."""
    history = []
    for i, revision in enumerate(revisions):
        previous = revisions[i - 1] if i else None
        history.append(
            {
                "revision": revision,
                "author": (revision.author.full_name or "").strip() or "(name not given)",
                "changed": [CONTENT_FIELD_LABELS.get(f, f) for f in revision.changed_fields],
                # The filing itself is the content shown above; a diff of it says nothing more.
                "diff": _diff_rows(revision_diff(previous, revision)) if previous else [],
            }
        )
    history.reverse()
    return history


def _changes_since(revisions: list[FindingRevision], notified: int | None) -> dict[str, Any] | None:
    if notified is None or not revisions:
        return None
    current = revisions[-1]
    old = next((r for r in revisions if r.number == notified), None)
    diff = [] if current.number == notified else revision_diff(old, current)
    return {"since": notified, "current": current.number, "diff": _diff_rows(diff)}


def evidence_context(finding: Finding) -> dict[str, Any]:
    """The finding's content with display labels: surfaces, sectors, evaluations, mitigations.

    The finding's relations must be prefetched (selectors_content.content_prefetch).
    """
    modification_labels = dict(Evaluation.Modification.choices)
    return {
        "surface_labels": [
            str(Finding.Surface(value).label) for value in finding.deployment_surfaces
        ],
        "sectors": list(finding.affected_sectors.all()),
        "evaluation_rows": [
            {
                "evaluation": evaluation,
                "modifications": [modification_labels.get(m, m) for m in evaluation.modifications],
            }
            for evaluation in finding.evaluations.all()
        ],
        "mitigations": list(finding.mitigations.all()),
    }


def advisory_context(finding: Finding) -> dict[str, Any]:
    """What a public advisory shows besides the finding: its content and accepted credits."""
    selectors_content.content_prefetch(finding)
    return {
        **evidence_context(finding),
        "credits": list(selectors_content.credits_public(finding)),
    }


def content_context(
    user: Any,
    finding: Finding,
    *,
    recipients: list[FindingRecipient],
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the detail page's content sections show; the user may view the finding.

    ``bound`` may hold the credit form that failed validation, to show again with its errors.
    """
    selectors_content.content_prefetch(finding)
    revisions = list(selectors_content.revisions_of(finding))
    notified = selectors_content.notified_revision_for(user, recipients)
    credit_form = None
    if policies.can_manage_credits(user, finding):
        credit_form = (bound or {}).get("credit") or CreditForm()
    return {
        **evidence_context(finding),
        "can_edit": policies.can_edit_finding(user, finding),
        "credits": list(selectors_content.credits_visible_to(user, finding)),
        "credit_form": credit_form,
        "revision_history": _history(revisions),
        "current_revision": revisions[-1].number if revisions else None,
        "notified_revision": notified,
        "changes_since_notified": _changes_since(revisions, notified),
    }


def pending_credits_context(user: Any) -> dict[str, Any]:
    """For the home page: the credits waiting for the user's answer, oldest first."""
    pending = selectors_content.credits_of(user, status=Credit.Status.PENDING)
    return {"pending_credits": list(pending.order_by("created_at", "id"))}
