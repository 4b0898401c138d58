"""The coordinators' page for updating a released advisory: it publishes a new version with a
public note; everyone else and every other state are refused, and bad input writes nothing."""

from __future__ import annotations

from django.urls import reverse

from disclosure.models import AuditEvent, Finding
from disclosure.services.advisories import ADVISORY_UPDATED
from disclosure.services.revisions import finding_content

from .test_views_content import _rows


def _as(client, user):
    client.force_login(user)
    return client


def _url(finding: Finding) -> str:
    return reverse("advisory-update", args=[finding.reference])


def _posted(finding: Finding, **overrides) -> dict[str, object]:
    """The form as the page shows it filled in, with ``overrides``."""
    content = finding_content(finding)
    evaluations, mitigations = content.pop("evaluations"), content.pop("mitigations")
    content.pop("tlp")
    content["planned_availability"] = content["planned_availability"] or ""
    n_eval, n_mit = len(evaluations), len(mitigations)
    for row in evaluations:
        row["modifications"] = row["modifications"] or []
    return {
        **content,
        **_rows("evaluations", evaluations, initial=n_eval),
        **_rows("mitigations", mitigations, initial=n_mit),
        **overrides,
    }


def test_a_coordinator_publishes_an_update_with_a_note(client, world):
    finding = world.released()
    page = _as(client, world.coordinator)
    advisory = page.get(reverse("advisory-detail", args=[finding.reference])).content.decode()
    assert _url(finding) in advisory  # the page offers the update to coordinators

    form = page.get(_url(finding))
    assert form.status_code == 200
    assert 'name="tlp"' not in form.content.decode()  # released is TLP:CLEAR for good

    response = page.post(
        _url(finding),
        _posted(finding, summary="A corrected public summary.", note="Corrected the summary."),
    )
    assert response.status_code == 302
    assert response.url == reverse("advisory-detail", args=[finding.reference])
    finding.refresh_from_db()
    assert finding.summary == "A corrected public summary."
    assert finding.state == Finding.State.RELEASED
    event = AuditEvent.objects.get(finding=finding, action=ADVISORY_UPDATED)
    assert (event.actor, event.note) == (world.coordinator, "Corrected the summary.")


def test_an_update_without_a_note_or_without_a_change_is_refused_and_writes_nothing(client, world):
    finding = world.released()
    page = _as(client, world.coordinator)
    revisions = finding.revisions.count()

    no_note = page.post(_url(finding), _posted(finding, summary="Changed.", note="  "))
    assert no_note.status_code == 400
    assert "Say what changed and why" in no_note.content.decode()

    no_change = page.post(_url(finding), _posted(finding, note="Nothing really."))
    assert no_change.status_code == 400
    assert "Nothing changed" in no_change.content.decode()

    finding.refresh_from_db()
    assert finding.summary != "Changed."
    assert finding.revisions.count() == revisions
    assert not AuditEvent.objects.filter(action=ADVISORY_UPDATED).exists()


def test_only_coordinators_may_update_and_only_released_advisories(client, world):
    finding = world.released()
    for user in (world.lab_user, world.defender_user):
        response = _as(client, user).get(_url(finding))
        assert response.status_code == 403
        advisory = client.get(reverse("advisory-detail", args=[finding.reference]))
        assert _url(finding) not in advisory.content.decode()
    client.logout()
    assert client.get(_url(finding)).status_code == 302  # to the login page
    embargoed = world.embargoed()
    assert _as(client, world.coordinator).get(_url(embargoed)).status_code == 404
