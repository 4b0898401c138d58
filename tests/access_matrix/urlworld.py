"""Every URL pattern of the site, and the values to call it with, taken from the world.

``url_patterns()`` walks the root URLconf (the admin's patterns aside: Django's own, staff only)
and gives each pattern's name, route and the names of its kwargs. routes.py says for each
pattern what its arguments name (its ``target``); ``values(target, world, where)`` fills them
from the world (world.py), ``where`` choosing among its objects: the finding's state, the
organization, the thread's scope ... The access matrix walks every choice (variants.py), the
bad-input walk (tests/hardening) one per endpoint; both build their URLs here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from disclosure.csaf import csaf_filename, csaf_year

from .routes import ROUTES
from .world import World

ADMIN_PREFIX = "admin/"
_KWARG_RE = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


@dataclass(frozen=True)
class Pattern:
    name: str  # "api:finding-accept", "finding-detail"
    route: str  # "api/findings/<str:reference>/accept/"
    kwarg_names: frozenset[str]  # those of the route; fixed kwargs (the URLconf's) excluded
    callback: Any

    @property
    def api(self) -> bool:
        return self.route.startswith("api/")


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith(ADMIN_PREFIX):
                continue
            name = f"{namespace}:{entry.name}" if namespace else (entry.name or route)
            kwargs = frozenset(a or b for a, b in _KWARG_RE.findall(route))
            yield Pattern(name, route, kwargs, entry.callback)


def url_patterns() -> list[Pattern]:
    """Every named pattern of the site but the admin's, in URLconf order."""
    return list(_walk(get_resolver(), "", ""))


@cache
def _patterns_by_name() -> dict[str, Pattern]:
    return {p.name: p for p in url_patterns()}


# The values each target fills, by name: a pattern's kwargs are these, an object's number
# (pk, id, thread_id, number) being "object".
FILLS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("none", "search"), ()),
    **dict.fromkeys(("finding", "recipients", "plan", "attachments", "advisory"), ("reference",)),
    **dict.fromkeys(("attachment", "revision", "extension"), ("reference", "object")),
    **dict.fromkeys(("thread", "credit", "delivery", "inbox", "token", "device"), ("object",)),
    **dict.fromkeys(("org", "taxonomy"), ("slug",)),
    **dict.fromkeys(
        ("contact", "invitation", "subscription", "webhook", "feed"), ("slug", "object")
    ),
    **dict.fromkeys(("calendar", "invitation_token"), ("token",)),
    "csaf": ("year", "filename"),
    "digest": ("digest",),
}
ID_KWARGS = ("pk", "id", "thread_id", "number")


def filled_by(kwarg: str) -> str:
    """The name in ``values()`` of a pattern's kwarg."""
    return "object" if kwarg in ID_KWARGS else kwarg


def fills(target: str, pattern: Pattern) -> bool:
    """Does ``target`` fill exactly the kwargs of ``pattern``?"""
    return set(FILLS.get(target, ("?",))) == {filled_by(k) for k in pattern.kwarg_names}


@dataclass(frozen=True)
class Where:
    """Which of the world's objects a URL names."""

    state: str = "embargoed"  # the finding's (world.findings key)
    org: str = "D1"  # the organization's key (world.orgs), in whose address its objects are
    scope: str = "defenders"  # the thread's: coordinators, lab, defenders, org, peer
    requester: str = "lab"  # the extension request's: lab or defender
    credit: str = "pend"  # the credit's status: acc or pend
    owner: str = "notified"  # whose inbox item
    feed: str = "D1"  # the calendar feed's organization key, or "revoked"
    taxonomy: str = "openai-pf-v2"  # a taxonomy's slug
    object_key: str = ""  # the world.objects key of a single object, if not the target's own


def _number(target: str, world: World, where: Where) -> Any:
    state = where.state
    if target == "attachment":
        return world.attachments[state]
    if target == "revision":
        return 2  # every finding was edited once after it was filed
    if target == "thread":
        return world.threads[(state, where.scope)]
    if target == "credit":
        return world.credits[(state, where.credit)]
    if target == "extension":
        return world.extensions[(state, where.requester)]
    if target == "delivery":
        return world.deliveries[state]
    if target == "inbox":
        return world.inbox[(state, where.owner)]
    if target == "feed":
        return world.feeds[where.feed][0]
    # contact, invitation, subscription, webhook, token, device
    return world.objects[where.object_key or target]


def _value(target: str, name: str, world: World, where: Where) -> Any:
    if name == "object":
        return _number(target, world, where)
    if name == "reference":
        return world.findings[where.state].reference
    if name == "slug":
        return where.taxonomy if target == "taxonomy" else world.orgs[where.org].slug
    if name == "token":
        if target == "invitation_token":
            return world.objects["invitation_token"]
        return world.feeds[where.feed][1]
    if name == "year":
        # Where its document would be (this year's folder) if it were released.
        finding = world.findings[where.state]
        return csaf_year(finding) if finding.released_at else timezone.now().year
    if name == "filename":
        return csaf_filename(world.findings[where.state].reference)
    if name == "digest":  # the site's own address's Web Key Directory hash
        from django.conf import settings

        from disclosure.views.openpgp import wkd_hash

        return wkd_hash(settings.DEFAULT_FROM_EMAIL.rpartition("<")[2].partition("@")[0])
    raise ValueError(name)


def values(target: str, world: World, where: Where | None = None) -> dict[str, Any]:
    """The values (FILLS[target]) naming the world's object that ``where`` picks."""
    where = where or Where()
    return {name: _value(target, name, world, where) for name in FILLS[target]}


def kwargs_of(kwarg_names: Iterable[str], given: dict[str, Any]) -> dict[str, Any]:
    """A pattern's kwargs from ``values()`` (or a variant's values)."""
    return {kwarg: given[filled_by(kwarg)] for kwarg in kwarg_names}


def path_of(
    name: str, kwarg_names: Iterable[str], given: dict[str, Any], query: dict[str, str] | None
) -> str:
    path = reverse(name, kwargs=kwargs_of(kwarg_names, given))
    return f"{path}?{urlencode(query)}" if query else path


def kwargs_for(world: World, name: str, where: Where | None = None) -> dict[str, Any]:
    """The kwargs of the pattern ``name`` naming the world's object that ``where`` picks."""
    given = values(ROUTES[name].target, world, where)
    return kwargs_of(_patterns_by_name()[name].kwarg_names, given)
