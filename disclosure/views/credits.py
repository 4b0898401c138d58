"""Credit pages: the lab or a coordinator credits someone from the finding page; the person
credited accepts or declines there or from their home page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import policies, selectors, selectors_content
from ..errors import ApplicationError, NotAllowed
from ..forms import CreditForm, form_add_application_error
from ..services import credits as credit_service
from . import findings as finding_pages


def _back(request: HttpRequest, reference: str) -> HttpResponse:
    # Only two places to go back to, so no open redirect.
    if request.POST.get("next") == "home":
        return redirect("home")
    return redirect("finding-detail", reference=reference)


@never_cache
@login_required
@require_POST
def credit_add(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not policies.can_manage_credits(request.user, finding):  # before the form is read
        refusal = NotAllowed("Only the finding's lab and coordinators can credit people on it.")
        return finding_pages._refused(request, finding, refusal)
    form = CreditForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            credit = credit_service.credit_create(
                actor=request.user, finding=finding, **form.cleaned_data
            )
        except ApplicationError as exc:
            if not isinstance(exc.detail, dict):
                return finding_pages._refused(request, finding, exc)
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            name = credit.user.full_name or credit.user.email
            messages.success(
                request,
                f"{name} is credited as {credit.get_type_display().lower()}; "
                "they will be asked to accept or decline.",
            )
            return redirect("finding-detail", reference=finding.reference)
    return finding_pages._detail_response(request, finding, forms={"credit": form}, status=status)


def _answer(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    credit = selectors_content.credit_get_for(user=request.user, pk=pk)
    answer = credit_service.credit_accept if accept else credit_service.credit_decline
    try:
        answer(actor=request.user, credit=credit)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        verb = "accepted" if accept else "declined"
        messages.success(request, f"You {verb} the credit on {credit.finding.reference}.")
    return _back(request, credit.finding.reference)


@never_cache
@login_required
@require_POST
def credit_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, accept=True)


@never_cache
@login_required
@require_POST
def credit_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, accept=False)
