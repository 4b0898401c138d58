"""Server-rendered pages. Thin: GETs read through selectors, POSTs call a service and redirect.

Every page that can show an unreleased finding is ``never_cache``: embargoed text must not stay
in a browser's or a proxy's cache after the user logs out.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import mfa_challenge
from accounts.models import Organization

from .. import policies, selectors
from ..csaf import csaf_path
from ..errors import ApplicationError, NotAllowed
from ..forms import AcceptForm, RejectForm, form_add_application_error
from ..models import Finding
from ..selectors_audience import findings_with_overdue
from ..selectors_publication import advisory_versions
from ..services import audit, intake, readiness, triage
from ..services.audience import defenders_verified
from ..transitions import ALLOWED
from . import attachments as attachment_pages
from . import audience as audience_pages
from . import content as content_pages
from . import discussion as discussion_pages
from . import embargo as embargo_pages
from . import stages as stage_pages
from . import triage as triage_pages

State = Finding.State
Kind = Organization.Kind
ADVISORIES_PER_PAGE = 50


@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    labs = policies.org_ids(user, Kind.DEVELOPER)
    is_coordinator = policies.is_coordinator(user)
    defenders = policies.org_ids(user, Kind.DEFENDER)
    context: dict[str, Any] = {
        "is_developer": bool(labs),
        "is_coordinator": is_coordinator,
        "is_defender": bool(defenders),
    }
    if labs:
        context["lab_findings"] = selectors.findings_visible_to(user).filter(developer_id__in=labs)
    if is_coordinator:
        context["triage_queue"] = selectors.triage_queue_for(user)
        context["embargoed"] = findings_with_overdue(
            selectors.findings_visible_to(user)
            .filter(state=State.EMBARGOED)
            .select_related("embargo")  # an extension asked for is flagged
            .order_by("embargo_ends_at", "id")
        )
    if defenders:
        context["inbox"] = selectors.defender_inbox_for(user)
    context.update(content_pages.pending_credits_context(user))
    return render(request, "disclosure/home.html", context)


@never_cache
@require_GET
def finding_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return _anonymous_finding(request, reference)
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    # Embargoed details only to a session that passed MFA (accounts.access).
    if finding.state != State.RELEASED and (challenge := mfa_challenge(request)):
        return challenge
    return _detail_response(request, finding)


def _anonymous_finding(request: HttpRequest, reference: str) -> HttpResponse:
    """A released finding is public; anything else gets one answer, existing or not.

    That answer is a 404 offering to log in, so that a defender following the link in a
    notification email while logged out can still get to the finding.
    """
    if selectors.advisories_public().filter(reference=reference).exists():
        return redirect("advisory-detail", reference=reference)
    return render(request, "disclosure/finding_not_found.html", status=404)


def _detail_response(
    request: HttpRequest,
    finding: Finding,
    *,
    accept_form: AcceptForm | None = None,
    reject_form: RejectForm | None = None,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the finding page, with whatever forms the user may use on it.

    ``forms``: forms of the page's sections that failed validation, by name, shown again.
    """
    user = request.user
    audit.finding_read_record(actor=user, finding=finding, via="page")
    readiness.finding_seen_record(actor=user, finding=finding)
    is_lab = policies.is_lab_member(user, finding)
    is_coordinator = policies.is_coordinator(user)
    my_defenders = policies.org_ids(user, Kind.DEFENDER)
    recipients = list(selectors.recipients_of(finding))
    mine = [r for r in recipients if r.organization_id in my_defenders]
    context: dict[str, Any] = {
        "finding": finding,
        # A defender sees only its own organizations' rows: the audience is need-to-know.
        "recipients": recipients if is_lab or is_coordinator else mine,
        "can_submit": finding.state == State.DRAFT and policies.can_submit_finding(user, finding),
        "can_acknowledge": any(r.acknowledged_at is None for r in mine)
        and policies.can_acknowledge(user, finding),
        "audit_events": selectors.audit_events_for(finding) if is_lab or is_coordinator else None,
        # The label this reader holds it under (a release stage's, for the organizations it
        # brought in); _tlp.html shows it.
        "viewer_tlp": Finding.Tlp(policies.tlp_for(user, finding, recipients=recipients)),
    }
    if policies.can_triage(user) and State.ACCEPTED in ALLOWED[finding.state]:
        context.update(audience_pages.accept_context(finding, accept_form))
    if policies.can_triage(user) and State.REJECTED in ALLOWED[finding.state]:
        context["reject_form"] = reject_form or RejectForm()
    context.update(attachment_pages.attachments_context(user, finding))
    context.update(content_pages.content_context(user, finding, recipients=recipients, bound=forms))
    context.update(triage_pages.triage_context(user, finding, bound=forms))
    context.update(embargo_pages.embargo_context(user, finding, recipients=recipients, bound=forms))
    context.update(
        audience_pages.audience_context(user, finding, recipients=recipients, bound=forms)
    )
    context.update(
        stage_pages.release_plan_context(user, finding, recipients=recipients, bound=forms)
    )
    context.update(
        discussion_pages.discussion_context(user, finding, recipients=recipients, bound=forms)
    )
    return render(request, "disclosure/finding_detail.html", context, status=status)


def _refused(request: HttpRequest, finding: Finding, error: ApplicationError) -> HttpResponse:
    """Show a refusal that belongs to no form, on the finding page, with the error's 4xx."""
    detail = error.detail
    text = detail if isinstance(detail, str) else " ".join(str(v) for v in detail.values())
    messages.error(request, text)
    finding.refresh_from_db()
    return _detail_response(request, finding, status=error.status_code)


@never_cache
@login_required
@require_POST
def finding_submit(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    try:
        intake.finding_submit(actor=request.user, finding=finding)
    except ApplicationError as exc:
        return _refused(request, finding, exc)
    messages.success(request, f"{finding.reference} is submitted for coordination.")
    return redirect("finding-detail", reference=finding.reference)


@never_cache
@login_required
@require_POST
def finding_accept(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not policies.can_triage(request.user):  # refused before the form is read
        return _refused(request, finding, NotAllowed("Only coordinators can accept findings."))
    form = AcceptForm(request.POST, defenders=defenders_verified())
    status = 400
    if form.is_valid():
        try:
            finding = triage.finding_accept(
                actor=request.user,
                finding=finding,
                organizations=list(form.cleaned_data["defender_organizations"]),
                embargo_ends_at=form.cleaned_data["embargo_ends_at"],
                note=form.cleaned_data["note"],
                over_policy_reason=form.cleaned_data["over_policy_reason"],
            )
        except ApplicationError as exc:
            if not isinstance(exc.detail, dict):
                return _refused(request, finding, exc)
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            messages.success(
                request,
                f"{finding.reference} is accepted and under embargo; "
                "the defender organizations are being notified.",
            )
            return redirect("finding-detail", reference=finding.reference)
    return _detail_response(request, finding, accept_form=form, status=status)


@never_cache
@login_required
@require_POST
def finding_reject(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    if not policies.can_triage(request.user):  # refused before the form is read
        return _refused(request, finding, NotAllowed("Only coordinators can reject findings."))
    form = RejectForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            triage.finding_reject(
                actor=request.user, finding=finding, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            if not isinstance(exc.detail, dict):
                return _refused(request, finding, exc)
            form_add_application_error(form, exc)
            status = exc.status_code
        else:
            messages.success(request, f"{finding.reference} is rejected.")
            return redirect("finding-detail", reference=finding.reference)
    return _detail_response(request, finding, reject_form=form, status=status)


@never_cache
@login_required
@require_POST
def finding_acknowledge(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, reference=reference)
    try:
        readiness.finding_acknowledge(actor=request.user, finding=finding)
    except ApplicationError as exc:
        return _refused(request, finding, exc)
    messages.success(request, f"You have acknowledged {finding.reference}.")
    return redirect("finding-detail", reference=finding.reference)


@require_GET
def advisory_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.advisories_public(), ADVISORIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "disclosure/advisory_list.html", {"page": page})


@require_GET
def advisory_detail(request: HttpRequest, reference: str) -> HttpResponse:
    finding = selectors.advisory_get(reference=reference)
    context = {
        "finding": finding,
        **content_pages.advisory_context(finding),
        # Publication: its public revision history and its CSAF 2.0 document.
        "versions": advisory_versions(finding),
        "csaf_path": csaf_path(finding),
        "may_update": policies.can_update_advisory(request.user, finding),
    }
    return render(request, "disclosure/advisory_detail.html", context)
