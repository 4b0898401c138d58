"""The admin is for operations: every model is listed, nothing is editable there, and
embargoed content (whose reads would go unaudited) is never shown."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_every_model_of_both_apps_is_registered():
    from django.apps import apps

    for app in ("accounts", "disclosure"):
        for model in apps.get_app_config(app).get_models():
            assert admin.site.is_registered(model), model


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if m._meta.app_label in {"accounts", "disclosure"}],
    ids=lambda m: m._meta.model_name,
)
def test_each_changelist_loads(staff_client, world, model):
    world.embargoed()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = staff_client.get(url)
    assert response.status_code == 200
    assert b"EMBARGOED-" not in response.content


def test_finding_change_page_hides_embargoed_fields(staff_client, world):
    finding = world.embargoed()
    response = staff_client.get(reverse("admin:disclosure_finding_change", args=[finding.pk]))
    assert response.status_code == 200
    assert b"EMBARGOED-" not in response.content
    assert b"ckpt-2026-10" not in response.content
