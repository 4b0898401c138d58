"""The dependency audit's fallback when pip-audit has no vulnerability service to ask.

pip-audit asks PyPI's per-version JSON (https://pypi.org/pypi/NAME/VERSION/json) or OSV about
each pinned version. Where neither answers (this project's CI machines reach a PyPI mirror that
serves only the per-project JSON), this script reads the per-project JSON
(https://pypi.org/pypi/NAME/json) instead: its ``vulnerabilities`` are PyPI's advisories (the
same OSV data) for the project's *latest* release. So a pin at the latest release is checked;
a pin behind it cannot be, and is listed as unchecked rather than passed.

Usage: pypi_latest_audit.py requirements.lock
Exit status: 0 no known vulnerability in any checked pin (unchecked ones listed); 1 a known
vulnerability; 3 the per-project JSON is not reachable either (nothing was checked).
Environment: PYPI_JSON_URL (default https://pypi.org/pypi), for tests.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", flags=re.MULTILINE)
BASE = os.environ.get("PYPI_JSON_URL", "https://pypi.org/pypi").rstrip("/")
UNREACHABLE = 3


def project(name: str) -> dict[str, Any] | None:
    """The per-project JSON, or None when this package is not there (a 404)."""
    try:
        url = f"{BASE}/{name}/json"  # BASE is http(s): main() checks
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    if not isinstance(body, dict) or not isinstance(body.get("info"), dict):
        raise ValueError(f"{name}: not PyPI's project JSON")
    return body


def main(lock: str) -> int:
    if not BASE.startswith(("https://", "http://")):
        print(f"PYPI_JSON_URL must be an http(s) URL, not {BASE!r}.", file=sys.stderr)
        return 2
    pins = PIN.findall(Path(lock).read_text())
    try:
        project(pins[0][0])  # reachable at all?
    except (OSError, ValueError) as exc:
        print(f"  per-project JSON ({BASE}): {exc}", file=sys.stderr)
        return UNREACHABLE
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda pin: project(pin[0]), pins))
    vulnerable, unchecked = [], []
    for (name, version), body in zip(pins, answers, strict=True):
        latest = body and body["info"].get("version")
        if latest != version:
            unchecked.append(f"{name}=={version} (latest: {latest or 'not on the index'})")
            continue
        for advisory in body.get("vulnerabilities") or []:
            ids = ", ".join([advisory.get("id", "?"), *advisory.get("aliases", [])])
            fixed = ", ".join(advisory.get("fixed_in") or []) or "no fixed version"
            vulnerable.append(f"{name}=={version}: {ids} (fixed in: {fixed})")
    checked = len(pins) - len(unchecked)
    for line in vulnerable:
        print(f"VULNERABLE {line}")
    for line in unchecked:
        print(f"unchecked  {line}: PyPI's project JSON describes only the latest release")
    print(
        f"PyPI advisories: {checked} of {len(pins)} pins checked (those at their latest "
        f"release), {len(vulnerable)} known vulnerabilit{'y' if len(vulnerable) == 1 else 'ies'}."
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
