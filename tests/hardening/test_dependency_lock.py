"""requirements.lock covers pyproject.toml: every dependency pinned, allowed and hashed.

``make test`` and CI install from the lock with ``pip --require-hashes`` and audit it
(.ci/audit); a dependency added to pyproject.toml without ``make lock`` fails here first.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

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


# --- .ci/pypi_latest_audit.py: the audit's fallback, against a real HTTP server of our own.

LOCK = """\
alpha==1.0 \\
    --hash=sha256:00
beta==2.0 \\
    --hash=sha256:00
gamma==0.9 \\
    --hash=sha256:00
"""


def _audit(tmp_path: Path, projects: dict[str, dict[str, Any]]) -> tuple[int, str]:
    """Run the script against an index serving ``projects``' JSON; (exit status, output)."""

    class Index(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.strip("/").removesuffix("/json")
            body = projects.get(name)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            if body is not None:
                self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: Any) -> None:
            pass

    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run = subprocess.run(
            [sys.executable, str(ROOT / ".ci" / "pypi_latest_audit.py"), str(lock)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYPI_JSON_URL": f"http://127.0.0.1:{server.server_port}"},
        )
    finally:
        server.shutdown()
    return run.returncode, run.stdout + run.stderr


def _project(version: str, *advisories: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": version}, "vulnerabilities": list(advisories)}


def test_the_fallback_audit_passes_latest_pins_and_lists_the_others_unchecked(tmp_path):
    status, output = _audit(
        tmp_path, {"alpha": _project("1.0"), "beta": _project("2.0"), "gamma": _project("1.2")}
    )
    assert status == 0, output
    assert "unchecked  gamma==0.9 (latest: 1.2)" in output
    assert "2 of 3 pins checked" in output and "0 known vulnerabilities" in output


def test_the_fallback_audit_fails_on_a_known_vulnerability(tmp_path):
    advisory = {"id": "PYSEC-2026-1", "aliases": ["CVE-2026-0001"], "fixed_in": ["2.0.1"]}
    status, output = _audit(
        tmp_path,
        {"alpha": _project("1.0"), "beta": _project("2.0", advisory), "gamma": _project("0.9")},
    )
    assert status == 1
    assert "VULNERABLE beta==2.0: PYSEC-2026-1, CVE-2026-0001 (fixed in: 2.0.1)" in output


def test_the_fallback_audit_says_when_the_index_has_no_json(tmp_path):
    status, output = _audit(tmp_path, {})  # every project a 404: reachable, but nothing known
    assert status == 0
    assert "0 of 3 pins checked" in output and "(latest: not on the index)" in output


def test_the_fallback_audit_reports_an_unreachable_index(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK)
    run = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "pypi_latest_audit.py"), str(lock)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYPI_JSON_URL": "http://127.0.0.1:9"},  # nothing listens there
    )
    assert run.returncode == 3 and "per-project JSON" in run.stderr
