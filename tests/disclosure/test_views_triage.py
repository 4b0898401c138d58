"""Triage and discussion pages: the queue, the triage panel's actions (PRG, refusals with their
4xx), what the lab reads, the discussion forms, and their query budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure.models import Comment, Finding, Thread
from disclosure.services import intake, triage
from disclosure.services.discussion import thread_open
from tests.conftest import FINDING_FIELDS
from tests.disclosure.triage_states import finding_in, in_triage, needs_info
from tests.factories import FindingFactory, MembershipFactory, OrganizationFactory, UserFactory

State = Finding.State
QUESTION = "SECRET-QUESTION: which checkpoint did you evaluate?"


def _as(client, user):
    client.force_login(user)
    return client


def _detail(finding) -> str:
    return reverse("finding-detail", args=[finding.reference])


def _action(finding, name: str) -> str:
    return reverse(f"finding-{name}", args=[finding.reference])


# --- The queue page.


def test_the_queue_page_lists_the_queue_by_risk_then_age(client, world):
    def queued(risk, days):
        return FindingFactory(
            developer=world.lab,
            created_by=world.lab_user,
            state=State.SUBMITTED,
            risk_level=risk,
            submitted_at=timezone.now() - timedelta(days=days),
        )

    medium_old, critical_new, critical_old = (
        queued("medium", 9),
        queued("critical", 1),
        queued("critical", 4),
    )
    text = _as(client, world.coordinator).get(reverse("triage-queue")).content.decode()
    positions = [text.index(f.reference) for f in (critical_old, critical_new, medium_old)]
    assert positions == sorted(positions)


def test_the_queue_page_filters_mine_and_unassigned(client, world):
    mine = triage.finding_assign(
        actor=world.coordinator, finding=world.submitted(), assignee=world.coordinator
    )
    nobodys = world.submitted()
    client = _as(client, world.coordinator)
    assigned_to_me = client.get(reverse("triage-queue") + "?assigned=me").content.decode()
    unassigned = client.get(reverse("triage-queue") + "?assigned=none").content.decode()
    assert mine.reference in assigned_to_me and nobodys.reference not in assigned_to_me
    assert nobodys.reference in unassigned and mine.reference not in unassigned


@pytest.mark.parametrize("role", ["lab_user", "defender_user"])
def test_the_queue_page_does_not_exist_for_others(client, world, role):
    world.submitted()
    assert _as(client, getattr(world, role)).get(reverse("triage-queue")).status_code == 404


def test_the_queue_page_needs_a_login(client, world):
    response = client.get(reverse("triage-queue"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_coordinators_home_shows_the_queue_with_state_and_assignee(client, world):
    finding = triage.finding_assign(
        actor=world.coordinator, finding=in_triage(world), assignee=world.coordinator
    )
    text = _as(client, world.coordinator).get(reverse("home")).content.decode()
    queue = text[text.index("queue-heading") :]
    assert finding.reference in queue
    assert "In triage" in queue
    assert world.coordinator.full_name in queue


# --- Triage actions on the finding page.

# action -> (from state, who may, form data, the state after)
ACTIONS = {
    "start-triage": (State.SUBMITTED, "coordinator", {}, State.IN_TRIAGE),
    "request-info": (State.IN_TRIAGE, "coordinator", {"message": QUESTION}, State.NEEDS_INFO),
    "provide-info": (State.NEEDS_INFO, "lab_user", {"response": "ckpt-7"}, State.IN_TRIAGE),
    "duplicate": (State.SUBMITTED, "coordinator", "original", State.DUPLICATE),
    "withdraw": (State.SUBMITTED, "lab_user", {"reason": "Wrong model"}, State.WITHDRAWN),
}
WRONG_ROLE = {
    "start-triage": "lab_user",
    "request-info": "lab_user",
    "provide-info": "coordinator",
    "duplicate": "lab_user",
    "withdraw": "coordinator",
    "assign": "lab_user",
}


def _data(world, data):
    if data == "original":
        return {"duplicate_of": world.submitted().reference, "reason": ""}
    return data


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_redirects_back_to_the_finding(client, world, action):
    state, role, data, result = ACTIONS[action]
    finding = finding_in(world, state)
    response = _as(client, getattr(world, role)).post(_action(finding, action), _data(world, data))
    assert response.status_code == 302
    assert response["Location"] == _detail(finding)
    finding.refresh_from_db()
    assert finding.state == result
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert any(m.level_tag == "success" for m in page.context["messages"])


@pytest.mark.parametrize("action", [*ACTIONS, "assign"])
def test_the_wrong_role_gets_a_403_page_with_the_reason(client, world, action):
    state = ACTIONS.get(action, (State.SUBMITTED,))[0]
    finding = finding_in(world, state)
    response = _as(client, getattr(world, WRONG_ROLE[action])).post(
        _action(finding, action), {"message": "x", "reason": "x", "response": "x"}
    )
    assert response.status_code == 403
    assert "Only" in response.content.decode()
    finding.refresh_from_db()
    assert finding.state == state


@pytest.mark.parametrize("outsider", ["other_lab_user", "defender_user"])
@pytest.mark.parametrize("action", [*ACTIONS, "assign"])
def test_who_cannot_see_the_finding_gets_a_404(client, world, action, outsider):
    finding = world.submitted()
    response = _as(client, getattr(world, outsider)).post(_action(finding, action), {})
    assert response.status_code == 404


def test_a_move_the_state_does_not_allow_is_a_409_with_the_reason(client, world):
    finding = world.embargoed()
    response = _as(client, world.coordinator).post(_action(finding, "start-triage"))
    assert response.status_code == 409
    assert "embargoed" in response.content.decode()


def test_an_empty_message_re_renders_the_form_with_a_400(client, world):
    finding = in_triage(world)
    response = _as(client, world.coordinator).post(
        _action(finding, "request-info"), {"message": ""}
    )
    assert response.status_code == 400
    form = response.context["triage"]["forms"]["request_info"]
    assert "message" in form.errors
    finding.refresh_from_db()
    assert finding.state == State.IN_TRIAGE


def test_an_unknown_original_is_a_400_on_the_duplicate_form(client, world):
    finding = world.submitted()
    response = _as(client, world.coordinator).post(
        _action(finding, "duplicate"), {"duplicate_of": "FW-1999-0001"}
    )
    assert response.status_code == 400
    assert "duplicate_of" in response.context["triage"]["forms"]["duplicate"].errors


def test_a_coordinator_assigns_through_the_panel(client, world):
    second = UserFactory(email="second@cc.example")
    MembershipFactory(user=second, organization=world.center)
    finding = world.submitted()
    response = _as(client, world.coordinator).post(
        _action(finding, "assign"), {"assignee": second.pk}
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.assignee == second
    response = client.post(_action(finding, "assign"), {"assignee": ""})
    finding.refresh_from_db()
    assert finding.assignee is None


def test_the_assign_form_offers_only_coordinators(client, world):
    text = _as(client, world.coordinator).get(_detail(world.submitted())).content.decode()
    select = text[
        text.index('name="assignee"') : text.index("</select>", text.index('name="assignee"'))
    ]
    assert "coord@cc.example" in select or world.coordinator.full_name in select
    assert "dev@lab.example" not in select
    assert "analyst@grid.example" not in select


def test_accept_still_works_from_in_triage_through_the_page(client, world):
    finding = in_triage(world)
    ends = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = _as(client, world.coordinator).post(
        reverse("finding-accept", args=[finding.reference]),
        {"defender_organizations": [world.defender.pk], "embargo_ends_at": ends},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.state == State.EMBARGOED


@pytest.mark.parametrize(
    ("state", "role", "shown", "hidden"),
    [
        (
            State.SUBMITTED,
            "coordinator",
            ["Start triage", "Close as duplicate"],
            ["Request information"],
        ),
        (State.IN_TRIAGE, "coordinator", ["Request information"], ["Start triage"]),
        (State.NEEDS_INFO, "coordinator", ["Resume triage"], ["Request information"]),
        (State.NEEDS_INFO, "lab_user", ["Send answer", "Withdraw finding"], ["Start triage"]),
        (State.SUBMITTED, "lab_user", ["Withdraw finding"], ["Send answer", "Save assignee"]),
        (State.EMBARGOED, "defender_user", [], ["Triage", "Withdraw finding", "Save assignee"]),
    ],
)
def test_the_panel_offers_what_the_user_may_do_now(client, world, state, role, shown, hidden):
    text = _as(client, getattr(world, role)).get(_detail(finding_in(world, state))).content.decode()
    for label in shown:
        assert label in text
    for label in hidden:
        assert f">{label}<" not in text


def test_the_lab_reads_the_coordinators_question_on_its_page(client, world):
    finding = needs_info(world, message=QUESTION)
    text = _as(client, world.lab_user).get(_detail(finding)).content.decode()
    assert "Messages with the coordinators" in text
    assert QUESTION in text
    assert "asked the lab for information" in text


def test_the_lab_answer_is_shown_to_the_coordinators(client, world):
    finding = triage.finding_provide_info(
        actor=world.lab_user, finding=needs_info(world), response="LAB-ANSWER: ckpt-7"
    )
    text = _as(client, world.coordinator).get(_detail(finding)).content.decode()
    assert "LAB-ANSWER: ckpt-7" in text


def test_notified_defenders_never_read_the_triage_messages(client, world):
    finding = triage.finding_provide_info(
        actor=world.lab_user, finding=needs_info(world, message=QUESTION), response="LAB-ANSWER"
    )
    finding = triage.finding_accept(
        actor=world.coordinator,
        finding=finding,
        organizations=[world.defender],
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )
    text = _as(client, world.defender_user).get(_detail(finding)).content.decode()
    assert "EMBARGOED-DETAIL" in text  # the defender does read the finding
    assert "SECRET-QUESTION" not in text
    assert "LAB-ANSWER" not in text


def test_the_lab_is_not_told_the_reference_of_another_labs_original(client, world):
    other = intake.finding_submit(
        actor=world.other_lab_user,
        finding=intake.finding_create(
            actor=world.other_lab_user, developer=world.other_lab, **FINDING_FIELDS
        ),
    )
    finding = triage.finding_mark_duplicate(
        actor=world.coordinator, finding=world.submitted(), duplicate_of=other.reference
    )
    lab_text = _as(client, world.lab_user).get(_detail(finding)).content.decode()
    assert other.reference not in lab_text
    assert "another finding, which you cannot see" in lab_text
    coordinator_text = _as(client, world.coordinator).get(_detail(finding)).content.decode()
    assert other.reference in coordinator_text


# --- Discussion on the finding page.


def test_opening_a_thread_redirects_to_it(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(
        reverse("finding-thread-open", args=[finding.reference]),
        {"audience": "lab", "subject": "About ckpt", "body": "**Hello**"},
    )
    thread = Thread.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{_detail(finding)}#thread-{thread.pk}"
    text = client.get(_detail(finding)).content.decode()
    assert "<strong>Hello</strong>" in text


def test_replying_redirects_to_the_thread(client, world):
    finding = world.submitted()
    thread = thread_open(
        actor=world.coordinator, finding=finding, scope="lab", subject="s", body="first"
    )
    response = _as(client, world.lab_user).post(
        reverse("thread-comment-post", args=[thread.pk]), {"body": "second"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#thread-{thread.pk}")
    assert list(thread.comments.values_list("body", flat=True)) == ["first", "second"]


def test_an_empty_reply_is_a_400_on_that_threads_form(client, world):
    thread = thread_open(
        actor=world.coordinator, finding=world.submitted(), scope="lab", subject="s", body="b"
    )
    response = _as(client, world.lab_user).post(
        reverse("thread-comment-post", args=[thread.pk]), {"body": ""}
    )
    assert response.status_code == 400
    (shown,) = response.context["discussion"]["threads"]
    assert "body" in shown.reply_form.errors


def test_replying_to_a_thread_out_of_scope_is_a_404(client, world):
    thread = thread_open(
        actor=world.coordinator,
        finding=world.submitted(),
        scope="coordinators",
        subject="s",
        body="b",
    )
    response = _as(client, world.lab_user).post(
        reverse("thread-comment-post", args=[thread.pk]), {"body": "let me in"}
    )
    assert response.status_code == 404
    assert thread.comments.count() == 1


def test_a_scope_the_user_may_not_use_is_refused_by_the_form(client, world):
    finding = world.submitted()
    response = _as(client, world.lab_user).post(
        reverse("finding-thread-open", args=[finding.reference]),
        {"audience": "coordinators", "subject": "s", "body": "b"},
    )
    assert response.status_code == 400
    assert not Thread.objects.exists()


def test_the_scope_select_offers_only_the_scopes_the_user_may_use(client, world):
    finding = triage.finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[world.defender, world.other_defender],
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )

    def offered(user):
        page = _as(client, user).get(_detail(finding))
        return dict(page.context["discussion"]["open_form"].fields["audience"].choices)

    assert offered(world.lab_user) == {"lab": "Coordinators and the lab"}
    assert offered(world.defender_user) == {"organization:grid-isac": "Coordinators and Grid ISAC"}
    assert set(offered(world.coordinator)) == {
        "coordinators",
        "lab",
        "defenders",
        "organization:grid-isac",
        "organization:water-cert",
    }


def test_a_released_finding_shows_strangers_no_discussion(client, world):
    finding = world.released()
    thread_open(
        actor=world.coordinator, finding=finding, scope="defenders", subject="SECRET-S", body="b"
    )
    text = _as(client, world.other_lab_user).get(_detail(finding)).content.decode()
    assert "SECRET-S" not in text
    assert "Open a thread" not in text


@pytest.mark.parametrize("role", ["coordinator", "lab_user"])
def test_the_page_with_panel_and_discussion_has_no_inline_script_or_style(client, world, role):
    finding = needs_info(world)
    thread_open(actor=world.coordinator, finding=finding, scope="lab", subject="s", body="`x`")
    body = _as(client, getattr(world, role)).get(_detail(finding)).content.decode().lower()
    assert "<script" not in body
    assert " style=" not in body


# --- Query budgets.


@pytest.mark.parametrize("rows", [1, 50])
def test_queue_page_query_budget(client, world, django_assert_max_num_queries, rows):
    FindingFactory.create_batch(
        rows,
        developer=world.lab,
        created_by=world.lab_user,
        state=State.IN_TRIAGE,
        submitted_at=timezone.now(),
        assignee=world.coordinator,
    )
    client = _as(client, world.coordinator)
    # +1 since the nav shows the inbox's unread count.
    with django_assert_max_num_queries(6):
        assert client.get(reverse("triage-queue")).status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("role", ["coordinator", "lab_user", "defender_user"])
def test_detail_with_threads_query_budget(client, world, django_assert_max_num_queries, rows, role):
    finding = triage.finding_assign(
        actor=world.coordinator, finding=world.embargoed(), assignee=world.coordinator
    )
    for _ in range(rows):
        OrganizationFactory()
        author = UserFactory()
        MembershipFactory(user=author, organization=world.center)
        scope = Thread.Scope.LAB if role == "lab_user" else Thread.Scope.DEFENDERS
        thread = Thread.objects.create(finding=finding, scope=scope, subject="s", created_by=author)
        Comment.objects.bulk_create(
            Comment(thread=thread, author=author, body="b", body_html="<p>b</p>") for _ in range(3)
        )
    client = _as(client, getattr(world, role))
    # Of these, triage and discussion take 5: the triage notes, the assignee, the coordinators
    # to assign to, the threads and their comments. +3 for a coordinator's audience controls
    # (the proposal's subscriptions and sectors, the organizations not yet notified); +2 for a
    # defender's first read ("seen": its UPDATE and audit row); +2 for the embargo panel (the
    # embargo, its extension requests); +5 for a coordinator's release plan card (its stages,
    # their organizations and sectors; the form's choices of organizations and sectors).
    with django_assert_max_num_queries(29):
        response = client.get(_detail(finding))
    assert response.status_code == 200
    assert len(response.context["discussion"]["threads"]) == rows
