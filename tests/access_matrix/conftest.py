"""The matrix's world is built once per module, inside a transaction rolled back at the end,
and the number of cases checked is printed in pytest's summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import client as test_client
from django.test import override_settings

from .checks import Matrix
from .probe import Counter, baseline_forget, clients_for
from .world import world_build


@pytest.fixture(scope="module")
def matrix(
    django_db_setup: None,
    django_db_blocker: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Matrix]:
    private = tmp_path_factory.mktemp("private")
    with (
        django_db_blocker.unblock(),  # type: ignore[attr-defined]
        override_settings(PRIVATE_MEDIA_ROOT=private),
        pytest.MonkeyPatch.context() as patch,
        transaction.atomic(),
    ):
        # The test client copies every template's context for response.context, which the
        # matrix never reads: a third of the time of a page.
        patch.setattr(test_client, "store_rendered_templates", lambda *args, **kwargs: None)
        cache.clear()
        baseline_forget()
        world = world_build()
        yield Matrix(world, clients_for(world))
        transaction.set_rollback(True)
    cache.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if Counter.cases:
        terminalreporter.write_sep("-", f"access matrix: {Counter.cases} cases checked")
