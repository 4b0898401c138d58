"""GET /api/findings/: search and filters over what the caller may see, in cursor pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from disclosure.models import CapabilityCategory, Finding
from tests.factories import FindingFactory

State = Finding.State
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search and ranking need PostgreSQL"
)


def _finding(world, **fields) -> Finding:
    """A finding of world.lab, straight into the table (the lab sees it in any state)."""
    return FindingFactory(**{"developer": world.lab, "created_by": world.lab_user, **fields})


def _submitted(world, **fields) -> Finding:
    return _finding(world, state=State.SUBMITTED, submitted_at=timezone.now(), **fields)


def _refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["reference"] for row in response.json()["results"]]


def _category(key: str) -> CapabilityCategory:
    slug, code = key.split(":")
    return CapabilityCategory.objects.get(taxonomy__slug=slug, code=code)


# --- Search.


def test_search_finds_a_finding_by_words_of_its_title(world, api):
    wanted = _finding(world, title="Autonomous exploitation of industrial controllers")
    _finding(world, title="Persuasion at scale")
    assert _refs(api(world.lab_user).get("/api/findings/", {"q": "industrial exploitation"})) == [
        wanted.reference
    ]


def test_search_finds_a_finding_by_its_reference(world, api):
    wanted = world.file()
    world.file()
    assert _refs(api(world.lab_user).get("/api/findings/", {"q": wanted.reference})) == [
        wanted.reference
    ]


@pytest.mark.parametrize(
    ("fields", "query"),
    [
        ({"summary": "Plans logistics for a pandemic pathogen release."}, "pathogen"),
        ({"model_name": "Zephyrine-9"}, "Zephyrine"),
        ({"category": "anthropic-rsp:ai-rd-4"}, "AI R&D-4"),
    ],
    ids=["summary", "model_name", "category_label"],
)
def test_search_covers_every_public_field(world, api, fields, query):
    if "category" in fields:
        fields = {**fields, "category": _category(fields["category"])}
    wanted = _finding(world, **fields)
    _finding(world, title="Something else entirely")
    assert _refs(api(world.lab_user).get("/api/findings/", {"q": query})) == [wanted.reference]


@pytest.mark.parametrize("field", ["details", "recommended_actions", "model_version"])
def test_search_never_matches_words_only_in_embargoed_fields(world, api, field):
    # Even the lab, which may read them, gets no match: embargoed fields are not indexed.
    _finding(world, **{field: "quixotically-unique marmoset"})
    assert _refs(api(world.lab_user).get("/api/findings/", {"q": "marmoset"})) == []


def test_search_returns_only_findings_the_caller_may_see(world, api):
    released = world.released()
    embargoed = world.embargoed()
    assert released.title == embargoed.title
    for user in (world.other_defender_user, world.other_lab_user):
        assert _refs(api(user).get("/api/findings/", {"q": embargoed.title})) == [
            released.reference
        ]
    both = _refs(api(world.defender_user).get("/api/findings/", {"q": embargoed.title}))
    assert sorted(both) == sorted([released.reference, embargoed.reference])


@pytest.mark.parametrize("role", ["other_defender_user", "other_lab_user"])
def test_searching_a_hidden_findings_exact_title_answers_exactly_like_a_miss(world, api, role):
    embargoed = world.embargoed()
    client = api(getattr(world, role))
    hit = client.get("/api/findings/", {"q": f'"{embargoed.title}"'})
    miss = client.get("/api/findings/", {"q": "nothing-is-called-this"})
    by_reference = client.get("/api/findings/", {"q": embargoed.reference})
    assert hit.status_code == miss.status_code == by_reference.status_code == 200
    # No count, no hint: the bytes are the same as for a query that matches nothing.
    assert hit.content == miss.content == by_reference.content
    assert hit.json() == {"next": None, "previous": None, "results": []}


def test_search_for_a_draft_of_another_lab_finds_nothing(world, api):
    draft = world.file(title="Unreleased jailbreak transfer results")
    response = api(world.other_lab_user).get("/api/findings/", {"q": "jailbreak transfer"})
    assert _refs(response) == []
    assert draft.reference not in response.content.decode()


def test_a_blank_search_lists_everything_visible(world, api):
    findings = [world.file(), world.file()]
    refs = _refs(api(world.lab_user).get("/api/findings/", {"q": "  "}))
    assert sorted(refs) == sorted(f.reference for f in findings)


@postgres_only
def test_search_ranks_a_title_match_above_a_summary_match(world, api):
    in_summary = _finding(world, title="Other", summary="Mentions ransomware in passing.")
    in_title = _finding(world, title="Ransomware negotiation agent", summary="Plain.")
    # The summary match is newer, so rank, not age, decides the order.
    Finding.objects.filter(pk=in_title.pk).update(created_at=timezone.now() - timedelta(days=3))
    assert _refs(api(world.lab_user).get("/api/findings/", {"q": "ransomware"})) == [
        in_title.reference,
        in_summary.reference,
    ]


@postgres_only
def test_search_understands_websearch_syntax(world, api):
    both = _finding(world, title="Spear phishing with voice cloning")
    _finding(world, title="Spear phishing by email")
    client = api(world.lab_user)
    assert _refs(client.get("/api/findings/", {"q": "phishing -email"})) == [both.reference]
    assert _refs(client.get("/api/findings/", {"q": '"voice cloning"'})) == [both.reference]


@postgres_only
def test_the_search_is_served_by_the_gin_index(world):
    from disclosure.search import findings_matching

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    # Unordered, so the plan shows how rows are found, not how they are sorted.
    plan = findings_matching(Finding.objects.order_by(), "exploitation").explain()
    assert "finding_search_idx" in plan


# --- Filters.


def test_the_state_filter_takes_several_states(world, api):
    draft, submitted = world.file(), world.submitted()
    world.rejected()
    refs = _refs(api(world.lab_user).get("/api/findings/?state=draft&state=submitted"))
    assert sorted(refs) == sorted([draft.reference, submitted.reference])


@pytest.mark.parametrize(
    ("param", "value", "fields"),
    [
        ("category", "anthropic-rsp:cbrn-3", {"category": "anthropic-rsp:cbrn-3"}),
        ("taxonomy", "gdm-fsf", {"category": "gdm-fsf:cyber-uplift-1"}),
        ("risk_level", "critical", {"risk_level": "critical"}),
        ("residual_risk_level", "low", {"residual_risk_level": "low"}),
        ("tlp", "RED", {"tlp": "RED"}),
        ("tlp", "AMBER+STRICT", {"tlp": "AMBER+STRICT"}),
    ],
    ids=["category", "taxonomy", "risk", "residual_risk", "tlp", "tlp_amber_strict"],
)
def test_each_content_filter_keeps_only_matching_findings(world, api, param, value, fields):
    if "category" in fields:
        fields = {**fields, "category": _category(fields["category"])}
    wanted = _finding(world, **fields)
    _finding(world, risk_level="high", residual_risk_level="", tlp="GREEN")
    assert _refs(api(world.lab_user).get("/api/findings/", {param: value})) == [wanted.reference]


def test_a_tlp_label_whose_plus_became_a_space_still_matches(world, api):
    wanted = _finding(world, tlp="AMBER+STRICT")
    _finding(world, tlp="AMBER")
    # An unencoded "+" in a query string arrives as a space.
    assert _refs(api(world.lab_user).get("/api/findings/?tlp=AMBER+STRICT")) == [wanted.reference]


def test_the_lab_filter_keeps_one_developers_findings(world, api):
    ours = _submitted(world)
    _submitted(world, developer=world.other_lab, created_by=world.other_lab_user)
    response = api(world.coordinator).get("/api/findings/", {"lab": "example-lab"})
    assert _refs(response) == [ours.reference]


@pytest.mark.parametrize(
    ("field", "param"),
    [("created_at", "created"), ("submitted_at", "submitted"), ("released_at", "released")],
)
def test_date_filters_bound_each_date_by_whole_utc_days(world, api, field, param):
    days = [datetime(2026, 3, day, 23, 59, tzinfo=UTC) for day in (1, 2, 3)]
    findings = [_submitted(world) for _ in days]
    for finding, day in zip(findings, days, strict=True):
        Finding.objects.filter(pk=finding.pk).update(**{field: day})
    client = api(world.lab_user)
    after = _refs(client.get("/api/findings/", {f"{param}_after": "2026-03-02"}))
    before = _refs(client.get("/api/findings/", {f"{param}_before": "2026-03-02"}))
    both = {f"{param}_after": "2026-03-02", f"{param}_before": "2026-03-02"}
    assert after == [findings[2].reference, findings[1].reference]
    assert before == [findings[1].reference, findings[0].reference]
    assert _refs(client.get("/api/findings/", both)) == [findings[1].reference]


def test_the_assignee_filter_finds_mine_and_the_unassigned(world, api):
    mine = _submitted(world, assignee=world.coordinator)
    unassigned = _submitted(world)
    client = api(world.coordinator)
    assert _refs(client.get("/api/findings/", {"assignee": "me"})) == [mine.reference]
    assert _refs(client.get("/api/findings/", {"assignee": "none"})) == [unassigned.reference]


def test_filters_and_search_combine(world, api):
    wanted = _finding(world, title="Cyber range uplift", risk_level="critical")
    _finding(world, title="Cyber range uplift", risk_level="low")
    _finding(world, title="Unrelated", risk_level="critical")
    response = api(world.lab_user).get("/api/findings/", {"q": "uplift", "risk_level": "critical"})
    assert _refs(response) == [wanted.reference]


def test_filters_never_add_distinct_which_would_defeat_the_ordering_index(world, rf):
    from disclosure.filters import FindingFilter

    request = rf.get("/api/findings/?state=draft&state=submitted&risk_level=high&tlp=RED")
    request.user = world.lab_user
    filters = FindingFilter(request.GET, queryset=Finding.objects.all(), request=request)
    assert filters.is_valid()
    assert not filters.qs.query.distinct


@pytest.mark.parametrize(
    ("query", "param", "hint"),
    [
        ("state=secret", "state", "draft"),
        ("state=draft&state=bogus", "state", "embargoed"),
        ("category=openai-pf-v2:weather", "category", "<taxonomy>:<code>"),
        ("category=cybersecurity", "category", "<taxonomy>:<code>"),
        ("taxonomy=nist-ai-rmf", "taxonomy", "taxonomy"),
        ("risk_level=extreme", "risk_level", "critical"),
        ("residual_risk_level=none", "residual_risk_level", "low"),
        ("lab=no-such-lab", "lab", "slug"),
        ("tlp=WHITE", "tlp", "AMBER+STRICT"),
        ("assignee=someone", "assignee", "me"),
        ("created_after=yesterday", "created_after", "YYYY-MM-DD"),
        ("released_before=2026-13-01", "released_before", "YYYY-MM-DD"),
        ("stat=draft", "stat", "state"),
        ("lab=example-lab&lab=other-lab", "lab", "once"),
        ("cursor=not-a-cursor", "cursor", "next or previous link"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_parameter_and_what_is_valid(
    world, api, query, param, hint
):
    world.file()
    response = api(world.lab_user).get(f"/api/findings/?{query}")
    assert response.status_code == 400
    assert hint in response.json()["detail"][param]


def test_a_search_text_longer_than_200_characters_is_a_400(world, api):
    response = api(world.lab_user).get("/api/findings/", {"q": "x" * 201})
    assert response.status_code == 400
    assert "200" in response.json()["detail"]["q"]


# --- Cursor pagination.


def _walk(client, url: str, direction: str = "next") -> list[list[str]]:
    pages: list[list[str]] = []
    while url:
        assert len(pages) < 20, "the cursor does not advance"
        response = client.get(url)
        pages.append(_refs(response))
        url = response.json()[direction]
    return pages


def test_the_cursor_walks_every_page_once_without_duplicates(world, api):
    findings = FindingFactory.create_batch(120, developer=world.lab, created_by=world.lab_user)
    # Ties on created_at must not lose or repeat rows: the cursor keeps the id too.
    tied = timezone.now() - timedelta(hours=1)
    Finding.objects.filter(pk__in=[f.pk for f in findings[40:70]]).update(created_at=tied)
    pages = _walk(api(world.lab_user), "/api/findings/")
    assert [len(page) for page in pages] == [50, 50, 20]
    refs = [ref for page in pages for ref in page]
    assert len(refs) == len(set(refs)) == 120


def test_previous_links_walk_back_to_the_first_page(world, api):
    FindingFactory.create_batch(120, developer=world.lab, created_by=world.lab_user)
    client = api(world.lab_user)
    forward = _walk(client, "/api/findings/")
    last = client.get("/api/findings/").json()["next"]
    last = client.get(last).json()["next"]
    backward = _walk(client, last, direction="previous")
    assert backward == list(reversed(forward))


def test_the_list_answers_without_counts(world, api):
    world.file()
    assert set(api(world.lab_user).get("/api/findings/").json()) == {"next", "previous", "results"}


@postgres_only
def test_the_cursor_walks_ranked_search_results_with_many_equal_ranks(world, api):
    FindingFactory.create_batch(
        130, developer=world.lab, created_by=world.lab_user, title="Identical rank title"
    )
    pages = _walk(api(world.lab_user), "/api/findings/?q=identical")
    refs = [ref for page in pages for ref in page]
    assert [len(page) for page in pages] == [50, 50, 30]
    assert len(set(refs)) == 130


# --- Query budgets.


@pytest.mark.parametrize("rows", [1, 50])
def test_a_filtered_search_costs_the_same_for_1_and_50_rows(
    world, api, django_assert_max_num_queries, rows
):
    FindingFactory.create_batch(
        rows,
        developer=world.lab,
        created_by=world.lab_user,
        title="Budgeted search",
        category=_category("anthropic-rsp:cbrn-3"),
    )
    client = api(world.lab_user)
    query = {
        "q": "budgeted",
        "state": ["draft", "submitted"],
        "category": "anthropic-rsp:cbrn-3",
        "lab": "example-lab",
        "created_after": "2020-01-01",
    }
    # Session and user (2), memberships, the category and lab lookups, the matching
    # categories (PostgreSQL only), the rows.
    with django_assert_max_num_queries(7):
        response = client.get("/api/findings/", query)
    assert len(response.json()["results"]) == rows


# --- Health.


def test_health_answers_anyone_without_touching_the_database(client):
    # No db fixture: pytest-django makes any database access in this test an error.
    response = client.get("/api/health/", HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
