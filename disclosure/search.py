"""Full-text search over the public fields of findings.

Only the fields that are public before release are searched: reference, title, summary, model
name and category label. Embargoed fields are left out on purpose. They are encrypted at rest
(disclosure.encryption), so the database cannot index them, and a match on an embargoed word
must never be the hint that tells someone a finding exists. Search always runs on a queryset already
scoped by ``selectors.findings_visible_to``; it narrows what the user may see and nothing else.

On PostgreSQL it is full-text search (websearch syntax: ``"exact phrase"``, ``or``, ``-word``),
ranked, served by the GIN expression index that migration 0003 creates. On SQLite (the
embedded default) every word must occur, case-insensitively, in one of the same fields.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import or_

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connections
from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast

from .models import CapabilityCategory, Finding

SEARCH_CONFIG = "english"
# The annotation that ranks matches; the cursor paginator orders by it when it is present.
SEARCH_RANK = "search_rank"
MAX_QUERY_LENGTH = 200

# On SQLite: the same fields, matched with icontains.
SIMPLE_FIELDS = ("reference", "title", "summary", "model_name", "category__label")
# Words of the websearch syntax that mean nothing to the simple matcher.
_SIMPLE_STOP = frozenset({"or", "and", "-"})


def finding_search_vector() -> CombinedExpression:
    """The public text of a finding, weighted: reference and title first, summary last.

    Migration 0003 indexes exactly this expression; PostgreSQL uses the index only for a query
    whose expression is identical, so change both together (a test checks the plan).
    """
    return (
        SearchVector("reference", "title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("model_name", weight="B", config=SEARCH_CONFIG)
        + SearchVector("summary", weight="C", config=SEARCH_CONFIG)
    )


def findings_matching(findings: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    """Narrow ``findings`` (already scoped to a user) to those whose public text matches."""
    text = text.strip()
    if not text:
        return findings
    if connections[findings.db].vendor == "postgresql":
        return _full_text(findings, text)
    return _simple(findings, text)


def _full_text(findings: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    # Category labels live in another table, which an expression index cannot reach; there are
    # few categories, so find the matching ones first and let the index serve the rest.
    categories = list(
        CapabilityCategory.objects.alias(document=SearchVector("label", config=SEARCH_CONFIG))
        .filter(document=query)
        .values_list("pk", flat=True)
    )
    matches = Q(search_document=query)
    if categories:
        matches |= Q(category_id__in=categories)
    return (
        findings.alias(search_document=finding_search_vector())
        .filter(matches)
        # ts_rank is a float4, whose text form rounds: as float8 the rank survives a trip
        # through the cursor exactly, so the keyset comparison neither repeats nor skips rows.
        .annotate(**{SEARCH_RANK: Cast(SearchRank(F("search_document"), query), FloatField())})
    )


def _simple(findings: QuerySet[Finding], text: str) -> QuerySet[Finding]:
    """Every word must occur in some public field; a ``-word`` must occur in none."""
    for token in re.findall(r'[^\s"]+', text):
        word = token.lstrip("-")
        if not word or token.lower() in _SIMPLE_STOP:
            continue
        anywhere = reduce(or_, (Q(**{f"{field}__icontains": word}) for field in SIMPLE_FIELDS))
        findings = (
            findings.exclude(anywhere) if token.startswith("-") else findings.filter(anywhere)
        )
    return findings
