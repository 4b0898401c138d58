"""A finding's release plan as a user may read it (the API and the finding page).

Coordinators and the lab read every stage whole. A notified defender reads each stage's
audience kind, TLP label and time and whether it fired, and its own organizations where a
stage names them or brought them in, never another organization's name nor a stage's
sectors: who else is told, and when, is need-to-know. Anyone else gets a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import Http404

from accounts.models import Organization

from . import policies
from .models import Finding, FindingRecipient, ReleaseStage, Sector


@dataclass
class PlanRow:
    stage: ReleaseStage
    organizations: list[Organization] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    # A defender's view: one of its organizations is named by the stage or came in with it.
    includes_you: bool = False


@dataclass
class Plan:
    access: str
    rows: list[PlanRow]
    # The user may change the stages not yet fired now (coordinators, under embargo).
    editable: bool


def release_plan_for(
    user: Any, finding: Finding, *, recipients: list[FindingRecipient] | None = None
) -> Plan:
    """The plan as the user may read it; a 404 for whoever may not. Three queries for the
    whole plan, two for a defender's (whose audience rows cost one more unless ``recipients``,
    the finding's rows, are given)."""
    mine = policies.org_ids(user, Organization.Kind.DEFENDER)
    if recipients is None:
        recipients = list(finding.recipients.filter(organization_id__in=mine)) if mine else []
    own = [r for r in recipients if r.organization_id in mine]
    notified = frozenset(r.organization_id for r in own)
    access = policies.release_plan_access(user, finding, notified=notified)
    if not access:
        raise Http404("No finding with that reference.")
    stages = finding.stages.prefetch_related("organizations").order_by("position")
    if access == policies.PLAN_ALL:
        editable = policies.can_edit_release_plan(user, finding) and (
            finding.state == Finding.State.EMBARGOED
        )
        rows = [
            PlanRow(s, list(s.organizations.all()), list(s.sectors.all()))
            for s in stages.prefetch_related("sectors")
        ]
        return Plan(access, rows, editable)
    brought = {r.stage_id for r in own}
    plan = []
    for stage in stages:
        named = [o for o in stage.organizations.all() if o.pk in notified]
        plan.append(PlanRow(stage, named, [], bool(named) or stage.pk in brought))
    return Plan(access, plan, editable=False)
