"""Bad input on every endpoint: a 4xx that says what is wrong, nothing written, never a 500.

Enumerated, not sampled. Every URL pattern (tests/access_matrix/urlworld.py) is walked:

- every write endpoint (each unsafe method of each API view; each page that takes a POST) first
  proves that a good request is accepted, as a user allowed to make it (an API token, or a
  session that passed MFA), then gets the same request spoiled: body cases (malformed JSON,
  JSON that is not an object, 10,000 levels deep, over the size limit, not UTF-8, a NUL,
  content types nobody takes ...) and field cases (each field of the good body, from the
  OpenAPI schema or the page's form: a NUL, over its max_length, the wrong type, a huge
  integer, a date that does not exist, an unknown time zone or choice ...);
- every GET gets spoiled query strings (a NUL, overlong values, page=abc, -1 and 10**30,
  values no filter takes);
- every URL gets 10**30 for each integer in it, and a NUL in each of its other values.

An API answer must also be one of the operation's status codes in the OpenAPI schema.

Each case runs in a transaction that is rolled back, on one world for the module (the access
matrix's: tests/access_matrix/world.py), so the cases cannot spoil one another. The number of
cases is printed at the end. Run it on PostgreSQL too: NUL characters only fail there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Organization, User
from accounts.openpgp import openpgp_key_set
from accounts.tokens import api_token_create
from disclosure.models import Credit, Delivery
from disclosure.services.taxonomy import taxonomy_create
from disclosure.services.webhooks import endpoint_create, endpoint_disable
from tests.access_matrix.probe import clients_for
from tests.access_matrix.urlworld import Pattern, Where, kwargs_for, url_patterns
from tests.access_matrix.world import World, world_build
from tests.factories import OrganizationFactory
from tests.gpg import GnuPG
from tests.mfa import login_not_audited, totp_code_unused
from tests.webauthn import SoftKey

from .bad_input_cases import (
    HUGE,
    Case,
    Counter,
    FieldInfo,
    body_cases,
    encode,
    errors_in,
    field_cases,
    file_cases,
    json_case,
    judge,
    query_cases,
    send,
)
from .bad_input_endpoints import API, ARMORED, PAGES, RELEASED, Use
from .html_forms import Form, post_forms

pytestmark = pytest.mark.django_db

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PATTERNS = {p.name: p for p in url_patterns()}
ENDPOINTS = [f"{name} {method}" for name, method in API] + [f"{name} POST" for name in PAGES]
# Pages that answer a POST as a GET, reading no input.
READS_ANY_METHOD = {"advisory-feed"}  # Django's syndication view
LATER_ROW = re.compile(r"-[1-9]\d*-")
MANAGEMENT = ("-TOTAL_FORMS", "-INITIAL_FORMS", "-MIN_NUM_FORMS", "-MAX_NUM_FORMS")
TOTP = "TOTP"  # in a body: a code the user's newest authenticator accepts now


def api_methods(pattern: Pattern) -> set[str]:
    """The methods an API pattern's view answers (a viewset's route: its actions)."""
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return {m.upper() for m in actions}
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    names = getattr(view, "http_method_names", [])
    return {m.upper() for m in names if m not in ("options", "head") and hasattr(view, m)}


# --- The world, its clients, and the API schema: once for the module.


@dataclass
class Walk:
    world: World
    pages: dict[str, Client]
    apis: dict[str, Client]
    schema: dict[str, Any]
    operations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _world_extend(world: World) -> None:
    """What the bad-input walk needs beyond the matrix's world."""
    lab = world.users["lab"]
    world.orgs["A"] = OrganizationFactory(
        name="Applicant", slug="applicant", status=Organization.Status.APPLIED
    )
    world.objects["webauthn_key"] = SoftKey().registered_to(lab).pk
    gpg = GnuPG()
    try:
        armored = gpg.export(gpg.generate(f"Lab <{lab.email}>"))
    finally:
        gpg.close()
    openpgp_key_set(actor=lab, user=lab, armored=armored)
    world.objects[ARMORED] = armored
    failed = (
        Delivery.objects.filter(finding=world.findings["embargoed"])
        .exclude(channel=Delivery.Channel.INBOX)
        .order_by("pk")
        .first()
    )
    assert failed is not None
    Delivery.objects.filter(pk=failed.pk).update(state=Delivery.State.FAILED)
    world.deliveries["embargoed"] = failed.pk
    credit = Credit.objects.create(
        finding=world.findings["embargoed"],
        user=world.users["notified_member"],
        type="finder",
        status=Credit.Status.PENDING,
        created_by=lab,
    )
    world.credits[("embargoed", "mine")] = credit.pk
    taxonomy_create(actor=world.users["coordinator"], framework="Walk", version="0", slug="walk")
    notified = world.users["notified"]
    hook, _ = endpoint_create(
        actor=notified, organization=world.orgs["D1"], url="http://127.0.0.1:9/off"
    )
    endpoint_disable(actor=notified, endpoint=hook, reason="Off")
    world.objects["webhook_disabled"] = hook.pk
    # An admin of the second notified organization, which has not acknowledged yet.
    world.users["peer"] = User.objects.get(memberships__organization=world.orgs["P"])
    world.tokens["peer"] = api_token_create(user=world.users["peer"], name="peer")[1]


def _operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The schema's operations by (URL name, method)."""
    out = {}
    for path, operations in schema["paths"].items():
        name = resolve(re.sub(r"\{[^}]+\}", "1", path)).view_name
        for method, operation in operations.items():
            out[(name, method.upper())] = operation
    return out


@pytest.fixture(scope="module")
def walk(django_db_setup: Any, django_db_blocker: Any, request: Any) -> Iterator[Walk]:
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build()
        _world_extend(world)
        clients = clients_for(world)
        pages = {role: page for role, (page, _) in clients.items()}
        apis = {role: api for role, (_, api) in clients.items()}
        unverified = Client()
        with login_not_audited():
            unverified.force_login(world.users["lab"])
        pages["lab_unverified"] = unverified
        schema = SchemaGenerator().get_schema(request=None, public=True)
        result = Walk(world, pages, apis, schema)
        result.operations = _operations(schema)
        yield result
        transaction.set_rollback(True)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbad input: {Counter.cases} cases sent")


@pytest.fixture(autouse=True)
def _limits(settings: Any, tmp_path_factory: Any) -> None:
    """Small uploads (the cases send bodies just over the limits); sessions that neither time
    out nor need a password again while the module runs; attachments where the world put them."""
    settings.ATTACHMENT_MAX_BYTES = 64 * 1024
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 24 * 3600
    settings.REAUTH_MAX_AGE_SECONDS = 24 * 3600
    settings.PRIVATE_MEDIA_ROOT = tmp_path_factory.getbasetemp() / "bad-input-private"


# --- One write endpoint, ready to be spoiled.


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif any(k in node for k in ("allOf", "oneOf", "anyOf")):
            subs = node.get("allOf") or node.get("oneOf") or node.get("anyOf")
            node = next(
                (s for s in subs if "$ref" in s or "enum" in s or s.get("type") != "null"),
                subs[0],
            )
        else:
            return node


def _info(name: str, value: Any, prop: dict[str, Any] | None, schema: dict[str, Any]) -> FieldInfo:
    prop = _resolve(schema, prop) if prop is not None else {}
    kind = prop.get("type") or {
        bool: "boolean",
        int: "integer",
        float: "number",
        list: "array",
        dict: "object",
    }.get(type(value), "string")
    items = _resolve(schema, prop.get("items", {})) if prop.get("items") else {}
    return FieldInfo(
        name=name,
        kind=kind,
        max_length=prop.get("maxLength"),
        choice="enum" in prop,
        when=prop.get("format") in ("date-time", "date") or name.endswith(("_at", "_on")),
        zone=name == "time_zone",
        item_kind=items.get("type", "string" if isinstance(value, list) else ""),
    )


@dataclass
class Target:
    key: str
    name: str
    method: str
    api: bool
    use: Use
    path: str
    client: Client
    base: dict[str, Any]
    multipart: bool
    fields: list[FieldInfo]
    documented: frozenset[str] = frozenset()  # the API operation's status codes in the schema

    def good(self) -> Case:
        if self.api and not self.multipart:
            return json_case("the good request", self.base) if self.base else Case("no body")
        body, content_type = encode(self.base, multipart=self.multipart)
        return Case("the good request", body, content_type)


def _totp(walk: Walk, role: str, data: dict[str, Any]) -> dict[str, Any]:
    if TOTP not in data.values():
        return data
    device = TOTPDevice.objects.filter(user=walk.world.users[role.removesuffix("_unverified")])
    code = totp_code_unused(device.order_by("-id").first())
    return {k: code if v == TOTP else v for k, v in data.items()}


def _page_form(walk: Walk, name: str, use: Use, path: str, client: Client) -> Form:
    host = use.page or ("finding-detail" if "reference" in PATTERNS[name].kwarg_names else "")
    host = host or "organization-detail"
    page_path = reverse(host, kwargs=kwargs_for(walk.world, host, use.where))
    response = client.get(page_path)
    assert response.status_code == 200, f"{host} answered {response.status_code}"
    action = path
    if use.action:
        action = reverse(use.action, kwargs=kwargs_for(walk.world, use.action, use.where))
    forms = [f for f in post_forms(response.content.decode(), page_path) if f.action == action]
    assert forms, f"no form on {page_path} posts to {action}"
    return forms[0]


def target(walk: Walk, key: str) -> Target:
    name, method = key.rsplit(" ", 1)
    pattern = PATTERNS[name]
    use = API[(name, method)] if pattern.api else PAGES[name]
    path = reverse(name, kwargs=kwargs_for(walk.world, name, use.where))
    if pattern.api:
        client = walk.apis[use.role]
        operation = walk.operations.get((name, method), {})
        content = operation.get("requestBody", {}).get("content", {})
        multipart = bool(content) and "application/json" not in content
        schema_body = next(iter(content.values()), {}).get("schema")
        props = _resolve(walk.schema, schema_body).get("properties", {}) if schema_body else {}
        base = use.body_in(walk.world)
        names = sorted({*props, *base} - {"file"})  # an upload's file: file_cases
        fields = [_info(n, base.get(n), props.get(n), walk.schema) for n in names]
        documented = frozenset(operation.get("responses", {}))
        return Target(
            key, name, method, True, use, path, client, base, multipart, fields, documented
        )
    client = walk.pages[use.role]
    form = _page_form(walk, name, use, path, client)
    values: dict[str, Any] = {}
    for field_name, value in form.fields:
        values.setdefault(field_name, []).append(value)
    base = {k: v[0] if len(v) == 1 else v for k, v in values.items()}
    base.update(use.fill_in(walk.world))
    base = _totp(walk, use.role, base)
    fields = []
    for field_name in sorted({*form.names, *base} - form.files - {"file"}):
        if LATER_ROW.search(field_name):
            continue  # a formset's later rows have the first row's fields
        value = base.get(field_name, "")
        info = _info(field_name, value, None, walk.schema)
        info.management = field_name.endswith(MANAGEMENT)
        info.navigation = field_name in use.navigation
        digits = isinstance(value, str) and value.isdigit()
        digits = digits and field_name not in form.choices | form.buttons
        info.kind = "integer" if digits else "string"
        info.max_length = form.maxlength.get(field_name)
        info.choice = field_name in form.choices
        info.when = info.when or bool(re.fullmatch(r"\d{4}-\d\d-\d\d(T.*)?", str(value)))
        fields.append(info)
    return Target(key, name, method, False, use, path, client, base, form.multipart, fields)


def _judged(t: Target, cases: Iterator[Case], path: str | None = None) -> list[str]:
    failures = []
    for case in cases:
        answer = send(t.client, t.method, path or t.path, case)
        problem = judge(case, answer, api=t.api)
        if not problem and t.documented and str(answer.status) not in t.documented:
            problem = f"{case.label}: {answer.status}, not in the schema: {sorted(t.documented)}"
        if problem:
            failures.append(problem)
    return failures


def _spoiled_paths(walk: Walk, name: str, where: Where) -> Iterator[tuple[str, str]]:
    """(label, path): the pattern's path with every integer kwarg 10**30, and with a NUL in
    every other kwarg (a reference, slug, token, file name)."""
    kwargs = kwargs_for(walk.world, name, where)
    ints = {k: HUGE for k, v in kwargs.items() if isinstance(v, int)}
    if ints:
        yield "10**30 in the URL", reverse(name, kwargs={**kwargs, **ints})
    texts = [quote(v) for v in kwargs.values() if isinstance(v, str)]
    if texts:  # put in by hand: a slug converter would not reverse it
        path = reverse(name, kwargs=kwargs)
        for text in texts:
            path = path.replace(f"/{text}", f"/{text}%00", 1)
        yield "a NUL in the URL", path


# --- The tests.


def test_every_write_endpoint_of_the_api_has_a_good_request():
    wanted = {
        (p.name, m) for p in PATTERNS.values() if p.api for m in api_methods(p) if m in UNSAFE
    }
    assert wanted - set(API) == set(), "add these to bad_input_endpoints.API"
    assert set(API) - wanted == set(), "no such endpoints"


def test_every_page_that_takes_a_post_has_a_good_request(walk: Walk):
    """A page not in PAGES must refuse a POST (405), else its input is not walked."""
    taking = []
    for pattern in PATTERNS.values():
        skip = pattern.name in PAGES or pattern.name in READS_ANY_METHOD
        if pattern.api or skip or pattern.name.startswith("api-"):
            continue
        path = reverse(pattern.name, kwargs=kwargs_for(walk.world, pattern.name, RELEASED))
        answer = send(walk.pages["coordinator"], "POST", path, Case("empty form", b"", "x/y"))
        if answer.status != 405:
            taking.append(f"{pattern.name}: {answer.status}")
    assert taking == [], "add these to bad_input_endpoints.PAGES"
    assert set(PAGES) <= set(PATTERNS)


@pytest.mark.parametrize("key", ENDPOINTS)
def test_the_good_request_is_accepted(walk: Walk, key: str):
    t = target(walk, key)
    if t.use.proven:
        pytest.skip(t.use.proven)
    answer = send(t.client, t.method, t.path, t.good())
    shown = answer.text[:500] if t.api else errors_in(answer.text)
    assert answer.status < 400 and not answer.error, (answer.status, answer.error, shown)


@pytest.mark.parametrize("key", ENDPOINTS)
def test_a_spoiled_request_is_refused(walk: Walk, key: str):
    t = target(walk, key)
    failures = _judged(t, body_cases(api=t.api, multipart=t.multipart))
    failures += _judged(t, field_cases(t.base, t.fields, api=t.api, multipart=t.multipart))
    if t.multipart and "file" in t.base:
        failures += _judged(t, file_cases(t.base))
    good = t.good()
    for label, path in _spoiled_paths(walk, t.name, t.use.where):
        failures += _judged(t, iter([Case(label, good.body, good.content_type)]), path=path)
    assert failures == [], "\n".join(failures)


GET_PATTERNS = [p.name for p in PATTERNS.values()]


@pytest.mark.parametrize("name", GET_PATTERNS)
def test_a_spoiled_query_is_refused(walk: Walk, name: str):
    pattern = PATTERNS[name]
    use = (
        API.get((name, "GET"))
        or PAGES.get(name)
        or next((u for (n, _), u in API.items() if n == name), None)
    )
    role = use.role if use else "coordinator"
    where = use.where if use else Where()
    if "advisor" in name or "csaf" in name:
        where = RELEASED
    client = (walk.apis if pattern.api else walk.pages)[role]
    path = reverse(name, kwargs=kwargs_for(walk.world, name, where))
    if pattern.api and "GET" not in api_methods(pattern):
        pytest.skip("no GET")
    first = send(client, "GET", path, Case("plain", content_type=""))
    if first.status == 405:
        pytest.skip("no GET")
    operation = walk.operations.get((name, "GET"), {})
    declared = {
        p["name"]: _info(p["name"], None, p.get("schema", {}), walk.schema)
        for p in operation.get("parameters", [])
        if p.get("in") == "query"
    }
    documented = frozenset(operation.get("responses", {}))
    t = Target(
        name, name, "GET", pattern.api, use or Use(role), path, client, {}, False, [], documented
    )
    failures = _judged(t, query_cases(declared, api=pattern.api))
    for label, spoiled in _spoiled_paths(walk, name, where):
        failures += _judged(t, iter([Case(label, content_type="")]), path=spoiled)
    assert failures == [], "\n".join(failures)
