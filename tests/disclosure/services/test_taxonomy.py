"""services.taxonomy: coordinators add taxonomies and categories, audited; shipped ones stay."""

import pytest

from disclosure.errors import NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Taxonomy
from disclosure.services.taxonomy import category_create, taxonomy_create


def _taxonomy(world, **overrides):
    fields = {"framework": "Center Policy", "version": "v1", "slug": "center-v1", **overrides}
    return taxonomy_create(actor=world.coordinator, **fields)


def test_categories_are_added_in_order(world):
    taxonomy = _taxonomy(world)
    first = category_create(actor=world.coordinator, taxonomy=taxonomy, code="a", label="A")
    second = category_create(actor=world.coordinator, taxonomy=taxonomy, code="b", label="B")
    assert (first.position, second.position) == (0, 1)
    assert (second.key, second.kind) == ("center-v1:b", "tracked")


def test_creating_a_taxonomy_is_audited(world):
    _taxonomy(world)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.finding) == (
        "taxonomy.created",
        world.coordinator,
        None,
    )
    assert event.data["taxonomy"] == "center-v1"


def test_a_lab_member_cannot_add_a_taxonomy(world):
    with pytest.raises(NotAllowed):
        taxonomy_create(actor=world.lab_user, framework="F", version="1", slug="f-1")
    assert not Taxonomy.objects.filter(slug="f-1").exists()


def test_every_bad_field_is_named_at_once(world):
    with pytest.raises(ValidationFailed) as error:
        _taxonomy(world, framework="", version=" ", slug="Bad Slug")
    assert set(error.value.detail) == {"framework", "version", "slug"}


def test_a_shipped_taxonomy_gets_no_new_categories(world):
    shipped = Taxonomy.objects.get(slug="gdm-fsf")
    with pytest.raises(NotAllowed):
        category_create(actor=world.coordinator, taxonomy=shipped, code="x", label="X")
