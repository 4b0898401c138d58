"""The webhooks page of an organization, for its admins: endpoints with their last deliveries;
add one (its secret is shown once), rotate a secret (the new one shown once), test, disable,
enable, delete.

An organization someone does not belong to is a 404; a member who is not an admin gets a 403.
Adding and rotating answer with the page itself, since the secret must not travel in a
redirect or a session; the other actions redirect back (PRG). Refused input shows the page
again with a 400 that says why.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import mfa_required, reauth_required
from accounts.models import Organization
from accounts.selectors import organization_get_for

from .. import policies, selectors_webhooks
from ..errors import ApplicationError
from ..forms import form_add_application_error
from ..forms_webhooks import DisableForm, RotateSecretForm, WebhookEndpointForm
from ..models import WebhookEndpoint
from ..services import webhooks as service


def _organization(request: HttpRequest, slug: str) -> Organization:
    organization = organization_get_for(user=request.user, slug=slug)
    if not policies.can_manage_organization(request.user, organization):
        raise PermissionDenied
    return organization


def _errors(form: forms.Form) -> str:
    return " ".join(str(message) for field in form.errors.values() for message in field)


def _page(
    request: HttpRequest,
    organization: Organization,
    *,
    form: WebhookEndpointForm | None = None,
    secret: tuple[WebhookEndpoint, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "organization": organization,
        "endpoints": selectors_webhooks.webhook_endpoints_with_deliveries(organization),
        "form": form or WebhookEndpointForm(),
        "secret": secret,
        "overlap_default": settings.WEBHOOK_SECRET_OVERLAP_HOURS,
        "overlap_max": service.OVERLAP_MAX_HOURS,
        "recent": selectors_webhooks.RECENT_DELIVERIES,
    }
    return render(request, "disclosure/webhooks.html", context, status=status)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_http_methods(["GET", "POST"])
def organization_webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """The page; a POST adds an endpoint and shows its secret in this response only."""
    organization = _organization(request, slug)
    if request.method != "POST":
        return _page(request, organization)
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        return _page(request, organization, form=form, status=400)
    try:
        endpoint, secret = service.endpoint_create(
            actor=request.user, organization=organization, **form.cleaned_data
        )
    except ApplicationError as exc:
        form_add_application_error(form, exc)
        return _page(request, organization, form=form, status=exc.status_code)
    messages.success(request, f"Endpoint {endpoint.url} added. Copy its secret now.")
    return _page(request, organization, secret=(endpoint, secret))


def _endpoint(request: HttpRequest, slug: str, pk: int) -> tuple[Organization, WebhookEndpoint]:
    organization = _organization(request, slug)
    return organization, selectors_webhooks.webhook_endpoint_get(organization, pk)


@never_cache
@login_required
@mfa_required
@reauth_required
@require_POST
def webhook_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization, endpoint = _endpoint(request, slug, pk)
    form = RotateSecretForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return _page(request, organization, status=400)
    hours = form.cleaned_data["overlap_hours"]
    endpoint, secret = service.endpoint_rotate_secret(
        actor=request.user, endpoint=endpoint, overlap_hours=hours
    )
    overlap = f"the old one keeps signing for {hours} hours" if hours else "the old one is void"
    messages.success(request, f"New secret for {endpoint.url}; {overlap}. Copy it now.")
    return _page(request, organization, secret=(endpoint, secret))


@never_cache
@login_required
@mfa_required
@require_POST
def webhook_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization, endpoint = _endpoint(request, slug, pk)
    result = service.endpoint_test(actor=request.user, endpoint=endpoint)
    if result.ok:
        messages.success(request, f"Ping to {endpoint.url}: {result.detail}")
    else:
        messages.error(request, f"Ping to {endpoint.url} failed: {result.detail}")
    return redirect("organization-webhooks", slug=organization.slug)


@never_cache
@login_required
@mfa_required
@require_POST
def webhook_disable(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization, endpoint = _endpoint(request, slug, pk)
    form = DisableForm(request.POST)
    if not form.is_valid():
        messages.error(request, _errors(form))
        return _page(request, organization, status=400)
    try:
        service.endpoint_disable(
            actor=request.user, endpoint=endpoint, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, f"Endpoint {endpoint.url} disabled: nothing more goes to it.")
    return redirect("organization-webhooks", slug=organization.slug)


@never_cache
@login_required
@mfa_required
@require_POST
def webhook_enable(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization, endpoint = _endpoint(request, slug, pk)
    try:
        service.endpoint_enable(actor=request.user, endpoint=endpoint)
    except ApplicationError as exc:
        detail = exc.detail.get("url", exc.detail) if isinstance(exc.detail, dict) else exc.detail
        messages.error(request, f"Endpoint {endpoint.url} stays disabled: {detail}")
    else:
        messages.success(request, f"Endpoint {endpoint.url} enabled.")
    return redirect("organization-webhooks", slug=organization.slug)


@never_cache
@login_required
@mfa_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization, endpoint = _endpoint(request, slug, pk)
    url = endpoint.url
    service.endpoint_delete(actor=request.user, endpoint=endpoint)
    messages.success(request, f"Endpoint {url} deleted.")
    return redirect("organization-webhooks", slug=organization.slug)
