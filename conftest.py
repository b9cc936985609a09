"""Repository-wide pytest hooks.

In CI (``CI=true``) a test skipped for a missing prerequisite is a failure: CI installs every
prerequisite (``tools/test.sh``: the dev environment, Chromium, bubblewrap, ``../shared/data``,
the test fixtures), so a skip there means the test did not run where it must. Skips that are
legitimately environment-dependent are listed below with the reason they may happen in CI.
Outside CI skips stay skips; ``-rs`` (root ``pyproject.toml``) prints every skip reason.
"""

from __future__ import annotations

import os
import re

import pytest

#: (pattern of the skip reason, why it may happen in CI)
ALLOWED_SKIPS: tuple[tuple[str, str], ...] = (
    (r"EVS_SKIP_INSTALL_TESTS=1", "the run asked to skip the wheel-install tests"),
    (r"^machine busy", "evs-perf's timing checks report a loaded machine instead of gating on it"),
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    reason = skip_reason(report)
    if any(re.search(pattern, reason) for pattern, _ in ALLOWED_SKIPS):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI, where its prerequisites must be present: {reason}\n"
                       "(a skip that may legitimately happen in CI goes into ALLOWED_SKIPS in the root conftest.py)")
