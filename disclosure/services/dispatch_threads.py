"""The dispatcher's helper threads, each with its own database connection: one renews the
lease of a batch being sent, one records each delivery as sent the moment its receiver takes
it. Neither ever sends anything."""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..models import Delivery

logger = logging.getLogger(__name__)

State = Delivery.State


@contextmanager
def lease_kept(batch: list[Delivery]) -> Iterator[None]:
    """Renew the batch's lease every third of it while the batch is being sent.

    A batch to many slow receivers can take longer than one lease; renewing keeps other
    workers from taking it over and sending it again, while the lease stays short enough for a
    dead worker's rows to be picked up soon. Renewal stops with the block, or with the process.
    """
    seconds = settings.DELIVERY_LEASE_SECONDS
    held: dict[int, list[int]] = defaultdict(list)
    for delivery in batch:
        held[delivery.attempts].append(delivery.pk)
    done = threading.Event()

    def renew() -> None:
        try:
            while not done.wait(seconds / 3):
                until = timezone.now() + timedelta(seconds=seconds)
                for attempts, ids in held.items():
                    Delivery.objects.filter(
                        pk__in=ids, state=State.SENDING, attempts=attempts
                    ).update(claimed_until=until)
        except Exception:  # the lease then runs out as if this worker had died
            logger.exception("Could not renew the lease of %d deliveries", len(batch))
        finally:
            connection.close()  # this thread's own connection

    keeper = threading.Thread(target=renew, name="delivery-lease", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


class SentRecorder:
    """Marks deliveries SENT as they are taken, from a thread of its own.

    Call the recorder with a delivery's id (from any thread) when its receiver has taken it;
    the thread writes whatever has arrived meanwhile in one UPDATE, guarded like every outcome
    by the attempt number of this worker's claim. ``close()`` waits for the last write and
    returns how many rows it marked. A row it could not write (the connection failed) stays
    SENDING and is written by the dispatcher's final pass, as before.
    """

    def __init__(self, batch: list[Delivery]) -> None:
        self._attempts = {delivery.pk: delivery.attempts for delivery in batch}
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.recorded = 0
        self._thread = threading.Thread(target=self._run, name="delivery-sent", daemon=True)
        self._thread.start()

    def __call__(self, delivery_id: int) -> None:
        self._queue.put(delivery_id)

    def close(self) -> int:
        self._queue.put(None)
        self._thread.join()
        return self.recorded

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                ids = [self._queue.get()]
                while True:  # take whatever else has arrived, for one UPDATE
                    try:
                        ids.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = None in ids
                self._write([pk for pk in ids if pk is not None])
        except Exception:
            logger.exception("Could not record sent deliveries; the final pass will")
            while self._queue.get() is not None:  # let close() return
                pass
        finally:
            connection.close()  # this thread's own connection

    def _write(self, ids: list[int]) -> None:
        by_attempt: dict[int, list[int]] = defaultdict(list)
        for pk in ids:
            by_attempt[self._attempts[pk]].append(pk)
        now = timezone.now()
        for attempts, pks in by_attempt.items():
            self.recorded += Delivery.objects.filter(
                pk__in=pks, state=State.SENDING, attempts=attempts
            ).update(
                state=State.SENT,
                sent_at=now,
                claimed_until=None,
                last_error="",
                last_status_code=None,
            )
