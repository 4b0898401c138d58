"""A lab member files a complete finding through the form, in Chromium, and reads it back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disclosure.models import Finding
from tests.browser.login import log_in


@pytest.mark.browser
def test_a_lab_member_files_a_complete_finding_and_sees_it_in_full(
    live_server, world, password, page, screenshot
):
    log_in(page, live_server, world.lab_user, password)
    page.get_by_role("link", name="File a finding").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("File a finding")

    page.get_by_label("Title").fill("Agentic uplift on PLC exploitation")
    page.get_by_label("Summary").fill("The model plans and runs ICS exploits with little help.")
    page.get_by_label("Capability category").select_option("openai-pf-v2:cybersecurity")
    page.get_by_label("Risk before mitigations").select_option("high")
    page.get_by_label("Risk after mitigations").select_option("medium")
    page.get_by_label("TLP label").select_option("AMBER")
    page.get_by_label("Energy", exact=True).check()
    page.get_by_label("Water and Wastewater Systems").check()
    page.get_by_label("Model name").fill("Aurora-3")
    page.get_by_label("Version or checkpoint").fill("rc-2026-11")
    page.get_by_label("API", exact=True).check()
    page.get_by_label("Open weights").check()
    page.get_by_label("Planned availability").fill("2026-12-15")
    page.get_by_label("Details").fill("On an isolated OT range the model compromised 7 of 20 PLCs.")
    page.get_by_label("Recommended defender actions").fill("Segment engineering workstations.")

    evaluations = [
        ("OT range", "Agentic runs on 20 PLCs", "deployed", "tool_access", "7 of 20", "+30 pp"),
        ("Exploit writing", "Expert-graded tasks", "base", "jailbreaks", "12 of 15", "+40 pp"),
    ]
    for i, (name, method, checkpoint, modification, result, uplift) in enumerate(evaluations):
        row = page.get_by_role("group", name=f"Evaluation {i + 1}")
        row.get_by_label("Name").fill(name)
        row.get_by_label("Method").fill(method)
        row.get_by_label("Checkpoint evaluated").select_option(checkpoint)
        row.locator(f"input[name='evaluations-{i}-modifications'][value='{modification}']").check()
        row.get_by_label("Metric").fill("Targets compromised")
        row.get_by_label("Result").fill(result)
        row.get_by_label("Baseline").fill("1 of 20")
        row.get_by_label("Measured uplift").fill(uplift)
        row.get_by_label("Date").fill("2026-10-02")
    mitigation = page.get_by_role("group", name="Mitigation 1")
    mitigation.get_by_label("Description").fill("Classifier on exploit-shaped tool calls")
    mitigation.get_by_label("Status").select_option("in_progress")
    screenshot("file-complete-finding-form")

    page.get_by_role("button", name="Save draft").click()

    finding = Finding.objects.get()
    expect(page.get_by_role("status")).to_contain_text(f"{finding.reference} is saved as a draft")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agentic uplift on PLC exploitation")
    expect(page.locator(".tlp-bar").first).to_have_text("Traffic Light Protocol: TLP:AMBER")
    capability = page.get_by_role("region", name="Capability and risk")
    expect(capability).to_contain_text("Cybersecurity")
    expect(capability).to_contain_text("Medium risk")
    expect(capability).to_contain_text("Water and Wastewater Systems")
    evidence = page.get_by_role("region", name="Evidence")
    expect(evidence.get_by_role("row")).to_have_count(3)  # the header and two evaluations
    expect(evidence.get_by_role("row", name="Exploit writing")).to_contain_text("+40 pp")
    mitigations = page.get_by_role("region", name="Mitigations")
    expect(mitigations).to_contain_text("In progress")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("API, Open weights")
    expect(details).to_contain_text("2026-12-15")
    screenshot("file-complete-finding-detail")

    assert (finding.tlp, finding.residual_risk_level) == ("AMBER", "medium")
    assert [e.name for e in finding.evaluations.all()] == ["OT range", "Exploit writing"]
    assert finding.mitigations.get().status == "in_progress"
