"""Capability taxonomies: coordinators add their own frameworks and categories.

The frameworks Forewarn ships with (``created_by`` empty) are read-only: findings already name
their categories, and a shipped framework should read as its authors published it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from .. import policies
from ..errors import NotAllowed, ValidationFailed
from ..models import CapabilityCategory, Taxonomy
from .audit import audit_record


def _text(value: Any, field: str, *, max_length: int, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed({field: "Give text."})
    value = value.strip()
    if required and not value:
        raise ValidationFailed({field: "This field is required."})
    if len(value) > max_length:
        raise ValidationFailed({field: f"At most {max_length} characters."})
    return value


def _slug(value: Any, field: str, *, max_length: int) -> str:
    value = _text(value, field, max_length=max_length)
    if slugify(value) != value:
        raise ValidationFailed(
            {field: "Use lowercase letters, digits and hyphens only, e.g. 'my-framework-v1'."}
        )
    return value


def _url(value: Any, field: str) -> str:
    value = _text(value, field, max_length=200, required=False)
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except ValidationError as exc:
            raise ValidationFailed({field: "Give an http(s) URL, or nothing."}) from exc
    return value


def _collect(*checks: tuple[str, Any]) -> dict[str, Any]:
    """Run each (field, thunk) and raise one error naming every bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for field, check in checks:
        try:
            values[field] = check()
        except ValidationFailed as exc:
            errors.update(exc.detail if isinstance(exc.detail, dict) else {field: exc.detail})
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def taxonomy_create(
    *, actor: Any, framework: Any, version: Any, slug: Any, source_url: Any = ""
) -> Taxonomy:
    if not policies.can_manage_taxonomies(actor):
        raise NotAllowed("Only coordinators can add capability taxonomies.")
    values = _collect(
        ("framework", lambda: _text(framework, "framework", max_length=200)),
        ("version", lambda: _text(version, "version", max_length=60)),
        ("slug", lambda: _slug(slug, "slug", max_length=60)),
        ("source_url", lambda: _url(source_url, "source_url")),
    )
    if Taxonomy.objects.filter(slug=values["slug"]).exists():
        raise ValidationFailed({"slug": f"A taxonomy with the slug {values['slug']!r} exists."})
    if Taxonomy.objects.filter(framework=values["framework"], version=values["version"]).exists():
        raise ValidationFailed(
            {"version": f"{values['framework']} {values['version']} exists already."}
        )
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin is a 400, not a 500
            taxonomy = Taxonomy.objects.create(created_by=actor, **values)
    except IntegrityError as exc:
        raise ValidationFailed({"slug": "That taxonomy was created a moment ago."}) from exc
    audit_record(
        actor=actor,
        action="taxonomy.created",
        data={
            "taxonomy": taxonomy.slug,
            "framework": taxonomy.framework,
            "version": taxonomy.version,
        },
    )
    return taxonomy


@transaction.atomic
def category_create(
    *,
    actor: Any,
    taxonomy: Taxonomy,
    code: Any,
    label: Any,
    kind: Any = CapabilityCategory.Kind.TRACKED,
    description: Any = "",
) -> CapabilityCategory:
    if not policies.can_manage_taxonomies(actor):
        raise NotAllowed("Only coordinators can add capability categories.")
    if taxonomy.created_by_id is None:
        raise NotAllowed(
            f"{taxonomy} ships with Forewarn and is read-only; create your own taxonomy instead."
        )

    def _kind() -> str:
        if kind not in CapabilityCategory.Kind.values:
            choices = ", ".join(CapabilityCategory.Kind.values)
            raise ValidationFailed({"kind": f"Choose one of: {choices}."})
        return str(kind)

    values = _collect(
        ("code", lambda: _slug(code, "code", max_length=60)),
        ("label", lambda: _text(label, "label", max_length=200)),
        ("kind", _kind),
        ("description", lambda: _text(description, "description", max_length=5000, required=False)),
    )
    # Lock the taxonomy so that two coordinators adding categories get distinct positions.
    taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)
    if taxonomy.categories.filter(code=values["code"]).exists():
        raise ValidationFailed(
            {"code": f"{taxonomy.slug} already has a category {values['code']!r}."}
        )
    last = taxonomy.categories.order_by("-position").values_list("position", flat=True).first()
    category = CapabilityCategory.objects.create(
        taxonomy=taxonomy, position=(last + 1) if last is not None else 0, **values
    )
    audit_record(
        actor=actor,
        action="taxonomy.category_created",
        data={"taxonomy": taxonomy.slug, "category": category.key, "label": category.label},
    )
    return category
