"""Updates of a released advisory: each one is a new revision with a public note.

A released finding is closed to edits (policies.CLOSED_STATES); what changes after the release
(a mitigation deployed, a corrected figure) goes through ``advisory_update`` only, which a
coordinator calls with the fields to change and a note that the advisory's public revision
history, its Atom entry and its CSAF ``tracking.revision_history`` show.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .. import policies
from ..errors import Conflict, NotAllowed, ValidationFailed
from ..models import Finding
from .audit import audit_record
from .intake import content_write

ADVISORY_UPDATED = "advisory.updated"
NOTE_MAX_LENGTH = 1000


def _changes_errors(changes: Any) -> dict[str, str]:
    if not isinstance(changes, dict) or not changes:
        return {"changes": 'Give the fields to change, e.g. {"summary": "..."}.'}
    if "tlp" in changes:
        return {"changes.tlp": "A released advisory is TLP:CLEAR; its label does not change."}
    return {}


def _note_errors(note: Any) -> dict[str, str]:
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        return {
            "note": "Say what changed and why: the advisory's public revision history shows it."
        }
    if len(text) > NOTE_MAX_LENGTH:
        return {"note": f"At most {NOTE_MAX_LENGTH} characters."}
    if "\x00" in text:  # the page posts the note as it is (no form field checks it)
        return {"note": "Null characters are not allowed."}
    return {}


@transaction.atomic
def advisory_update(*, actor: Any, finding: Finding, changes: dict[str, Any], note: str) -> Finding:
    """Change a released advisory's content: a new revision, audited with the note.

    Refused with a 409 unless the finding is released, a 403 unless the actor is a
    coordinator, a 400 naming the field (``changes.<field>`` or ``note``) for bad input or
    when nothing would change. All or nothing.
    """
    finding = (
        Finding.objects.select_for_update().select_related("category__taxonomy").get(pk=finding.pk)
    )
    if finding.state != Finding.State.RELEASED:
        raise Conflict(
            "Only a released advisory is updated this way; until its release, edit the finding."
        )
    if not policies.can_update_advisory(actor, finding):
        raise NotAllowed("Only coordinators can update a released advisory.")
    errors = {**_changes_errors(changes), **_note_errors(note)}
    if errors:
        raise ValidationFailed(errors)
    try:
        revision = content_write(actor=actor, finding=finding, fields=changes)
    except ValidationFailed as exc:
        detail = exc.detail
        if isinstance(detail, dict):
            raise ValidationFailed({f"changes.{k}": v for k, v in detail.items()}) from exc
        raise ValidationFailed({"changes": detail}) from exc
    if revision is None:
        raise ValidationFailed(
            {"changes": "Nothing changed: every value given is the current one."}
        )
    # Version 1 is the release itself; each update adds one (the CSAF tracking.version).
    version = finding.audit_events.filter(action=ADVISORY_UPDATED).count() + 2
    audit_record(
        actor=actor,
        action=ADVISORY_UPDATED,
        finding=finding,
        note=note.strip(),
        data={"revision": revision.number, "version": version, "fields": revision.changed_fields},
    )
    return finding
