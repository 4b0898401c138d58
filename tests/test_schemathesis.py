"""The API against its own schema, fuzzed by schemathesis as each role.

For every role (anonymous, the finding's lab, a coordinator, a notified defender, a defender
that was not notified) schemathesis loads ``/api/schema/`` from the WSGI application and, for
every operation, sends generated requests, valid and invalid, with that role's API token. Each
response must not be a server error, must use a status code the schema declares for the
operation, and must match the schema declared for that status code.

Path parameters are drawn mostly from the objects of a small world built for the run (finding
references, organization and taxonomy slugs, ids of attachments, deliveries, webhooks ...) so
the requests reach real objects in every state, not only 404s. Bounded for CI: a fixed number of
examples per operation, derandomized so that a failure reproduces.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Membership, Organization
from accounts.tokens import api_token_create
from disclosure.models import Attachment, Delivery, FindingRecipient, Thread, WebhookEndpoint
from disclosure.services.attachments import attachment_add
from disclosure.services.discussion import thread_open
from disclosure.services.webhooks import endpoint_create
from tests.factories.attachments import PDF, upload

pytestmark = [pytest.mark.schema, pytest.mark.django_db]

ROLES = ["anonymous", "lab", "coordinator", "notified_defender", "other_defender"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation, role and mode (valid, invalid data): about 80 operations x 5 roles x 2.
MAX_EXAMPLES = 10


def _loopback_only(real: Any) -> Any:
    """getaddrinfo that refuses every name but this machine's: a fuzzed webhook URL must never
    send a request off the machine (the webhook test endpoint really sends one)."""

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            loopback = ipaddress.ip_address(name.strip("[]")).is_loopback
        except ValueError:
            loopback = name == "localhost"
        if not loopback:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test)")
        return real(host, *args, **kwargs)

    return getaddrinfo


def _build_world(world: Any) -> dict[str, list[Any]]:
    """Findings in every state with what hangs off them; returns the path parameter values."""
    Membership.objects.filter(user=world.defender_user).update(role=Membership.Role.ADMIN)
    draft = world.file()
    submitted = world.submitted()
    embargoed = world.embargoed(ends_in=timedelta(days=10))
    rejected = world.rejected()
    released = world.released()
    attachment_add(actor=world.lab_user, finding=embargoed, upload=upload("evidence.pdf", PDF))
    thread_open(
        actor=world.coordinator,
        finding=embargoed,
        scope="defenders",
        subject="Mitigation timing",
        body="When can you deploy the filter?",
    )
    endpoint_create(
        actor=world.defender_user,
        organization=world.defender,
        url="http://127.0.0.1:9/hooks",  # the discard port: nothing listens
        description="SOC intake",
    )
    findings = [draft, submitted, embargoed, rejected, released]
    ids = sorted(
        {
            *Attachment.objects.values_list("pk", flat=True),
            *Delivery.objects.values_list("pk", flat=True),
            *WebhookEndpoint.objects.values_list("pk", flat=True),
            *Membership.objects.values_list("pk", flat=True),
            *FindingRecipient.objects.values_list("pk", flat=True),
        }
    )
    return {
        "reference": [f.reference for f in findings] + ["FW-1999-0001"],
        "slug": [
            *Organization.objects.values_list("slug", flat=True),
            "openai-pf-v2",
            "no-such-slug",
        ],
        "id": [*ids, 999_999],
        "thread_id": [*Thread.objects.values_list("pk", flat=True), 999_999],
        "number": [1, 2, 99],
    }


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def path_values(world: Any) -> dict[str, list[Any]]:
    return _build_world(world)


@pytest.fixture
def auth_headers(world: Any, role: str, path_values: dict[str, list[Any]]) -> dict[str, str]:
    """The role's API token (with read and write scopes); none for the anonymous."""
    user = {
        "anonymous": None,
        "lab": world.lab_user,
        "coordinator": world.coordinator,
        "notified_defender": world.defender_user,
        "other_defender": world.other_defender_user,
    }[role]
    if user is None:
        return {}
    _, raw = api_token_create(user=user, name=f"schemathesis {role}")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def api_schema(
    path_values: dict[str, list[Any]],
    auth_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    tmp_path: Any,
) -> Iterator[Any]:
    from config.wsgi import application

    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only(socket.getaddrinfo))
    # The WSGI handler closes the database connection after each request, and with it the
    # test's transaction; Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        # Mostly the world's objects, sometimes what schemathesis made up.
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.sampled_from([*path_values[name], value])
                if name in path_values
                else st.just(value)
                for name, value in path_parameters.items()
            }
        )

    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> str | None:
    """Run one operation's examples in one mode; the first failure's report, or None."""

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report shows the request
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # nothing to negate (no parameters, no body)
        return None
    except (Exception, FailureGroup) as exc:  # a check failed: report it with the others
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


def test_the_api_conforms_to_its_schema(api_schema: Any, auth_headers: dict[str, str], role: str):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _fuzz(operation, mode, auth_headers))
    ]
    print(f"schemathesis as {role}: {len(operations)} operations, {len(failures)} failing")
    assert not failures, "\n\n".join(failures)


def test_the_world_has_objects_in_every_state(path_values: dict[str, list[Any]]) -> None:
    """The fuzzing is only as good as its world: a finding in each of the five states, and a
    thread, an attachment, deliveries and a webhook endpoint for the ids to point at."""
    assert len(set(path_values["reference"])) == 6  # five states and one that does not exist
    assert len(path_values["thread_id"]) == 2
    assert Attachment.objects.count() == 1
    assert Delivery.objects.exists()
    assert WebhookEndpoint.objects.count() == 1
