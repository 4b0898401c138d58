"""/api/me/ says who you are and where you belong; /api/organizations/ lists audiences."""

from accounts.models import Membership
from tests.factories import MembershipFactory


def test_me_lists_the_users_organizations_with_kind_and_role(world, api):
    MembershipFactory(user=world.lab_user, organization=world.other_lab, role=Membership.Role.ADMIN)
    body = api(world.lab_user).get("/api/me/").json()
    assert body["email"] == "dev@lab.example"
    assert [(o["slug"], o["kind"], o["role"]) for o in body["organizations"]] == [
        ("example-lab", "developer", "member"),
        ("other-lab", "developer", "admin"),
    ]


def test_organizations_can_be_filtered_to_defenders(world, api):
    response = api(world.coordinator).get("/api/organizations/?kind=defender")
    assert response.status_code == 200
    assert [(o["slug"], o["sector"]) for o in response.json()["results"]] == [
        ("grid-isac", "Energy"),
        ("water-cert", "Water"),
    ]


def test_organizations_without_a_filter_lists_every_kind(world, api):
    body = api(world.coordinator).get("/api/organizations/").json()
    assert body["count"] == 5
    assert set(body["results"][0]) == {"id", "slug", "name", "kind", "sector"}


def test_an_unknown_organization_kind_is_a_400_that_names_the_choices(world, api):
    response = api(world.coordinator).get("/api/organizations/?kind=bank")
    assert response.status_code == 400
    assert "defender" in response.json()["detail"]["kind"]
