"""Hooks for every test under this folder, the unit tests and the notebooks (nbval) alike."""

from __future__ import annotations

import os
import re

import pytest


def _missing_system_package(text: str) -> str | None:
    """The message of a MissingAssetError that asks for a system package, if ``text`` holds one."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # a notebook's traceback carries terminal colours
    if "MissingAssetError" not in text or "apt-get install" not in text:
        return None
    lines = [line for line in text.splitlines() if "MissingAssetError" in line and "apt-get" in line]
    line = (lines or [next(line for line in text.splitlines() if "apt-get install" in line)])[0]
    return line.split("MissingAssetError:", 1)[-1].strip()[:300]


#: notebooks (nbval) stopped by a missing system package: their later cells are skipped too
_STOPPED_NOTEBOOKS: dict[str, str] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test (or notebook cell) stopped by a data set or program that only a system package
    provides is reported as skipped, with the error's install command as the reason: that is the
    path of a user without root. In a notebook, the cells after it are skipped with the same
    reason (they need what that cell would have made). ``TLW_REQUIRE_SYSTEM_DATA=1`` (CI, after
    the set-up installed the packages as root) turns this off, so a set that should be there fails
    loudly."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed or os.environ.get("TLW_REQUIRE_SYSTEM_DATA") == "1":
        return
    path = str(item.path)
    missing = _missing_system_package(str(report.longrepr))
    if missing:
        reason = f"needs a system package: {missing}"
        if path.endswith(".ipynb"):
            _STOPPED_NOTEBOOKS.setdefault(path, missing)
    elif path in _STOPPED_NOTEBOOKS:
        reason = f"an earlier cell needs a system package: {_STOPPED_NOTEBOOKS[path]}"
    else:
        return
    report.outcome = "skipped"
    report.longrepr = (path, item.location[1] or 0, f"Skipped: {reason}")
