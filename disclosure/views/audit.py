"""The coordinators' audit trail page (/audit/): browse and filter every event, newest first,
each with its place in the hash chain and its own check; export what is filtered as CSV or
JSON, streamed, and audited (``audit.exported``). Anyone else gets a 404.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from io import StringIO
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.request import Request

from .. import policies
from ..api.deliveries import NewestFirstPagination
from ..api.pagination import page_links
from ..audit_hash import TIME_FORMAT, audit_keys, integrity_of
from ..audit_verify import verification_last
from ..errors import ValidationFailed
from ..models import AuditEvent
from ..selectors_audit import UNREADABLE, AuditEventFilter, audit_filter_for
from ..services.audit import audit_export_record
from ..services.audit_chain import chain_head

logger = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "id",
    "sequence",
    "created_at",
    "actor",
    "action",
    "finding",
    "from_state",
    "to_state",
    "note",
    "data",
    "integrity",
    "prev_hash",
    "entry_hash",
)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _require_coordinator(request: HttpRequest) -> None:
    if not policies.can_browse_audit_trail(request.user):
        raise Http404("No such page.")


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


@never_cache
@login_required
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    _require_coordinator(request)
    filters = audit_filter_for(request)
    verification = verification_last()
    context: dict[str, Any] = {
        "filters": filters,
        "form": filters.form,
        "events": [],
        "searched": bool(request.GET),
        "query": urlencode(filters.given()),
        "head": chain_head(),
        "verification": verification,
        "verified_at": _time(verification.get("checked_at")) if verification else None,
    }
    if not filters.is_valid():
        context["errors"] = filters.error_detail()
        return render(request, "disclosure/audit_trail.html", context, status=400)
    paginator = NewestFirstPagination()
    try:
        rows = paginator.paginate_queryset(filters.qs, Request(request))
        keys = audit_keys()
        context["events"] = [
            (event, integrity_of(event, keys), json.dumps(event.data, ensure_ascii=False))
            for event in rows
        ]
    except ValidationFailed as exc:
        context["errors"] = exc.detail
        return render(request, "disclosure/audit_trail.html", context, status=400)
    except (ValueError, TypeError, AttributeError):  # only a tampered SQLite row gets here
        logger.exception("The audit trail page could not read a row")
        context["unreadable"] = UNREADABLE
        return render(request, "disclosure/audit_trail.html", context)
    context.update(page_links(paginator))
    return render(request, "disclosure/audit_trail.html", context)


# --- Exports.


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _row(event: AuditEvent, keys: tuple[bytes, ...]) -> dict[str, Any]:
    return {
        "id": event.pk,
        "sequence": event.sequence,
        "created_at": (
            event.created_at.astimezone(UTC).strftime(TIME_FORMAT) if event.created_at else None
        ),
        "actor": event.actor.email if event.actor is not None else None,
        "action": event.action,
        "finding": event.finding.reference if event.finding is not None else None,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "note": event.note,
        "data": event.data,
        "integrity": integrity_of(event, keys),
        "prev_hash": event.prev_hash,
        "entry_hash": event.entry_hash,
    }


def _rows(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    keys = audit_keys()
    for event in events.iterator(chunk_size=2000):
        yield _row(event, keys)


def _csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    try:
        for row in rows:
            row["actor"] = row["actor"] or "system"
            row["data"] = json.dumps(row["data"], sort_keys=True, ensure_ascii=False)
            yield line(
                _cell(str(row[name])) if row[name] is not None else "" for name in EXPORT_COLUMNS
            )
    except (ValueError, TypeError, AttributeError):
        logger.exception("An audit export stopped at a row it could not read")
        yield line(["ERROR", f"The export is incomplete. {UNREADABLE}"])


def _json(rows: Iterable[dict[str, Any]], head: dict[str, Any]) -> Iterator[str]:
    yield json.dumps(head)[:-1] + ', "events": ['
    separator = "\n"
    try:
        for row in rows:
            yield separator + json.dumps(row, ensure_ascii=False)
            separator = ",\n"
    except (ValueError, TypeError, AttributeError):
        logger.exception("An audit export stopped at a row it could not read")
        yield f'\n], "error": {json.dumps(f"The export is incomplete. {UNREADABLE}")}}}\n'
        return
    yield "\n]}\n"


@never_cache
@login_required
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The filtered trail, oldest first, as it stood when the export began."""
    _require_coordinator(request)
    filters: AuditEventFilter = audit_filter_for(request)
    if not filters.is_valid():
        return HttpResponse(
            json.dumps({"detail": filters.error_detail()}),
            status=400,
            content_type="application/json",
        )
    stats = filters.qs.aggregate(rows=Count("id"), last=Max("id"))
    events = filters.qs.filter(id__lte=stats["last"] or 0).order_by("id")
    given = filters.given()
    audit_export_record(actor=request.user, fmt=fmt, filters=given, rows=stats["rows"])
    now = timezone.now().astimezone(UTC)
    if fmt == "csv":
        stream = _csv(_rows(events))
    else:
        head = {
            "exported_at": now.strftime(TIME_FORMAT),
            "exported_by": request.user.email,  # type: ignore[union-attr]
            "filters": given,
            "rows": stats["rows"],
        }
        stream = _json(_rows(events), head)
    response = StreamingHttpResponse(stream, content_type=EXPORT_TYPES[fmt])
    name = f"forewarn-audit-{now:%Y%m%dT%H%M%SZ}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
