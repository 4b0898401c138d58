"""The coordinators' page for updating a released advisory: the content form, and a note that
the advisory's public revision history shows (services.advisories.advisory_update)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import policies, selectors
from ..errors import ApplicationError
from ..forms import (
    EvaluationFormSet,
    FindingForm,
    MitigationFormSet,
    formsets_add_application_error,
)
from ..services.advisories import advisory_update as advisory_update_service
from .content import _all_valid, _bound_forms, _initial, _service_fields

NOTE_FIELD = "note"


def _render(
    request: HttpRequest,
    finding: Any,
    form: FindingForm,
    formsets: dict[str, Any],
    *,
    note: str = "",
    note_error: str = "",
    status: int = 200,
) -> HttpResponse:
    # A released advisory is TLP:CLEAR for good: its label is not offered for change.
    form.fields.pop("tlp", None)
    context = {
        "form": form,
        **formsets,
        "finding": finding,
        "advisory_update": True,
        "note": note,
        "note_error": note_error,
    }
    return render(request, "disclosure/finding_form.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def advisory_update(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.advisory_get(reference=reference)
    if not policies.can_update_advisory(request.user, finding):
        raise PermissionDenied("Only coordinators can update a released advisory.")
    if request.method != "POST":
        initial, lists = _initial(finding)
        formsets: dict[str, Any] = {
            "evaluations": EvaluationFormSet(prefix="evaluations", initial=lists["evaluations"]),
            "mitigations": MitigationFormSet(prefix="mitigations", initial=lists["mitigations"]),
        }
        return _render(request, finding, FindingForm(initial=initial), formsets)
    form, formsets = _bound_forms(request)
    form.fields.pop("tlp", None)
    note = request.POST.get(NOTE_FIELD, "")
    note_error = ""
    status = 400
    if _all_valid(form, formsets):
        changes = {k: v for k, v in _service_fields(form, formsets).items() if k != "tlp"}
        try:
            advisory_update_service(actor=request.user, finding=finding, changes=changes, note=note)
        except ApplicationError as exc:
            detail = exc.detail
            if isinstance(detail, dict):
                note_error = str(detail.pop(NOTE_FIELD, ""))
                exc.detail = {str(k).removeprefix("changes."): v for k, v in detail.items()}
            if exc.detail:
                formsets_add_application_error(exc, form, formsets)
            status = exc.status_code
        else:
            messages.success(request, f"{finding.reference} is updated; a new version is public.")
            return redirect("advisory-detail", reference=finding.reference)
    return _render(
        request, finding, form, formsets, note=note, note_error=note_error, status=status
    )
