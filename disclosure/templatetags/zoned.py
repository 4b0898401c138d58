"""``{% zoned value %}``: a time in UTC and in the viewer's zone, never ambiguous.

    {% load zoned %}{% zoned finding.embargo_ends_at %}
    -> <time datetime="2026-12-01T12:00:00Z" class="zoned"><span>2026-12-01 12:00 UTC</span>
       <span>(13:00 Europe/Berlin)</span></time>

The viewer's zone is User.time_zone (set at /account/); without one, UTC only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..timezones import format_zoned, iso_utc, user_zone, zoned_parts

register = template.Library()


@register.simple_tag(takes_context=True)
def zoned(context: template.Context, value: dt.datetime | None) -> SafeString:
    if value is None:
        return format_html('<span class="muted">{}</span>', "—")
    user = context.get("user")
    if user is None and context.get("request") is not None:
        user = context["request"].user
    utc, local = zoned_parts(value, user_zone(user))
    if not local:
        return format_html('<time datetime="{}" class="zoned">{}</time>', iso_utc(value), utc)
    # Two pieces that keep together, so that a narrow column breaks between them.
    return format_html(
        '<time datetime="{}" class="zoned"><span>{}</span> <span>{}</span></time>',
        iso_utc(value),
        utc,
        local,
    )


@register.filter
def zoned_text(value: dt.datetime | None, user: Any) -> str:
    """The same as plain text, for attributes and titles: ``{{ value|zoned_text:user }}``."""
    return "" if value is None else format_zoned(value, user_zone(user))
