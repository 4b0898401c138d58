"""Checking a release plan as a coordinator gives it (services.stages.plan_set).

The plan comes whole, in order. Each rule is refused with a 400 naming ``stages[i].<field>``
(``i`` counts from 0 over the plan as given), and nothing is written:

- the stages that have fired come first and unchanged (a field left out counts as unchanged);
  none may be removed;
- at most MAX_STAGES stages; exactly one public stage, and it is the last;
- each time has a zone, is in the future, and is later than the stage before (fired or not);
- an ``organizations`` stage names at least one verified defender organization or a sector
  (at its time it brings in those organizations and the verified defenders in those
  sectors); ``community`` (every verified defender) and ``public`` stages name none;
- TLP: the public stage is TLP:CLEAR and only it may be (CLEAR lets anyone share it, which
  before the release would publish it early); a stage's label is never stricter than the
  label of the stage before: those told earlier hold it under the earlier label, so a later,
  wider audience cannot be bound tighter. A label left out is the previous stage's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Organization

from .. import policies
from ..errors import ValidationFailed
from ..models import Finding, ReleaseStage, Sector

Audience = ReleaseStage.Audience
Tlp = Finding.Tlp
MAX_STAGES = 10


@dataclass(frozen=True)
class StagePlan:
    """One stage to be, checked."""

    audience: str
    organizations: tuple[Organization, ...]
    sectors: tuple[Sector, ...]
    tlp: str
    scheduled_at: datetime


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def plan_describe(stages: list[ReleaseStage]) -> list[dict[str, Any]]:
    """The plan as plain data, for the audit trail."""
    return [
        {
            "position": s.position,
            "audience": s.audience,
            "organizations": sorted(o.slug for o in s.organizations.all()),
            "sectors": sorted(x.slug for x in s.sectors.all()),
            "tlp": s.tlp,
            "scheduled_at": _iso(s.scheduled_at),
            "fired_at": _iso(s.fired_at),
        }
        for s in stages
    ]


def _fail(where: str, message: str) -> ValidationFailed:
    return ValidationFailed({where: message})


def _audience(item: dict[str, Any], where: str) -> str:
    value = item.get("audience")
    if value not in Audience.values:
        raise _fail(f"{where}.audience", f"Choose one of: {', '.join(Audience.values)}.")
    return str(value)


def _slugs(item: dict[str, Any], field: str, where: str) -> list[str]:
    value = item.get(field) or []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail(f"{where}.{field}", "Give a list of slugs.")
    return list(dict.fromkeys(value))


def _tlp(item: dict[str, Any], where: str, default: str) -> str:
    value = item.get("tlp")
    if value is None or value == "":
        return default
    label = str(value).strip().upper().removeprefix("TLP:")
    if label not in Tlp.values:
        raise _fail(
            f"{where}.tlp", f"Unknown TLP label {value!r}. Choose one of: {', '.join(Tlp.labels)}."
        )
    return label


def _time(item: dict[str, Any], where: str) -> datetime:
    value = item.get("scheduled_at")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # a well-formed but impossible time: below
            value = parse_datetime(value.strip()) or value
    field = f"{where}.scheduled_at"
    if value is None or value == "":
        raise _fail(field, "Give the stage's time.")
    if not isinstance(value, datetime):
        raise _fail(field, "Give an ISO 8601 time with a zone, e.g. 2026-12-01T12:00:00Z.")
    if timezone.is_naive(value):
        raise _fail(field, "Give a time zone (e.g. 2026-12-01T12:00:00Z).")
    return value


def _fired_unchanged(item: Any, stage: ReleaseStage, where: str) -> None:
    """A fired stage given back: each field given must be what it was."""
    fixed = f"stage {stage.position} has fired; it cannot change"
    if not isinstance(item, dict):
        raise _fail(where, f"Give each stage as an object ({fixed}).")
    if "audience" in item and item["audience"] != stage.audience:
        raise _fail(f"{where}.audience", f"Must stay {stage.audience}: {fixed}.")
    if "tlp" in item and _tlp(item, where, stage.tlp) != stage.tlp:
        raise _fail(f"{where}.tlp", f"Must stay {Tlp(stage.tlp).label}: {fixed}.")
    if "scheduled_at" in item and _time(item, where) != stage.scheduled_at:
        raise _fail(f"{where}.scheduled_at", f"Must stay {_iso(stage.scheduled_at)}: {fixed}.")
    for field, had in (
        ("organizations", {o.slug for o in stage.organizations.all()}),
        ("sectors", {x.slug for x in stage.sectors.all()}),
    ):
        if field in item and set(_slugs(item, field, where)) != had:
            raise _fail(
                f"{where}.{field}", f"Must stay {', '.join(sorted(had)) or 'empty'}: {fixed}."
            )


def _lookup(items: list[Any], start: int) -> tuple[dict[str, Organization], dict[str, Sector]]:
    """Every organization and sector the new stages name, by slug, in two queries."""
    orgs: set[str] = set()
    sectors: set[str] = set()
    for i, item in enumerate(items[start:], start):
        if isinstance(item, dict):
            orgs.update(_slugs(item, "organizations", f"stages[{i}]"))
            sectors.update(_slugs(item, "sectors", f"stages[{i}]"))
    return (
        {o.slug: o for o in Organization.objects.filter(slug__in=orgs)},
        {s.slug: s for s in Sector.objects.filter(slug__in=sectors)},
    )


def _audience_named(
    item: dict[str, Any],
    audience: str,
    where: str,
    known: tuple[dict[str, Organization], dict[str, Sector]],
) -> tuple[tuple[Organization, ...], tuple[Sector, ...]]:
    org_slugs = _slugs(item, "organizations", where)
    sector_slugs = _slugs(item, "sectors", where)
    if audience != Audience.ORGANIZATIONS:
        for field, given in (("organizations", org_slugs), ("sectors", sector_slugs)):
            if given:
                whom = "every verified defender" if audience == Audience.COMMUNITY else "everyone"
                raise _fail(f"{where}.{field}", f"A {audience} stage reaches {whom}; name none.")
        return (), ()
    orgs, sectors = known
    unknown = [s for s in org_slugs if s not in orgs]
    if unknown:
        raise _fail(f"{where}.organizations", f"Unknown organizations: {', '.join(unknown)}.")
    unfit = [
        s
        for s in org_slugs
        if orgs[s].kind != Organization.Kind.DEFENDER or not orgs[s].is_verified
    ]
    if unfit:
        raise _fail(
            f"{where}.organizations",
            f"Not verified defender organizations (they may not be told): {', '.join(unfit)}.",
        )
    unknown = [s for s in sector_slugs if s not in sectors]
    if unknown:
        raise _fail(f"{where}.sectors", f"Unknown sectors: {', '.join(unknown)}.")
    if not org_slugs and not sector_slugs:
        raise _fail(
            f"{where}.organizations",
            "Name at least one verified defender organization or a sector.",
        )
    return tuple(orgs[s] for s in org_slugs), tuple(sectors[s] for s in sector_slugs)


def plan_validate(items: Any, *, fired: list[ReleaseStage], now: datetime) -> list[StagePlan]:
    """The stages to follow the fired ones, checked; see the module's rules."""
    if not isinstance(items, list) or not items:
        raise _fail("stages", "Give the plan: a list of stages, the public release last.")
    if len(items) > MAX_STAGES:
        raise _fail("stages", f"A plan has at most {MAX_STAGES} stages.")
    for i, stage in enumerate(fired):
        if i >= len(items):
            raise _fail("stages", f"Stage {i + 1} has fired; it cannot be removed.")
        _fired_unchanged(items[i], stage, f"stages[{i}]")
    if len(items) == len(fired):
        raise _fail("stages", "Every stage given has fired: add the public release.")
    known = _lookup(items, len(fired))
    before_at = fired[-1].scheduled_at if fired else None
    before_tlp = fired[-1].tlp if fired else None
    planned = []
    for i in range(len(fired), len(items)):
        where, item = f"stages[{i}]", items[i]
        if not isinstance(item, dict):
            raise _fail(where, "Give each stage as an object.")
        audience = _audience(item, where)
        last = i == len(items) - 1
        if audience == Audience.PUBLIC and not last:
            raise _fail(f"{where}.audience", "The public release must be the last stage.")
        if last and audience != Audience.PUBLIC:
            raise _fail(f"{where}.audience", "The last stage must be the public release.")
        orgs, sectors = _audience_named(item, audience, where, known)
        tlp = _tlp(item, where, Tlp.CLEAR if last else (before_tlp or Tlp.AMBER_STRICT))
        if audience == Audience.PUBLIC and tlp != Tlp.CLEAR:
            raise _fail(f"{where}.tlp", "The public release is TLP:CLEAR.")
        if audience != Audience.PUBLIC and tlp == Tlp.CLEAR:
            raise _fail(
                f"{where}.tlp",
                "TLP:CLEAR lets anyone share it: only the public release may be TLP:CLEAR.",
            )
        if before_tlp and policies.tlp_rank(tlp) > policies.tlp_rank(before_tlp):
            raise _fail(
                f"{where}.tlp",
                f"Must not be stricter than stages[{i - 1}] ({Tlp(before_tlp).label}): those "
                "told earlier hold it under that label.",
            )
        at = _time(item, where)
        if at <= now:
            raise _fail(f"{where}.scheduled_at", "Must be in the future.")
        if before_at is not None and at <= before_at:
            raise _fail(
                f"{where}.scheduled_at",
                f"Must be after stages[{i - 1}] ({_iso(before_at)}).",
            )
        planned.append(StagePlan(audience, orgs, sectors, tlp, at))
        before_at, before_tlp = at, tlp
    return planned


def public_end_move(
    *, actor: Any, finding: Finding, ends_at: datetime, reason: str, where: str
) -> None:
    """The public stage's time is the embargo end: move it through the embargo (its policy
    applies: past the maximum ``reason`` is required; the history and the notices are the
    embargo's), a refusal of the time being the stage's 400. Inside plan_set's transaction."""
    from .embargo import embargo_end_set

    try:
        embargo_end_set(actor=actor, finding=finding, ends_at=ends_at, reason=reason)
    except ValidationFailed as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {where: exc.detail}
        raise ValidationFailed(
            {(key if key == "reason" else where): text for key, text in detail.items()}
        ) from exc
