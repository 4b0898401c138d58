"""The matrix's variants of a URL pattern's arguments: one per object the pattern can point at
(a finding per state, a thread per scope, an organization ...), filled from the world by
urlworld.values, plus one for an object that does not exist, whose answer every refusal must
equal (nobody learns what exists)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from disclosure.csaf import csaf_filename

from . import policy
from .policy import STATES
from .urlworld import Where, values
from .world import World

FAKE_ID = 999_999
FAKE_TOKEN = "cal_" + "x" * 43


@dataclass(frozen=True)
class Variant:
    values: dict[str, Any]  # reference, slug, object, token, year, filename, digest
    state: str = ""  # of the finding the object belongs to
    detail: str = ""  # thread scope, extension requester, inbox owner, organization key
    query: dict[str, str] = field(default_factory=dict)
    fake: bool = False
    # The same address with an object that does not exist in the same finding or organization
    # (None: the URL names no object inside one).
    twin: dict[str, Any] | None = None
    elsewhere: bool = False  # an organization's object under another organization's address

    @property
    def label(self) -> str:
        bits = [self.state, self.detail, "elsewhere" if self.elsewhere else ""]
        bits.append("nonexistent" if self.fake else "")
        return "/".join(b for b in bits if b) or "-"


def _fake_reference() -> str:
    return f"FW-{timezone.now().year}-{policy.FAKE_NUMBER}"


def variants(target: str, world: World) -> Iterator[Variant]:
    """Every variant of ``target``, the nonexistent one last."""

    def at(**where: str) -> dict[str, Any]:
        return values(target, world, Where(**where))

    fake_ref = _fake_reference()
    if target == "none":
        yield Variant({})
    elif target == "search":
        yield Variant({})
        for state in STATES:
            yield Variant({}, state, "search", {"q": policy.marker(state, "title")})
    elif target in ("finding", "recipients", "plan", "attachments", "advisory"):
        for state in STATES:
            yield Variant(at(state=state), state)
        yield Variant({"reference": fake_ref}, fake=True)
    elif target == "csaf":
        for state in world.findings:
            yield Variant(at(state=state), state)
        fake = {"year": timezone.now().year, "filename": csaf_filename(fake_ref)}
        yield Variant(fake, fake=True)
    elif target == "attachment":
        for state in world.attachments:
            given = at(state=state)
            yield Variant(given, state, twin={**given, "object": FAKE_ID})
        yield Variant({"reference": fake_ref, "object": FAKE_ID}, fake=True)
    elif target == "revision":
        for state in STATES:
            given = at(state=state)
            yield Variant(given, state, twin={**given, "object": 99})
        yield Variant({"reference": fake_ref, "object": 2}, fake=True)
    elif target == "thread":
        for state, scope in world.threads:
            yield Variant(at(state=state, scope=scope), state, str(scope))
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "credit":
        for state, kind in world.credits:
            yield Variant(at(state=state, credit=kind), state, kind)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "extension":
        for state, who in world.extensions:
            given = at(state=state, requester=who)
            yield Variant(given, state, who, twin={**given, "object": FAKE_ID})
        yield Variant({"reference": fake_ref, "object": FAKE_ID}, fake=True)
    elif target == "delivery":
        for state in world.deliveries:
            yield Variant(at(state=state), state)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "inbox":
        for state, owner in world.inbox:
            yield Variant(at(state=state, owner=owner), state, owner)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "org":
        for key in ("L1", "L2", "CC", "D1", "D2", "D3", "P"):
            yield Variant(at(org=key), detail=key)
        yield Variant({"slug": "no-such-organization"}, fake=True)
    elif target in ("contact", "invitation", "subscription", "webhook", "feed"):
        for key in ("D1", "D2"):  # D1's object, and under D2's address (not there)
            given = at(org=key)
            twin = {**given, "object": FAKE_ID}
            yield Variant(given, detail=key, twin=twin, elsewhere=key != "D1")
        yield Variant({"slug": "no-such-organization", "object": FAKE_ID}, fake=True)
    elif target == "calendar":
        for key in ("D1", "D2", "D3", "revoked"):
            yield Variant(at(feed=key), detail=key)
        yield Variant({"token": FAKE_TOKEN}, fake=True)
    elif target == "invitation_token":
        yield Variant(at(), detail="D1")
        yield Variant({"token": "x" * 43}, fake=True)
    elif target in ("token", "device"):
        yield Variant(at(), detail="lab")
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "taxonomy":
        yield Variant(at())
        yield Variant({"slug": "no-such-taxonomy"}, fake=True)
    elif target == "digest":
        yield Variant({"digest": "ybndrfg8ejkmcpqxot1uwisza345h769"}, fake=True)
    else:
        raise ValueError(f"unknown target {target!r}")


FEED_OWNERS = {"D1": "notified", "D2": "outsider", "D3": "removed"}


def reaches(target: str, role: str, v: Variant) -> bool:
    """May ``role`` reach the object of variant ``v``? (A 404 for anyone who may not.)"""
    if v.fake:
        return False
    if target in ("none", "search", "taxonomy", "invitation_token"):
        return True  # no object to hide, or the token in the URL is the credential
    if target == "calendar":
        return v.detail in FEED_OWNERS  # not a revoked feed
    if v.elsewhere:
        return False
    if target in ("finding", "revision", "credit"):
        return policy.sees_finding(role, v.state)
    if target in ("attachments", "attachment"):
        return policy.sees_attachments(role, v.state)
    if target == "csaf":
        return v.state == "released"
    if target in ("org", "contact", "invitation", "subscription", "webhook", "feed"):
        return policy.reaches_org(role, v.detail)
    if target in ("token", "device"):
        return role == v.detail
    return policy.reaches(role, target, v.state, v.detail)


def viewer(target: str, role: str, v: Variant) -> str:
    """Whose eyes the answer is for: a calendar feed's URL is its organization's credential."""
    if target == "calendar" and v.detail in FEED_OWNERS:
        return FEED_OWNERS[v.detail]
    return role


def container_reached(target: str, role: str, v: Variant) -> bool:
    """May ``role`` see the finding or organization whose object the variant names? (False
    when the URL names no such container.)"""
    if v.fake:
        return False
    if target in ("attachment", "attachments", "revision", "extension", "plan", "recipients"):
        return policy.sees_finding(role, v.state)
    if target in ("contact", "invitation", "subscription", "webhook", "feed"):
        return policy.reaches_org(role, v.detail)
    return False
