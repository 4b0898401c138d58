"""Embargo rows for findings embargoed or released before embargoes had rows of their own.

An embargoed finding gets an ACTIVE embargo from its acceptance to its end; a released one an
ENDED one (released on time, at its release). Each gets the history events it would have had
(activated; ended), at those times. The creator is the coordinator who accepted it (from the
audit trail), else whoever filed it. Findings that have an embargo are left alone.
"""

from django.db import migrations


def create_embargoes(apps, schema_editor):
    Finding = apps.get_model("disclosure", "Finding")
    Embargo = apps.get_model("disclosure", "Embargo")
    EmbargoEvent = apps.get_model("disclosure", "EmbargoEvent")
    AuditEvent = apps.get_model("disclosure", "AuditEvent")
    findings = Finding.objects.filter(
        state__in=["embargoed", "released"], embargo__isnull=True, embargo_ends_at__isnull=False
    ).order_by("pk")
    for finding in findings.iterator():
        accepted = (
            AuditEvent.objects.filter(finding_id=finding.pk, action="finding.embargoed")
            .exclude(actor=None)
            .order_by("-id")
            .first()
        )
        creator_id = accepted.actor_id if accepted else finding.created_by_id
        starts_at = finding.accepted_at or (accepted.created_at if accepted else finding.created_at)
        released = finding.state == "released"
        embargo = Embargo.objects.create(
            finding_id=finding.pk,
            state="ended" if released else "active",
            starts_at=starts_at,
            ends_at=finding.embargo_ends_at,
            ended_at=finding.released_at if released else None,
            end_kind="released" if released else "",
            created_by_id=creator_id,
        )
        activated = EmbargoEvent.objects.create(
            embargo=embargo,
            kind="activated",
            actor_id=creator_id,
            new_ends_at=finding.embargo_ends_at,
        )
        # auto_now_add set "now": put the events at the times they happened.
        EmbargoEvent.objects.filter(pk=activated.pk).update(at=starts_at)
        if released:
            ended = EmbargoEvent.objects.create(
                embargo=embargo,
                kind="ended",
                old_ends_at=finding.embargo_ends_at,
                new_ends_at=finding.released_at,
            )
            EmbargoEvent.objects.filter(pk=ended.pk).update(at=finding.released_at)


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0006_embargo_timelines")]

    operations = [migrations.RunPython(create_embargoes, migrations.RunPython.noop)]
