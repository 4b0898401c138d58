"""A Celery worker that stops dead inside finding_release's transaction, for the kill test.

Run as ``python -m tests.e2e.paused_worker <celery worker options>`` with E2E_PAUSE_MARKER set
to a file path. The first release it runs flips the state, writes the audit event and the
outbox rows as usual, then, before the transaction commits, writes what it sees to the marker
file and hangs, so that the test can SIGKILL it at exactly that point. Production code carries
no hook for this: the patch lives here.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, NoReturn


def _pause_inside_release(marker: Path) -> None:
    from disclosure.models import AuditEvent, Delivery, Finding
    from disclosure.services import release

    enqueue = release.deliveries_enqueue

    def enqueue_then_hang(*, finding: Finding, **kwargs: Any) -> NoReturn:
        enqueue(finding=finding, **kwargs)
        # What this transaction has written but not committed, as seen from inside it.
        seen = {
            "pid": os.getpid(),
            "state": Finding.objects.get(pk=finding.pk).state,
            "released_events": AuditEvent.objects.filter(
                finding=finding, action="finding.released"
            ).count(),
            "released_deliveries": Delivery.objects.filter(
                finding=finding, event=Delivery.Event.RELEASED, channel=Delivery.Channel.EMAIL
            ).count(),
        }
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps(seen))
        partial.rename(marker)  # atomic: the test never reads half a file
        while True:
            time.sleep(60)

    release.deliveries_enqueue = enqueue_then_hang


def main() -> None:
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from config.celery import app

    _pause_inside_release(Path(os.environ["E2E_PAUSE_MARKER"]))
    app.worker_main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
