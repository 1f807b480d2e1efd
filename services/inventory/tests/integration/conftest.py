"""The inventory app in-process against the run's real PostgreSQL and RabbitMQ, and catalogue factories."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from hotelmate_devtools.signing import as_gateway
from hotelmate_platform.db import Database


@pytest.fixture(scope="session")
async def app():
    from inventory.app import create_app
    from inventory.settings import InventorySettings

    # Tests drive the sweeper by hand (expire_lapsed_holds), so a lapsed hold stays HELD until they do.
    inventory_app = create_app(InventorySettings(sweep_seconds=3600))  # the work unit's database and queues
    async with inventory_app.router.lifespan_context(inventory_app):
        yield inventory_app


@pytest.fixture(scope="session")
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory",
                                 event_hooks={"request": [as_gateway(admin_by_default=True)]}) as c:
        yield c


@pytest.fixture(scope="session")
def runtime(app):
    return app.state.runtime


@pytest.fixture(scope="session")
async def db(app):
    """A second pool on the service's database, wide enough for the concurrency tests."""
    database = Database(app.state.runtime.settings.database, pool_size=25, max_overflow=0)
    yield database
    await database.dispose()


def local_today(tz: str = "Europe/Lisbon") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def soon(minutes: float = 30) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


async def make_hotel(client: httpx.AsyncClient, *, rooms: int = 5, room_type: str = "DBL", base_rate: str = "100.00",
                     currency: str = "EUR", slug: str | None = None) -> str:
    """A hotel with one room type of ``rooms`` in-service rooms numbered 101..; returns its slug."""
    slug = slug or f"h-{uuid.uuid4().hex[:10]}"
    r = await client.put(f"/api/v1/staff/hotels/{slug}", json={
        "name": "Hotel Test", "timezone": "Europe/Lisbon", "currency": currency, "check_in_time": "15:00",
        "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24, "staff_email": "staff@example.com"})
    assert r.status_code == 200, r.text
    r = await client.put(f"/api/v1/staff/hotels/{slug}/room-types/{room_type}",
                         json={"name": "Double", "max_adults": 2, "max_children": 1, "base_rate": base_rate})
    assert r.status_code == 200, r.text
    for n in range(rooms):
        r = await client.put(f"/api/v1/staff/hotels/{slug}/rooms/{101 + n}", json={"room_type": room_type, "floor": 1})
        assert r.status_code == 200, r.text
    return slug
