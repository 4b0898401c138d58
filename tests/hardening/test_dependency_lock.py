"""requirements.lock covers pyproject.toml: every dependency pinned, allowed and hashed.

``make test`` and CI install from the lock with ``pip --require-hashes`` and audit it
(.ci/audit); a dependency added to pyproject.toml without ``make lock`` fails here first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", flags=re.MULTILINE)


def _locked() -> dict[str, str]:
    return {
        canonicalize_name(name): version
        for name, version in PIN.findall((ROOT / "requirements.lock").read_text())
    }


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for extra in ("demo", "test"):
        requirements += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return [r for r in requirements if canonicalize_name(r.name) != "forewarn"]


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_locked_at_an_allowed_version(requirement: Requirement):
    version = _locked().get(canonicalize_name(requirement.name))
    assert version, f"{requirement.name} is not in requirements.lock: run make lock"
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock has {requirement.name}=={version}, outside {requirement.specifier}"
    )


def test_every_pin_carries_hashes_and_nothing_points_at_this_machine():
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins = [entry for entry in entries if PIN.match(entry)]
    assert len(pins) == len(_locked()) > 50
    assert all("--hash=sha256:" in entry for entry in pins)
    assert "file://" not in text and "/opt/" not in text and "-e " not in text
