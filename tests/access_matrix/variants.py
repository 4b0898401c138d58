"""Filling a URL pattern's arguments from the world: one variant per object the pattern can
point at (a finding per state, a thread per scope, an organization ...), plus one for an object
that does not exist, whose answer every refusal must equal (nobody learns what exists)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from disclosure.csaf import csaf_filename, csaf_year

from . import policy
from .policy import STATES
from .world import World

FAKE_ID = 999_999
FAKE_TOKEN = "cal_" + "x" * 43
# Keyword names in URL patterns for an object's number.
ID_KWARGS = ("pk", "id", "thread_id", "number")


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


def path_of(name: str, kwarg_names: list[str], variant: Variant) -> str:
    kwargs = {}
    for kwarg in kwarg_names:
        key = "object" if kwarg in ID_KWARGS else kwarg
        kwargs[kwarg] = variant.values[key]
    path = reverse(name, kwargs=kwargs)
    return f"{path}?{urlencode(variant.query)}" if variant.query else path


def _fake_reference() -> str:
    return f"FW-{timezone.now().year}-{policy.FAKE_NUMBER}"


def variants(target: str, world: World) -> Iterator[Variant]:
    """Every variant of ``target``, the nonexistent one last."""
    ref = {state: f.reference for state, f in world.findings.items()}
    fake_ref = _fake_reference()
    if target == "none":
        yield Variant({})
    elif target == "search":
        yield Variant({})
        for state in STATES:
            yield Variant({}, state, "search", {"q": policy.marker(state, "title")})
    elif target in ("finding", "recipients", "plan", "attachments", "advisory"):
        for state in STATES:
            yield Variant({"reference": ref[state]}, state)
        yield Variant({"reference": fake_ref}, fake=True)
    elif target == "csaf":
        for state, finding in world.findings.items():
            # Where its document would be (this year's folder) if it were released.
            year = csaf_year(finding) if finding.released_at else timezone.now().year
            values = {"year": year, "filename": csaf_filename(finding.reference)}
            yield Variant(values, state)
        values = {"year": timezone.now().year, "filename": csaf_filename(fake_ref)}
        yield Variant(values, fake=True)
    elif target == "attachment":
        for state, pk in world.attachments.items():
            twin = {"reference": ref[state], "object": FAKE_ID}
            yield Variant({"reference": ref[state], "object": pk}, state, twin=twin)
        yield Variant({"reference": fake_ref, "object": FAKE_ID}, fake=True)
    elif target == "revision":
        for state in STATES:
            twin = {"reference": ref[state], "object": 99}
            yield Variant({"reference": ref[state], "object": 2}, state, twin=twin)
        yield Variant({"reference": fake_ref, "object": 2}, fake=True)
    elif target == "thread":
        for (state, scope), pk in world.threads.items():
            yield Variant({"object": pk}, state, str(scope))
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "credit":
        for (state, kind), pk in world.credits.items():
            yield Variant({"object": pk}, state, kind)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "extension":
        for (state, who), pk in world.extensions.items():
            twin = {"reference": ref[state], "object": FAKE_ID}
            yield Variant({"reference": ref[state], "object": pk}, state, who, twin=twin)
        yield Variant({"reference": fake_ref, "object": FAKE_ID}, fake=True)
    elif target == "delivery":
        for state, pk in world.deliveries.items():
            yield Variant({"object": pk}, state)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "inbox":
        for (state, owner), pk in world.inbox.items():
            yield Variant({"object": pk}, state, owner)
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "org":
        for key in ("L1", "L2", "CC", "D1", "D2", "D3", "P"):
            yield Variant({"slug": world.orgs[key].slug}, detail=key)
        yield Variant({"slug": "no-such-organization"}, fake=True)
    elif target in ("contact", "invitation", "subscription", "webhook", "feed"):
        pk = world.feeds["D1"][0] if target == "feed" else world.objects[target]
        for key in ("D1", "D2"):  # D1's object, and under D2's address (not there)
            slug = world.orgs[key].slug
            twin = {"slug": slug, "object": FAKE_ID}
            yield Variant(
                {"slug": slug, "object": pk}, detail=key, twin=twin, elsewhere=key != "D1"
            )
        yield Variant({"slug": "no-such-organization", "object": FAKE_ID}, fake=True)
    elif target == "calendar":
        for key in ("D1", "D2", "D3"):
            yield Variant({"token": world.feeds[key][1]}, detail=key)
        yield Variant({"token": world.feeds["revoked"][1]}, detail="revoked")
        yield Variant({"token": FAKE_TOKEN}, fake=True)
    elif target == "invitation_token":
        yield Variant({"token": world.objects["invitation_token"]}, detail="D1")
        yield Variant({"token": "x" * 43}, fake=True)
    elif target in ("token", "device"):
        yield Variant({"object": world.objects[target]}, detail="lab")
        yield Variant({"object": FAKE_ID}, fake=True)
    elif target == "taxonomy":
        yield Variant({"slug": "openai-pf-v2"})
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
