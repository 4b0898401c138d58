"""The /findings/ page: search box, filters, cursor links, and nothing the user may not see."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from disclosure.models import Finding
from tests.factories import FindingFactory

URL = reverse("finding-list")


def _as(client, user):
    client.force_login(user)
    return client


def _refs(response) -> list[str]:
    return re.findall(r'class="ref">(FW-[\d-]+)<', response.content.decode())


def _results(response) -> str:
    """The page below the search form: where results or the empty state appear."""
    return response.content.decode().split("</form>", 2)[-1]


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_page_lists_what_the_user_may_see_with_its_public_columns(client, world):
    mine = world.file(title="Draft about persuasion")
    theirs = world.submitted()
    Finding.objects.filter(pk=theirs.pk).update(developer=world.other_lab)
    response = _as(client, world.lab_user).get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert _refs(response) == [mine.reference]
    assert "Draft about persuasion" in body
    assert "TLP:AMBER+STRICT" in body
    assert "Cybersecurity" in body
    assert "EMBARGOED-DETAIL" not in body


def test_the_nav_links_to_the_page(client, world):
    body = _as(client, world.lab_user).get(reverse("home")).content.decode()
    assert f'href="{URL}"' in body


def test_searching_finds_by_title_words(client, world):
    wanted = world.file(title="Covert influence operations planner")
    world.file(title="Something else")
    response = _as(client, world.lab_user).get(URL, {"q": "influence planner"})
    assert _refs(response) == [wanted.reference]


def test_a_hidden_findings_title_gives_the_same_page_as_a_miss(client, world):
    embargoed = world.embargoed()
    page = _as(client, world.other_defender_user)
    hit = page.get(URL, {"q": embargoed.title})
    miss = page.get(URL, {"q": "nothing-is-called-this"})
    assert hit.status_code == miss.status_code == 200
    assert _refs(hit) == []
    assert _results(hit) == _results(miss)
    assert "No findings match this search." in _results(hit)


def test_filters_narrow_the_results(client, world):
    critical = world.file(risk_level="critical")
    world.file(risk_level="low")
    response = _as(client, world.lab_user).get(URL, {"risk_level": "critical", "state": "draft"})
    assert _refs(response) == [critical.reference]
    assert 'value="critical" id="id_risk_level_3" checked' in response.content.decode()


def test_a_bad_filter_value_is_a_400_page_naming_the_problem(client, world):
    world.file()
    response = _as(client, world.lab_user).get(URL, {"state": "secret", "lab": "nowhere"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Unknown state &#x27;secret&#x27;" in body
    assert "Unknown lab &#x27;nowhere&#x27;" in body
    assert _refs(response) == []


def test_next_and_previous_links_walk_the_pages(client, world):
    FindingFactory.create_batch(55, developer=world.lab, created_by=world.lab_user)
    page = _as(client, world.lab_user)
    first = page.get(URL, {"state": "draft"})
    body = first.content.decode()
    assert 'rel="prev"' not in body
    next_link = re.search(r'href="([^"]+)" rel="next"', body).group(1).replace("&amp;", "&")
    assert "state=draft" in next_link
    second = page.get(URL + next_link)
    assert len(_refs(first)) == 50
    assert len(_refs(second)) == 5
    assert not set(_refs(first)) & set(_refs(second))
    assert 'rel="next"' not in second.content.decode()
    previous = re.search(r'href="([^"]+)" rel="prev"', second.content.decode()).group(1)
    assert _refs(page.get(URL + previous.replace("&amp;", "&"))) == _refs(first)


def test_the_empty_state_when_there_is_nothing_to_see(client, world):
    response = _as(client, world.other_defender_user).get(URL)
    assert "There are no findings for you to see yet." in response.content.decode()


def test_the_page_has_no_inline_script_or_style(client, world):
    world.file()
    body = _as(client, world.lab_user).get(URL).content.decode()
    assert "<script" not in body
    assert "style=" not in body


@pytest.mark.parametrize("rows", [1, 50])
def test_the_page_costs_the_same_for_1_and_50_rows(
    client, world, django_assert_max_num_queries, rows
):
    FindingFactory.create_batch(rows, developer=world.lab, created_by=world.lab_user)
    page = _as(client, world.lab_user)
    # Session and user (2), memberships, the rows, the form's categories, frameworks and labs,
    # and the nav's unread inbox count; a search adds the matching categories on PostgreSQL.
    with django_assert_max_num_queries(9):
        response = page.get(URL, {"q": "capability"})
    assert len(_refs(response)) == rows
