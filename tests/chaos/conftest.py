"""What the chaos modules share: a client for the gateway of the module's ``system``."""

import httpx
import pytest


@pytest.fixture
async def http(system):
    async with httpx.AsyncClient(base_url=system.layout.url("gateway"), timeout=30) as client:
        yield client
