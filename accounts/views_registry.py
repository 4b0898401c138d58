"""Registry pages: the public application form, the coordinators' review, an organization's
page (profile, contacts, invitations, subscriptions) and following an invitation link.

An organization someone does not belong to is a 404 (coordinators see every one); a member
who is not an admin gets a 403. Every action is a POST that calls a service and redirects back
(PRG); a refusal re-renders the page with the error on its form and the error's 4xx.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from disclosure import policies
from disclosure.errors import ApplicationError
from disclosure.forms import form_add_application_error

from . import contacts, registry, selectors
from .access import mfa_required, reauth_required
from .forms_registry import (
    AcceptForm,
    ApplicationForm,
    ContactForm,
    InvitationForm,
    ProfileForm,
    ReasonForm,
    SubscriptionForm,
)
from .models import Membership, Organization, User

Status = Organization.Status
REVIEW_PER_PAGE = 50


# --- Applying (anyone).


@never_cache
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            if form.is_spam():  # answer as if it worked, so the robot learns nothing
                return redirect("apply-done")
            try:
                registry.organization_apply(actor=request.user, **form.service_fields())
            except ApplicationError as exc:
                form_add_application_error(form, exc)
                status = exc.status_code
            else:
                return redirect("apply-done")
        else:
            status = 400
    else:
        form = ApplicationForm()
    return render(request, "accounts/apply.html", {"form": form}, status=status)


@require_GET
def apply_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/apply_done.html", {"hours": settings.INVITATION_MAX_AGE_HOURS})


# --- The coordinators' review.


@never_cache
@login_required
@require_GET
def organization_review(request: HttpRequest) -> HttpResponse:
    if not policies.can_verify_organizations(request.user):
        raise Http404("No such page.")
    wanted = request.GET.get("status")
    if wanted not in Status.values:
        wanted = None
    rows = selectors.defender_organizations_for_review(status=wanted)
    page = Paginator(rows, REVIEW_PER_PAGE).get_page(request.GET.get("page"))
    applications = selectors.applications_of(list(page.object_list))
    context = {
        "page": page,
        "rows": [(org, applications.get(org.pk)) for org in page.object_list],
        "status": wanted or "",
        "statuses": Status.choices,
    }
    return render(request, "accounts/organization_review.html", context)


# --- An organization's page.


@never_cache
@login_required
@require_GET
def my_organization(request: HttpRequest) -> HttpResponse:
    """The organization the user administers (a choice when several)."""
    administered = list(selectors.organizations_administered_by(request.user))
    if not administered:
        raise Http404("You administer no organization.")
    if len(administered) == 1:
        return redirect("organization-detail", slug=administered[0].slug)
    return render(request, "accounts/organization_choose.html", {"organizations": administered})


def _visible(request: HttpRequest, slug: str) -> Organization:
    organization = selectors.organization_get_for(user=request.user, slug=slug)
    if not policies.can_view_organization(request.user, organization):
        raise PermissionDenied
    return organization


def _page(
    request: HttpRequest,
    organization: Organization,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    prefetch_related_objects([organization], "sectors")
    page_forms: dict[str, forms.Form] = {
        "profile": ProfileForm(
            initial={
                "sectors": [s.slug for s in organization.sectors.all()],
                "country": str(organization.country),
                "website": organization.website,
                "description": organization.description,
                "requires_encryption": organization.requires_encryption,
            }
        ),
        "invite": InvitationForm(),
        "subscription": SubscriptionForm(),
        "reject": ReasonForm(prefix="reject"),
        "suspend": ReasonForm(prefix="suspend"),
        **(bound or {}),
    }
    invitations = list(selectors.invitations_pending_of(organization))
    context = {
        "organization": organization,
        "can_manage": policies.can_manage_organization(user, organization),
        "can_invite": policies.can_invite_to_organization(user, organization),
        "can_verify": policies.can_verify_organizations(user),
        "decisions": {
            name: organization.status in sources
            for name, (_, sources) in registry.DECISIONS.items()
        },
        "application": selectors.applications_of([organization]).get(organization.pk),
        "contacts": list(selectors.contacts_of(organization)),
        "invitations": [(i, contacts.invitation_state(i)) for i in invitations],
        "subscriptions": list(selectors.subscriptions_of(organization)),
        "forms": page_forms,
        "role_choices": Membership.Role.choices,
        "contact_role_choices": Membership.ContactRole.choices,
    }
    return render(request, "accounts/organization_detail.html", context, status=status)


@never_cache
@login_required
@require_GET
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _visible(request, slug))


def _act(
    request: HttpRequest,
    slug: str,
    *,
    may: Any,
    form_name: str | None,
    form: forms.Form | None,
    run: Any,
) -> HttpResponse:
    """Check the role (403), validate the form, run the service; PRG, or the page with errors."""
    organization = _visible(request, slug)
    if not may(request.user, organization):
        raise PermissionDenied
    if form is not None and not form.is_valid():
        return _page(request, organization, bound={form_name: form}, status=400)  # type: ignore[dict-item]
    try:
        message = run(organization, form.cleaned_data if form is not None else {})
    except ApplicationError as exc:
        if form is not None and isinstance(exc.detail, dict):
            form_add_application_error(form, exc)
            return _page(request, organization, bound={form_name: form}, status=exc.status_code)  # type: ignore[dict-item]
        detail = exc.detail
        messages.error(request, detail if isinstance(detail, str) else " ".join(detail.values()))
        return _page(request, organization, status=exc.status_code)
    messages.success(request, message)
    return redirect("organization-detail", slug=organization.slug)


def _manage(user: Any, organization: Organization) -> bool:
    return policies.can_manage_organization(user, organization)


def _invite(user: Any, organization: Organization) -> bool:
    return policies.can_invite_to_organization(user, organization)


def _verify(user: Any, organization: Organization) -> bool:
    return policies.can_verify_organizations(user)


@never_cache
@login_required
@require_POST
def organization_profile(request: HttpRequest, slug: str) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        registry.organization_update(actor=request.user, organization=org, **data)
        return "The profile is saved."

    form = ProfileForm(request.POST)
    return _act(request, slug, may=_manage, form_name="profile", form=form, run=run)


@never_cache
@login_required
@require_POST
def organization_decide(request: HttpRequest, slug: str, decision: str) -> HttpResponse:
    form = None if decision == "verify" else ReasonForm(request.POST, prefix=decision)

    def run(org: Organization, data: dict[str, Any]) -> str:
        if decision == "verify":
            org = registry.organization_verify(actor=request.user, organization=org)
        else:
            decide = getattr(registry, f"organization_{decision}")
            org = decide(actor=request.user, organization=org, reason=data["reason"])
        return f"{org.name} is {org.status}."

    return _act(request, slug, may=_verify, form_name=decision, form=form, run=run)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def invitation_create(request: HttpRequest, slug: str) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        invitation = contacts.invitation_create(actor=request.user, organization=org, **data)
        return f"An invitation is on its way to {invitation.email}."

    return _act(
        request,
        slug,
        may=_invite,
        form_name="invite",
        form=InvitationForm(request.POST),
        run=run,
    )


@never_cache
@login_required
@mfa_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        invitation = selectors.invitation_get(org, pk)
        contacts.invitation_revoke(actor=request.user, invitation=invitation)
        return f"The invitation to {invitation.email} is revoked; its link no longer works."

    return _act(request, slug, may=_invite, form_name=None, form=None, run=run)


@never_cache
@login_required
@mfa_required
@require_POST
def invitation_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        invitation = selectors.invitation_get(org, pk)
        fresh = contacts.invitation_resend(actor=request.user, invitation=invitation)
        return f"A new link is on its way to {fresh.email}; the old one no longer works."

    return _act(request, slug, may=_invite, form_name=None, form=None, run=run)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def contact_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        membership = selectors.membership_get(org, pk)
        membership = contacts.membership_update(actor=request.user, membership=membership, **data)
        return f"{membership.user.email} is saved."

    form = ContactForm(request.POST)
    return _act(request, slug, may=_manage, form_name="contact", form=form, run=run)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def contact_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        membership = selectors.membership_get(org, pk)
        contacts.membership_remove(actor=request.user, membership=membership)
        return f"{membership.user.email} is no longer a member of {org.name}."

    return _act(request, slug, may=_manage, form_name=None, form=None, run=run)


@never_cache
@login_required
@require_POST
def subscription_add(request: HttpRequest, slug: str) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        subscription = registry.subscription_add(actor=request.user, organization=org, **data)
        return f"Subscribed to {subscription.category.label}."

    form = SubscriptionForm(request.POST)
    return _act(request, slug, may=_manage, form_name="subscription", form=form, run=run)


@never_cache
@login_required
@require_POST
def subscription_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def run(org: Organization, data: dict[str, Any]) -> str:
        subscription = selectors.subscription_get(org, pk)
        registry.subscription_remove(actor=request.user, subscription=subscription)
        return f"Unsubscribed from {subscription.category.label}."

    return _act(request, slug, may=_manage, form_name=None, form=None, run=run)


# --- Following an invitation link.


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = contacts.invitation_for_token(token)
    except contacts.InvitationUnusable as exc:
        return render(
            request,
            "accounts/invitation_unusable.html",
            {"message": exc.detail},
            status=exc.status_code,
        )
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    user = request.user
    if user.is_authenticated:
        mode = "confirm" if user.email.lower() == invitation.email else "wrong-user"
    else:
        mode = "login" if has_account else "new"
    form = AcceptForm(request.POST or None) if mode == "new" else None
    status = 403 if mode == "wrong-user" else 200
    if request.method == "POST" and mode in {"new", "confirm"}:
        if form is not None and not form.is_valid():
            status = 400
        else:
            data = form.cleaned_data if form is not None else {}
            try:
                membership = contacts.invitation_accept(
                    user=user,
                    token=token,
                    full_name=data.get("full_name", ""),
                    password=data.get("password", ""),
                )
            except ApplicationError as exc:
                status = exc.status_code
                if form is not None and isinstance(exc.detail, dict):
                    form_add_application_error(form, exc)
                else:
                    messages.error(request, str(exc.detail))
            else:
                return _joined(request, membership, new_account=mode == "new")
    elif request.method == "POST":
        status = 403
    context = {"invitation": invitation, "mode": mode, "form": form}
    return render(request, "accounts/invitation_accept.html", context, status=status)


def _joined(request: HttpRequest, membership: Membership, *, new_account: bool) -> HttpResponse:
    organization = membership.organization
    if new_account:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    text = f"Welcome to {organization.name}. Your email address is confirmed."
    if organization.status == Status.APPLIED:
        text += " The coordinators review the application; you will hear from them by email."
    messages.success(request, text)
    if membership.role == Membership.Role.ADMIN:
        return redirect("organization-detail", slug=organization.slug)
    return redirect("home")
