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


def test_applicants_are_listed_to_coordinators_and_to_their_own_members_only(world, api):
    from accounts.models import Organization
    from tests.factories import MembershipFactory, OrganizationFactory

    applicant = OrganizationFactory(unverified=True)
    member = MembershipFactory(organization=applicant).user

    def slugs(user) -> set[str]:
        return {o["slug"] for o in api(user).get("/api/organizations/").json()["results"]}

    assert applicant.slug in slugs(world.coordinator)
    assert applicant.slug in slugs(member)
    for user in (world.lab_user, world.defender_user, world.other_defender_user):
        listed = slugs(user)
        assert applicant.slug not in listed
        assert world.defender.slug in listed  # verified organizations stay listed
    assert Organization.objects.get(pk=applicant.pk).status == Organization.Status.APPLIED
