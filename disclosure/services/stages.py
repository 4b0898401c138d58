"""The staged release plan, and firing each stage exactly once at its time.

A finding's plan is an ordered list of ReleaseStage rows (positions 1, 2, ...), each an
audience (chosen defender organizations and sectors, every verified defender organization, or
the public), a time and a TLP label. Stage 1 is the first audience, told at acceptance, so it
is fired then; the last stage is the public release at ``Finding.embargo_ends_at``, TLP:CLEAR.
Coordinators replace the stages that have not fired (plan_set; rules in stages_plan).

Firing (stage_fire) is one transaction with the finding's row locked, so the plan, the audience
and the release of one finding change one at a time. The stage row is locked too (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL) and re-checked under the lock: not fired, due by the database's
clock. Earlier stages that have not fired fire first, each writing its audit event (its
cause), its newcomers' FindingRecipient rows and their outbox rows, and ``fired_at`` last. A
fired stage is never due again, so repeated, stale or concurrent calls do nothing.

Scheduling: the due times live in the database. The sweep (``fire_due_stages``, every
RELEASE_SWEEP_SECONDS) fires whatever is due; a precise trigger (a Celery task with an ETA at
the stage's time) is sent after the commit of whatever schedules a stage within
STAGE_TRIGGER_HORIZON_SECONDS, and the arm task (every STAGE_ARM_SECONDS) sends triggers again
for the stages due within STAGE_ARM_AHEAD_SECONDS, so a lost message costs at most the sweep's
interval.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Organization

from .. import policies
from ..errors import Conflict, NotAllowed
from ..models import AuditEvent, Delivery, Finding, FindingRecipient, ReleaseStage
from .audience import defenders_verified
from .audit import audit_record
from .notify import deliveries_enqueue
from .release import release_locked
from .stages_plan import StagePlan, plan_describe, plan_validate, public_end_move

logger = logging.getLogger(__name__)

Audience = ReleaseStage.Audience
State = Finding.State


# --- The plan.


def _acceptance_event(finding: Finding) -> AuditEvent | None:
    """The audit event that told the first audience (the move to embargoed)."""
    return (
        AuditEvent.objects.filter(finding=finding, action=f"finding.{State.EMBARGOED}")
        .order_by("-id")
        .first()
    )


def plan_default(
    *, actor: Any, finding: Finding, cause: AuditEvent | None = None
) -> list[ReleaseStage]:
    """The plan an embargo starts with: stage 1 the first audience (notified already, so fired
    now, by ``cause``, the acceptance's audit event), stage 2 the public release at the embargo
    end. Call inside the transaction that starts the embargo; a finding with a plan keeps it."""
    existing = list(finding.stages.order_by("position"))
    if existing:
        return existing
    ends_at = finding.embargo_ends_at
    if ends_at is None:  # the check constraint embargoed_has_end makes this impossible
        raise Conflict(f"Finding {finding.reference} has no embargo end to plan a release for.")
    if cause is None:
        cause = _acceptance_event(finding)
    now = timezone.now()
    first = ReleaseStage.objects.create(
        finding=finding,
        position=1,
        audience=Audience.ORGANIZATIONS,
        tlp=finding.tlp,
        scheduled_at=now,
        fired_at=now,
        fired_cause=cause,
        created_by=actor,
    )
    first.organizations.set(Organization.objects.filter(recipient_of__finding=finding))
    public = ReleaseStage.objects.create(
        finding=finding,
        position=2,
        audience=Audience.PUBLIC,
        tlp=Finding.Tlp.CLEAR,
        scheduled_at=ends_at,
        created_by=actor,
    )
    stages = [first, public]
    audit_record(
        actor=actor,
        action="finding.release_planned",
        finding=finding,
        data={"stages": plan_describe(stages), "default": True},
    )
    triggers_arm(stages)
    return stages


def _locked(finding: Finding) -> Finding:
    return (
        Finding.objects.select_for_update(of=("self",))
        .select_related("developer")
        .get(pk=finding.pk)
    )


@transaction.atomic
def plan_set(*, actor: Any, finding: Finding, stages: Any, reason: str = "") -> list[ReleaseStage]:
    """Replace the stages that have not fired, from the whole plan as given.

    ``stages``: every stage in order, as dicts with ``audience``, ``organizations`` and
    ``sectors`` (slugs), ``tlp`` and ``scheduled_at``; the fired ones first and unchanged (a
    field left out counts as unchanged). Bad input is a 400 naming ``stages[i].<field>``; a
    finding that is not embargoed a 409. A new public time moves the embargo end
    (services.embargo.embargo_end_set: its policy applies, ``reason`` being the coordinator's
    reason for going past the maximum, and everyone told hears of it). Returns the whole plan.
    """
    if not policies.can_edit_release_plan(actor, finding):
        raise NotAllowed("Only coordinators can change the release plan.")
    finding = _locked(finding)
    if finding.state != State.EMBARGOED:
        raise Conflict(
            f"Finding {finding.reference} is {finding.state}; its release plan can change only "
            "while it is embargoed."
        )
    if not finding.stages.exists():  # embargoed before there were plans
        plan_default(actor=actor, finding=finding)
    current = list(
        finding.stages.select_for_update()
        .prefetch_related("organizations", "sectors")
        .order_by("position")
    )
    fired = [s for s in current if s.fired_at is not None]
    planned = plan_validate(stages, fired=fired, now=timezone.now())
    old = plan_describe(current)
    ReleaseStage.objects.filter(finding=finding, fired_at__isnull=True).delete()
    created = [
        _stage_create(finding, plan, position=len(fired) + i + 1, actor=actor)
        for i, plan in enumerate(planned)
    ]
    public_at = planned[-1].scheduled_at
    if public_at != finding.embargo_ends_at:
        public_end_move(
            actor=actor,
            finding=finding,
            ends_at=public_at,
            reason=reason,
            where=f"stages[{len(fired) + len(planned) - 1}].scheduled_at",
        )
    plan = [*fired, *created]
    audit_record(
        actor=actor,
        action="finding.release_planned",
        finding=finding,
        data={"old": old, "new": plan_describe(plan)},
    )
    triggers_arm(created)
    return plan


def _stage_create(finding: Finding, plan: StagePlan, *, position: int, actor: Any) -> ReleaseStage:
    stage = ReleaseStage.objects.create(
        finding=finding,
        position=position,
        audience=plan.audience,
        tlp=plan.tlp,
        scheduled_at=plan.scheduled_at,
        created_by=actor,
    )
    if plan.organizations:
        stage.organizations.set(plan.organizations)
    if plan.sectors:
        stage.sectors.set(plan.sectors)
    return stage


# --- Firing.


def _skip_locked(qs: QuerySet[ReleaseStage]) -> QuerySet[ReleaseStage]:
    if connection.features.has_select_for_update_skip_locked:
        # The stage rows only: the sweep's query joins the finding, which stays unlocked.
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs  # SQLite: the write lock taken at BEGIN (IMMEDIATE) serialises firings


def stage_fire(stage_id: int) -> bool:
    """Fire the stage if it is due, earlier unfired stages first; True only for the call that
    fired it. Safe to repeat and to run concurrently."""
    finding_id = (
        ReleaseStage.objects.filter(pk=stage_id, fired_at__isnull=True)
        .values_list("finding_id", flat=True)
        .first()
    )
    if finding_id is None:
        return False
    with transaction.atomic():
        # The finding first, then its stages: every writer of a plan locks in this order.
        finding = (
            Finding.objects.select_for_update(of=("self",))
            .select_related("developer")
            .filter(pk=finding_id, state=State.EMBARGOED)
            .first()
        )
        if finding is None:
            return False
        due = ReleaseStage.objects.filter(
            pk=stage_id, fired_at__isnull=True, scheduled_at__lte=Now()
        )
        stage = _skip_locked(due).first()
        if stage is None:
            return False
        earlier = finding.stages.filter(fired_at__isnull=True, position__lt=stage.position)
        for each in [*earlier.select_for_update().order_by("position"), stage]:
            _fire_locked(finding, each, actor=None)
    return True


def stages_fire_all_locked(
    finding: Finding, *, actor: Any, data: dict[str, Any] | None = None
) -> None:
    """Fire every stage not yet fired, in order, now; the release last (also for a finding
    without a plan). Inside a transaction, the finding's row locked, the finding embargoed."""
    for stage in (
        finding.stages.filter(fired_at__isnull=True).select_for_update().order_by("position")
    ):
        if stage.audience == Audience.PUBLIC:
            break
        _fire_locked(finding, stage, actor=actor)
    release_locked(finding, actor=actor, data=data)


@transaction.atomic
def stages_fire_all_now(
    *, actor: Any, finding: Finding, data: dict[str, Any] | None = None
) -> Finding:
    """End the embargo now (a break): every stage not yet fired fires, in order, and the
    finding is released, in one transaction. ``data`` goes into the release's audit event."""
    finding = _locked(finding)
    if finding.state != State.EMBARGOED:
        raise Conflict(f"Finding {finding.reference} is {finding.state}; it is not under embargo.")
    stages_fire_all_locked(finding, actor=actor, data=data)
    return finding


def _fire_locked(finding: Finding, stage: ReleaseStage, *, actor: Any) -> None:
    if stage.audience == Audience.PUBLIC:
        release_locked(finding, actor=actor, data={"stage": stage.position})
        return
    audience = defenders_verified()
    if stage.audience == Audience.ORGANIZATIONS:
        audience = audience.filter(
            Q(pk__in=stage.organizations.values("pk")) | Q(sectors__in=stage.sectors.values("pk"))
        )
    newcomers = list(audience.exclude(recipient_of__finding=finding).distinct().order_by("name"))
    revision = finding.revisions.order_by("-number").values_list("number", flat=True).first()
    FindingRecipient.objects.bulk_create(
        [
            FindingRecipient(
                finding=finding,
                organization=org,
                added_by_id=stage.created_by_id,
                notified_revision=revision,
                stage=stage,
            )
            for org in newcomers
        ],
        ignore_conflicts=True,
    )
    cause = audit_record(
        actor=actor,
        action="finding.stage_fired",
        finding=finding,
        data={
            "stage": stage.position,
            "audience": stage.audience,
            "tlp": stage.tlp,
            "scheduled_at": stage.scheduled_at.isoformat(),
            "organizations": [org.slug for org in newcomers],
        },
    )
    deliveries_enqueue(
        finding=finding, event=Delivery.Event.NOTIFIED, organizations=newcomers, cause=cause
    )
    # Last, so that fired_at is when the newcomers and their outbox rows were written.
    ReleaseStage.objects.filter(pk=stage.pk).update(fired_at=Now(), fired_cause=cause)
    logger.info(
        "Fired stage %s of %s (%d newcomers)", stage.position, finding.reference, len(newcomers)
    )


# --- Scheduling.


def stages_due(*, limit: int = 200) -> list[int]:
    """Ids of the stages due now by the database's clock, oldest first, skipping those another
    worker is firing at this moment."""
    with transaction.atomic():
        due = ReleaseStage.objects.filter(
            fired_at__isnull=True, scheduled_at__lte=Now(), finding__state=State.EMBARGOED
        ).order_by("scheduled_at", "pk")
        return list(_skip_locked(due).values_list("pk", flat=True)[:limit])


def stages_fire_due(*, limit: int = 200) -> int:
    """The sweep: fire every due stage, each in its own transaction, then release any finding
    whose embargo end is due (findings without a plan). Returns how many fired."""
    from .release import release_run_due

    fired = sum(stage_fire(stage_id) for stage_id in stages_due(limit=limit))
    return fired + release_run_due(limit=limit)


def stage_due_in(stage_id: int) -> float | None:
    """Seconds until the stage is due by the database's clock (<= 0: due); None once fired."""
    row = (
        ReleaseStage.objects.filter(pk=stage_id, fired_at__isnull=True)
        .annotate(db_now=Now())
        .values_list("scheduled_at", "db_now")
        .first()
    )
    if row is None:
        return None
    return (row[0] - row[1]).total_seconds()


def triggers_arm(stages: Iterable[ReleaseStage]) -> None:
    """After the commit, send a precise trigger for each unfired stage due within the horizon."""
    horizon = timezone.now() + timedelta(seconds=settings.STAGE_TRIGGER_HORIZON_SECONDS)
    soon = [
        (s.pk, s.scheduled_at) for s in stages if s.fired_at is None and s.scheduled_at <= horizon
    ]
    if soon:
        transaction.on_commit(lambda: _triggers_send(soon))


def stages_trigger_arm(*, finding: Finding) -> None:
    """Arm the finding's unfired stages again (after its end or plan moved); stale triggers
    are harmless: the firing re-checks the time."""
    triggers_arm(finding.stages.filter(fired_at__isnull=True))


def stages_arm_soon() -> int:
    """The arm task: triggers again for every unfired stage due within STAGE_ARM_AHEAD_SECONDS,
    so that a lost or dropped trigger message is replaced before its time."""
    ahead = timedelta(seconds=settings.STAGE_ARM_AHEAD_SECONDS)
    rows = list(
        ReleaseStage.objects.filter(
            fired_at__isnull=True,
            finding__state=State.EMBARGOED,
            scheduled_at__lte=Now() + ahead,
        ).values_list("pk", "scheduled_at")
    )
    _triggers_send(rows)
    return len(rows)


def _triggers_send(rows: list[tuple[int, datetime]]) -> None:
    from ..tasks import fire_stage

    for pk, at in rows:
        try:
            fire_stage.apply_async((pk,), eta=at)
        except Exception:  # the broker is down: the sweep fires it on time anyway
            logger.exception("Could not send the trigger of stage %s; the sweep will fire it", pk)
            return
