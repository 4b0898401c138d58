"""The ways a notification leaves: email (OpenPGP where possible), webhooks, the in-app inbox.

Each channel module has one ``send(delivery)`` that returns when the recipient has it and raises
``DeliveryFailed`` otherwise, and ``send_many(deliveries, on_sent=None)`` for a batch. The
dispatcher (services.notify) decides about retries from it.
"""

from __future__ import annotations

from collections.abc import Callable

# Told the id of each delivery as soon as its receiver has taken it
# (see services.dispatch_threads.SentRecorder).
OnSent = Callable[[int], None]


class DeliveryFailed(Exception):
    """A send did not succeed.

    ``permanent``: retrying cannot help (a rejected address, HTTP 410, no usable key where
    encryption is required). ``retry_after``: seconds the receiver asked us to wait.
    ``status_code``: the receiver's HTTP status or SMTP reply code, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status_code = status_code
