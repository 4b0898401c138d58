"""The one way a finding page's action form is handled: look the finding up (404 if the user
may not see it), ask the policy, validate the form, call the service, and either go back to the
finding with a message or show the finding page again with the form's errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .. import selectors
from ..errors import ApplicationError, NotAllowed
from ..forms import form_add_application_error
from ..models import Finding
from . import findings as finding_pages


def finding_action(
    request: HttpRequest,
    reference: str,
    *,
    name: str,
    may: Callable[[Any, Finding], bool],
    refusal: str,
    run: Callable[[Finding, dict[str, Any]], Any],
    done: str,
    form_for: Callable[[Finding], forms.Form] | None = None,
) -> HttpResponse:
    """``form_for`` builds the bound form (None: the action takes no input); ``name`` is the
    form's name on the finding page, where its errors are shown."""
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not may(request.user, finding):
        return finding_pages._refused(request, finding, NotAllowed(refusal))
    form = form_for(finding) if form_for is not None else None
    status = 400
    if form is None or form.is_valid():
        try:
            run(finding, form.cleaned_data if form is not None else {})
        except ApplicationError as exc:
            if form is None or not isinstance(exc.detail, dict):
                return finding_pages._refused(request, finding, exc)
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, done.format(reference=finding.reference))
            return redirect("finding-detail", reference=finding.reference)
        finding.refresh_from_db()  # the refused service may have changed the object in memory
    return finding_pages._detail_response(request, finding, forms={name: form}, status=status)
