"""The registry's links in the site navigation, from the memberships the policies cache."""

from __future__ import annotations

from typing import Any

from django import template

from disclosure import policies

register = template.Library()


@register.simple_tag
def registry_nav(user: Any) -> dict[str, bool]:
    """Which registry links to show: the organization page to its admins, the review of
    defender organizations to coordinators. No extra query where a page asked the policies."""
    return {
        "my_organization": bool(policies.org_ids(user, policies.ADMIN)),
        "review": policies.can_verify_organizations(user),
    }
