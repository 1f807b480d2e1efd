"""Integration fixtures: the booking app in-process, a stand-in for inventory/payments HTTP, and the
bus probe (helpers live in booking_support.py, imported relatively, as pytest names it from the rootdir)."""

from __future__ import annotations


import pytest

from .booking_support import BusProbe, Saga, StandIn, running_booking

from hotelmate_platform.db import Database  # noqa: E402


@pytest.fixture
def booking_replica():
    """Start one more booking app in this process: ``async with booking_replica(standin) as http``."""
    return running_booking


@pytest.fixture(scope="session")
async def standin():
    server = StandIn()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def bus(platform_settings):
    probe = BusProbe(platform_settings.amqp_url, platform_settings.bus_namespace)
    await probe.start()
    yield probe
    await probe.stop()


@pytest.fixture(scope="module")
async def client(standin, bus):
    async with running_booking(standin) as http:
        yield http


@pytest.fixture
def saga(client, bus) -> Saga:
    return Saga(client, bus)


@pytest.fixture
async def booking_db(platform_settings):
    """The run's booking database, for tests that plant or read rows directly."""
    db = Database(platform_settings.database_url("booking"), pool_size=1, max_overflow=0)
    yield db
    await db.dispose()
