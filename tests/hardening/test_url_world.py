"""Every URL pattern's kwargs can be filled from the world (urlworld.KWARGS), so the walks over
every URL (bad input, the access matrix) reach every pattern."""

from __future__ import annotations

from .urlworld import KWARGS, url_patterns


def test_the_walk_sees_the_sites_patterns():
    names = {p.name for p in url_patterns()}
    assert {"api:finding-accept", "finding-detail", "login", "wkd-key"} <= names
    assert not any(name.startswith("admin:") for name in names)


def test_every_pattern_with_kwargs_says_what_they_name():
    missing = sorted(
        f"{p.name} ({p.route}): {sorted(p.kwarg_names)}"
        for p in url_patterns()
        if p.kwarg_names and set(KWARGS.get(p.name, {})) != set(p.kwarg_names)
    )
    assert missing == [], "add these to tests/hardening/urlworld.py KWARGS"


def test_every_entry_names_a_pattern_that_exists():
    assert set(KWARGS) - {p.name for p in url_patterns()} == set()
