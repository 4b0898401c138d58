"""Every step of the workflow is possible by API: file, edit, submit, accept, reject, ack."""

from disclosure.models import AuditEvent, Delivery, Finding, FindingRecipient
from tests.disclosure.api.conftest import FINDING_BODY, accept_body, finding_url
from tests.factories import MembershipFactory


def test_a_lab_member_files_a_draft(world, api):
    response = api(world.lab_user).post("/api/findings/", FINDING_BODY, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("FW-")
    assert (body["state"], body["developer"]["slug"]) == ("draft", "example-lab")
    finding = Finding.objects.get(reference=body["reference"])
    assert (finding.created_by, finding.category.key) == (
        world.lab_user,
        "openai-pf-v2:biological-chemical",
    )


def test_filing_with_submit_true_submits_at_once(world, api):
    body = {**FINDING_BODY, "submit": True}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.json()["state"] == "submitted"
    assert Finding.objects.get().submitted_at is not None


def test_a_member_of_two_labs_names_the_developer(world, api):
    MembershipFactory(user=world.lab_user, organization=world.other_lab)
    body = {**FINDING_BODY, "developer": "other-lab"}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.status_code == 201
    assert response.json()["developer"]["slug"] == "other-lab"


def test_a_member_of_two_labs_who_names_none_gets_a_400_listing_them(world, api):
    MembershipFactory(user=world.lab_user, organization=world.other_lab)
    response = api(world.lab_user).post("/api/findings/", FINDING_BODY, format="json")
    assert response.status_code == 400
    assert "example-lab, other-lab" in response.json()["detail"]["developer"]
    assert not Finding.objects.exists()


def test_filing_for_a_lab_you_do_not_belong_to_is_refused(world, api):
    body = {**FINDING_BODY, "developer": "other-lab"}
    response = api(world.lab_user).post("/api/findings/", body, format="json")
    assert response.status_code == 403
    assert not Finding.objects.exists()


def test_a_defender_cannot_file_a_finding(world, api):
    response = api(world.defender_user).post("/api/findings/", FINDING_BODY, format="json")
    assert response.status_code == 403
    assert not Finding.objects.exists()


def test_the_lab_edits_its_draft(world, api):
    finding = world.file()
    response = api(world.lab_user).patch(
        finding_url(finding.reference), {"title": "A sharper title"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["title"] == "A sharper title"
    finding.refresh_from_db()
    assert finding.title == "A sharper title"
    assert AuditEvent.objects.filter(finding=finding, action="finding.updated").exists()


def test_a_closed_finding_can_no_longer_be_edited(world, api):
    finding = world.rejected()
    response = api(world.lab_user).patch(
        finding_url(finding.reference), {"title": "Too late"}, format="json"
    )
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.title != "Too late"


def test_the_lab_submits_its_draft(world, api):
    finding = world.file()
    response = api(world.lab_user).post(finding_url(finding.reference, "submit"))
    assert response.status_code == 200
    assert response.json()["state"] == "submitted"
    assert response.json()["actions"] == ["edit", "withdraw"]


def test_submitting_twice_is_a_409(world, api):
    finding = world.submitted()
    response = api(world.lab_user).post(finding_url(finding.reference, "submit"))
    assert response.status_code == 409
    assert "submitted" in response.json()["detail"]


def test_a_coordinator_accepts_notifies_and_starts_the_embargo(world, api):
    finding = world.submitted()
    body = {**accept_body("grid-isac"), "note": "Credible"}
    response = api(world.coordinator).post(
        finding_url(finding.reference, "accept"), body, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "embargoed"
    assert [r["organization"] for r in data["audience"]] == ["grid-isac"]
    assert data["embargo_ends_at"] is not None
    delivered_to = Delivery.objects.filter(
        finding=finding, event=Delivery.Event.NOTIFIED, channel=Delivery.Channel.EMAIL
    ).values_list("recipient__email", flat=True)
    assert list(delivered_to) == ["analyst@grid.example"]
    accepted = AuditEvent.objects.get(finding=finding, action="finding.accepted")
    assert accepted.note == "Credible"


def test_the_lab_cannot_accept_its_own_finding(world, api):
    finding = world.submitted()
    response = api(world.lab_user).post(
        finding_url(finding.reference, "accept"), accept_body("grid-isac"), format="json"
    )
    assert response.status_code == 403
    assert not FindingRecipient.objects.exists()


def test_a_coordinator_rejects_with_a_reason(world, api):
    finding = world.submitted()
    response = api(world.coordinator).post(
        finding_url(finding.reference, "reject"), {"reason": "Not a new capability"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    rejected = AuditEvent.objects.get(finding=finding, action="finding.rejected")
    assert rejected.note == "Not a new capability"


def test_a_notified_defender_acknowledges(world, api):
    finding = world.embargoed()
    response = api(world.defender_user).post(finding_url(finding.reference, "acknowledge"))
    assert response.status_code == 200
    body = response.json()
    assert body["audience"][0]["acknowledged"] is True
    assert body["actions"] == []
    row = FindingRecipient.objects.get(finding=finding)
    assert (row.acknowledged_by, row.acknowledged_at is not None) == (world.defender_user, True)


def test_acknowledging_twice_changes_nothing(world, api):
    finding = world.embargoed()
    client = api(world.defender_user)
    first = client.post(finding_url(finding.reference, "acknowledge")).json()
    second = client.post(finding_url(finding.reference, "acknowledge")).json()
    assert first["audience"] == second["audience"]
    assert AuditEvent.objects.filter(finding=finding, action="finding.acknowledged").count() == 1


def test_a_coordinator_cannot_acknowledge_for_a_defender(world, api):
    finding = world.embargoed()
    response = api(world.coordinator).post(finding_url(finding.reference, "acknowledge"))
    assert response.status_code == 403
    assert FindingRecipient.objects.get(finding=finding).acknowledged_at is None


def test_there_is_no_put_and_state_is_not_writable(world, api):
    finding = world.file()
    client = api(world.lab_user)
    put = client.put(finding_url(finding.reference), FINDING_BODY, format="json")
    assert put.status_code == 405
    patch = client.patch(finding_url(finding.reference), {"state": "released"}, format="json")
    assert patch.status_code == 400
    assert "state" in patch.json()["detail"]
    finding.refresh_from_db()
    assert finding.state == "draft"
