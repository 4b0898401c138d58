"""One family of errors for refusals that the user can act on; the API maps them to 4xx."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, detail: str | dict[str, Any], *, status_code: int | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else str(detail))
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class ValidationFailed(ApplicationError):
    status_code = 400


class NotAllowed(ApplicationError):
    """The user may see the object but may not do this to it."""

    status_code = 403


class Conflict(ApplicationError):
    """The object is not in a state where this makes sense (e.g. accepting twice)."""

    status_code = 409
