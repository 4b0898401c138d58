"""Who sees which finding in which state: the policy and the selector agree, cell by cell."""

import pytest
from django.contrib.auth.models import AnonymousUser

from disclosure.models import Finding
from disclosure.policies import can_acknowledge, can_view_finding
from disclosure.selectors import findings_visible_to

State = Finding.State
ROLES = ["anonymous", "lab", "other_lab", "coordinator", "defender", "other_defender"]
# Expected visibility; a defender here is the notified one, other_defender was not notified.
VISIBLE = {
    State.DRAFT: {"lab"},
    State.SUBMITTED: {"lab", "coordinator"},
    State.REJECTED: {"lab", "coordinator"},
    State.EMBARGOED: {"lab", "coordinator", "defender"},
    State.RELEASED: set(ROLES),
}


def _user(world, role):
    return {
        "anonymous": AnonymousUser(),
        "lab": world.lab_user,
        "other_lab": world.other_lab_user,
        "coordinator": world.coordinator,
        "defender": world.defender_user,
        "other_defender": world.other_defender_user,
    }[role]


@pytest.mark.parametrize("state", list(VISIBLE))
@pytest.mark.parametrize("role", ROLES)
def test_policy_and_selector_agree_with_the_visibility_table(world, state, role):
    finding = world.in_state(state)
    user = _user(world, role)
    expected = role in VISIBLE[state]
    assert can_view_finding(user, finding) is expected
    assert findings_visible_to(user).filter(pk=finding.pk).exists() is expected


def test_selector_lists_each_visible_finding_once_for_a_user_in_several_orgs(world):
    from tests.factories import MembershipFactory

    MembershipFactory(user=world.defender_user, organization=world.other_defender)
    finding = world.embargoed()
    assert list(findings_visible_to(world.defender_user)) == [finding]


def test_an_inactive_user_sees_only_public_findings(world):
    embargoed, released = world.embargoed(), world.released()
    world.defender_user.is_active = False
    world.defender_user.save()
    visible = set(findings_visible_to(world.defender_user))
    assert embargoed not in visible
    assert released in visible


def test_only_notified_defenders_acknowledge(world):
    finding = world.embargoed()
    assert can_acknowledge(world.defender_user, finding)
    assert not can_acknowledge(world.other_defender_user, finding)
    assert not can_acknowledge(world.coordinator, finding)
