"""Fixtures for the end-to-end tests: a loopback SMTP server, Celery processes, an audience.

The processes share this test's database (committed data: the tests are transactional) and a
broker private to the test: a flushed Redis database when REDIS_URL is set, else kombu's
filesystem transport in folders under tmp_path. They are always stopped in teardown, and their
logs are printed when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from disclosure.models import Finding
from disclosure.services.triage import finding_accept
from tests.conftest import World
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

from .harness import LoopbackSMTP, Mailbox, Stack, subprocess_env

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = LoopbackSMTP(box)
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def stack(
    transactional_db: None, mailbox: Mailbox, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    """Celery processes for one test. Torn down before the database is flushed."""
    var_dir = tmp_path / "var"
    # Settings create it only for SQLite; beat needs it for its schedule file either way.
    var_dir.mkdir()
    with _private_broker(var_dir, control_dir=tmp_path / "control"):
        stack = Stack(
            workdir=tmp_path,
            env=subprocess_env(
                DJANGO_SETTINGS_MODULE="config.settings.test",
                FOREWARN_TEST_DB_NAME=str(connection.settings_dict["NAME"]),
                FOREWARN_VAR_DIR=str(var_dir),
                EMAIL_URL=f"smtp://127.0.0.1:{mailbox.port}",
                RELEASE_SWEEP_SECONDS="1",
                DELIVERY_SWEEP_SECONDS="1",
                CELERY_TASK_ALWAYS_EAGER="false",
                LOG_LEVEL="INFO",
            ),
        )
        try:
            yield stack
        finally:
            stack.stop_all()
            reports = request.node.stash.get(_reports, {})
            if any(report.failed for report in reports.values()):
                print(stack.logs())


@contextmanager
def _private_broker(var_dir: Path, *, control_dir: Path) -> Iterator[None]:
    """Point this process's publishing at the broker the test's processes will consume."""
    from config.celery import app

    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
        yield
        return
    # The processes get FOREWARN_VAR_DIR=var_dir and derive their folders from it the way
    # settings do; derive the same folders here. Their cwd is control_dir's parent, where
    # kombu puts its exchange tables unless told otherwise.
    options = {
        key: _rebase(value, settings.VAR_DIR, var_dir)
        for key, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items()
    }
    options.setdefault("control_folder", str(control_dir))
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    saved = app.conf.broker_transport_options
    _use_transport_options(app, options)
    try:
        yield
    finally:
        _use_transport_options(app, saved)


def _rebase(value: object, old: Path, new: Path) -> object:
    if isinstance(value, str) and Path(value).is_relative_to(old):
        return str(new / Path(value).relative_to(old))
    return value


def _use_transport_options(app: Any, options: dict[str, Any]) -> None:
    app.conf.broker_transport_options = options
    # Celery caches its connection and producer pools with the options they were made with;
    # drop them so that the next publish opens a channel with the new folders.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@dataclass
class Audience:
    """Two notified defender organizations with two members each, and who should hear what."""

    defenders: list[Organization]
    defender_emails: set[str]
    lab_emails: set[str]
    bystander_emails: set[str]

    def accept(self, world: World, *, ends_in: timedelta) -> Finding:
        return finding_accept(
            actor=world.coordinator,
            finding=world.submitted(),
            organizations=self.defenders,
            embargo_ends_at=timezone.now() + ends_in,
        )


@pytest.fixture
def audience(world: World) -> Audience:
    def member(org: Organization, address: str) -> str:
        MembershipFactory(organization=org, user=UserFactory(email=address))
        return address

    health = OrganizationFactory(name="Health ISAC", slug="health-isac", sector="Health")
    return Audience(
        defenders=[world.defender, world.other_defender],
        defender_emails={
            world.defender_user.email,
            member(world.defender, "responder@grid.example"),
            world.other_defender_user.email,
            member(world.other_defender, "responder@water.example"),
        },
        lab_emails={world.lab_user.email, member(world.lab, "safety@lab.example")},
        bystander_emails={
            member(health, "analyst@health.example"),
            world.other_lab_user.email,
            world.coordinator.email,
        },
    )
