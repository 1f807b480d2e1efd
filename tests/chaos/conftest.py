"""What the chaos modules share: a client for the gateway of the module's ``system``; after a run of
``reliability_scenarios.py``, the chaos table (printed, and written to ``reliability.json`` or
``$HOTELMATE_RELIABILITY_JSON``)."""

import os
import sys
from pathlib import Path

import httpx
import pytest


@pytest.fixture
async def http(system):
    async with httpx.AsyncClient(base_url=system.layout.url("gateway"), timeout=30) as client:
        yield client


def pytest_terminal_summary(terminalreporter) -> None:
    load = sys.modules.get("tests.chaos.chaos_load")
    if load is None or not load.ROWS:
        return
    terminalreporter.section("chaos table")
    terminalreporter.write_line(load.table(load.ROWS))
    path = Path(os.environ.get("HOTELMATE_RELIABILITY_JSON") or terminalreporter.config.rootpath / "reliability.json")
    load.write_json(load.ROWS, path)
    terminalreporter.write_line(f"written to {path}")
