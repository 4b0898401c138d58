"""Page qualities that hold everywhere: a query budget per page, and no inline script or style."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure.models import Finding
from tests.factories import FindingFactory, FindingRecipientFactory, OrganizationFactory

State = Finding.State


def _as(client, user):
    client.force_login(user)
    return client


def _detail(finding: Finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


# --- Ready for a strict Content-Security-Policy: no inline scripts or styles anywhere.


@pytest.mark.parametrize(
    ("viewer", "page"),
    [
        (None, "login"),
        (None, "advisory-list"),
        ("coordinator", "home"),
        ("coordinator", "submitted-detail"),
        ("lab_user", "finding-new"),
        ("lab_user", "tokens"),
    ],
)
def test_pages_have_no_inline_script_or_style(client, world, viewer, page):
    finding = world.submitted()
    if viewer:
        client = _as(client, getattr(world, viewer))
    url = _detail(finding) if page == "submitted-detail" else reverse(page)
    body = client.get(url).content.decode().lower()
    assert "<script" not in body
    assert " style=" not in body
    assert "<style" not in body


# --- Query budgets: the same for 1 row and for 50.


def _embargoed_rows(world, n: int) -> list[Finding]:
    findings = FindingFactory.create_batch(
        n,
        developer=world.lab,
        created_by=world.lab_user,
        state=State.EMBARGOED,
        submitted_at=timezone.now(),
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )
    for finding in findings:
        FindingRecipientFactory(
            finding=finding, organization=world.defender, added_by=world.coordinator
        )
    return findings


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("viewer", ["lab_user", "coordinator", "defender_user"])
def test_home_query_budget(client, world, django_assert_max_num_queries, rows, viewer):
    _embargoed_rows(world, rows)
    client = _as(client, getattr(world, viewer))
    # 7: +1 for the nav's unread inbox count (one COUNT on every signed-in page).
    with django_assert_max_num_queries(7):
        assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_detail_query_budget(client, world, django_assert_max_num_queries, rows):
    finding = world.submitted()
    for _ in range(rows):
        OrganizationFactory()  # defender organizations offered by the accept form
    client = _as(client, world.coordinator)
    # +3 for triage (its messages, the coordinators to assign to) and the discussion threads;
    # +2 for the proposed audience (subscriptions, sectors); +1 for the nav's unread count;
    # +1 for the embargo panel (the embargo, proposed or not).
    with django_assert_max_num_queries(21):
        assert client.get(_detail(finding)).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_advisory_list_query_budget(client, world, django_assert_max_num_queries, rows):
    FindingFactory.create_batch(
        rows,
        developer=world.lab,
        created_by=world.lab_user,
        state=State.RELEASED,
        released_at=timezone.now(),
    )
    with django_assert_max_num_queries(3):
        assert client.get(reverse("advisory-list")).status_code == 200
