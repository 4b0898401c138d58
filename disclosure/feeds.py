"""The Atom feed of public advisories at /advisories/feed/ (Django's syndication framework).

Only released findings, newest release first, each entry updated at its latest version (the
release or its last update). Released advisories are TLP:CLEAR, and the feed says so.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .models import Finding
from .selectors_publication import advisories_published

FEED_ITEMS = 50


class AdvisoryFeed(Feed):
    feed_type = Atom1Feed
    title = "Forewarn public advisories"
    subtitle = (
        "Dangerous AI capabilities whose embargo has ended, newest first. TLP:CLEAR: may be "
        "shared without restriction."
    )
    feed_copyright = "TLP:CLEAR"

    def link(self) -> str:
        return reverse("advisory-list")

    def feed_url(self) -> str:
        return reverse("advisory-feed")

    def author_name(self) -> str:
        return getattr(settings, "CSAF_PUBLISHER_NAME", "") or "Forewarn"

    def items(self) -> QuerySet[Finding]:
        # The entries show the public summary only: the long texts are not loaded.
        return advisories_published().defer("details", "recommended_actions")[:FEED_ITEMS]

    def item_title(self, item: Finding) -> str:
        return f"{item.reference}: {item.title}"

    def item_description(self, item: Finding) -> str:
        return item.summary

    def item_link(self, item: Finding) -> str:
        return reverse("advisory-detail", args=[item.reference])

    def item_pubdate(self, item: Finding) -> dt.datetime | None:
        return item.released_at

    def item_updateddate(self, item: Finding) -> dt.datetime:
        return item.last_updated  # type: ignore[attr-defined, no-any-return]

    def item_categories(self, item: Finding) -> tuple[str, ...]:
        return ("TLP:CLEAR", item.category.label, f"Risk: {item.get_risk_level_display()}")
