"""pytest plugin: when a test that ran a :class:`~hotelmate_devtools.system.System` fails, its
report ends with the last lines of each of the system's process logs (``<log_dir>/<name>.log``).

A system counts as the test's when one of the test's fixtures (direct or not) is the system or
holds it as ``.system`` (a module's ``system`` fixture), or when it was created while the test
ran (a test that starts and stops its own). Enabled in pytest.ini with ``-p hotelmate_devtools.logtails``;
``HOTELMATE_LOG_TAIL_LINES`` (default 40) sets how many lines per process.
"""

from __future__ import annotations

import os
import weakref
from collections import deque
from pathlib import Path

import pytest

from .system import System

_BEFORE = pytest.StashKey[weakref.WeakSet]()


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a file (read through, so a large log costs no memory)."""
    with open(path, errors="replace") as f:
        return list(deque(f, maxlen=lines))


def systems_of_test(fixture_values, existed: weakref.WeakSet) -> list[System]:
    """The systems a test used: its fixtures' and those created since ``existed`` was taken."""
    used = [value for value in fixture_values if isinstance(value, System)]
    used += [value.system for value in fixture_values if isinstance(getattr(value, "system", None), System)]
    used += [system for system in list(System.instances) if system not in existed]
    return list({id(system): system for system in used}.values())


def sections(systems: list[System], lines: int) -> list[tuple[str, str]]:
    """One report section per process log of ``systems``: (title, its last lines)."""
    found = []
    for system in systems:
        for path in sorted(system.log_dir.glob("*.log")):
            text = "".join(tail(path, lines)) or "(empty)\n"
            found.append((f"log tail: {path.stem} (last {lines} lines of {path})", text))
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_BEFORE] = weakref.WeakSet(list(System.instances))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or _BEFORE not in item.stash:
        return
    lines = int(os.environ.get("HOTELMATE_LOG_TAIL_LINES", "40"))
    fixture_values = list(getattr(item, "funcargs", {}).values())
    for title, text in sections(systems_of_test(fixture_values, item.stash[_BEFORE]), lines):
        report.sections.append((title, text))
