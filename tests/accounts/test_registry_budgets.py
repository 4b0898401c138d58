"""Registry pages and endpoints: a query budget that holds for 1 and for 50 rows; no inline
script or style on the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, Organization
from disclosure.models import AuditEvent, CapabilityCategory, Subscription
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def _fill(world, rows: int) -> None:
    """``rows`` members, invitations and subscriptions in Grid ISAC, and ``rows`` applications."""
    later = timezone.now() + timezone.timedelta(days=1)
    for n in range(rows):
        MembershipFactory(organization=world.defender, contact_role="backup")
        Invitation.objects.create(
            organization=world.defender,
            email=f"invitee{n}@grid.example",
            token_hash=f"{n:064d}",
            invited_by=world.coordinator,
            expires_at=later,
        )
        org = OrganizationFactory(status=Organization.Status.APPLIED)
        AuditEvent.objects.create(
            action="organization.applied",
            data={"organization": org.pk, "applicant_name": "A", "applicant_email": "a@b.example"},
        )
    categories = CapabilityCategory.objects.all()[:rows]
    for category in categories:
        Subscription.objects.create(organization=world.defender, category=category)


@pytest.fixture
def admin(world):
    user = UserFactory()
    MembershipFactory(user=user, organization=world.defender, role=Membership.Role.ADMIN)
    return user


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize(
    ("who", "path", "budget"),
    [
        ("admin", "/api/organizations/grid-isac/", 5),
        ("admin", "/api/organizations/grid-isac/contacts/", 5),
        ("admin", "/api/organizations/grid-isac/invitations/", 5),
        ("admin", "/api/organizations/grid-isac/subscriptions/", 5),
        ("coordinator", "/api/applications/", 7),
    ],
)
def test_api_query_budget(
    world, admin, api, django_assert_max_num_queries, rows, who, path, budget
):
    _fill(world, rows)
    client = api(admin if who == "admin" else world.coordinator)
    with django_assert_max_num_queries(budget):
        response = client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize(
    ("who", "page", "budget"),
    [("admin", "organization-detail", 14), ("coordinator", "organization-review", 8)],
)
def test_page_query_budget(
    client, world, admin, django_assert_max_num_queries, rows, who, page, budget
):
    _fill(world, rows)
    client.force_login(admin if who == "admin" else world.coordinator)
    url = reverse(page, args=["grid-isac"] if page == "organization-detail" else [])
    with django_assert_max_num_queries(budget):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("who", "page"),
    [
        (None, "apply"),
        (None, "apply-done"),
        ("admin", "organization-detail"),
        ("coordinator", "organization-detail"),
        ("coordinator", "organization-review"),
    ],
)
def test_pages_have_no_inline_script_or_style(client, world, admin, who, page):
    if who:
        client.force_login(admin if who == "admin" else world.coordinator)
    args = ["grid-isac"] if page == "organization-detail" else []
    body = client.get(reverse(page, args=args)).content.decode().lower()
    assert "<script" not in body
    assert " style=" not in body
    assert "<style" not in body
