import pytest

from disclosure.errors import Conflict
from disclosure.models import Finding
from disclosure.transitions import ALLOWED, transition_check

State = Finding.State


def test_every_state_has_a_rule():
    assert set(ALLOWED) == set(State.values)


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in State.values for t in State.values if t not in ALLOWED[s]],
)
def test_disallowed_transitions_are_refused(source, target):
    finding = Finding(reference="FW-2026-0001", state=source)
    with pytest.raises(Conflict):
        transition_check(finding, target)


def test_released_and_rejected_are_final():
    assert ALLOWED[State.RELEASED] == ALLOWED[State.REJECTED] == frozenset()
