"""What the chaos modules share: the processes they start, a desk that opens the test hotel, and
the checks that the system is quiet afterwards (no dead letters, every outbox drained)."""

import asyncio
from collections.abc import Callable, Iterable

from sqlalchemy import text

from hotelmate_devtools.system import SERVICES
from hotelmate_platform.db import Database
from hotelmate_platform.dlq import DeadLetters
from hotelmate_platform.settings import PlatformSettings

from hotelmate_devtools.flows.booking import Desk

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
SAGA_TIMEOUT = 120  # generous: the fault and the services' reconnection fit in it on a busy machine
NONE_LEFT = {service: 0 for service in SERVICES}


async def open_desk(http, hotel: str) -> Desk:
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel(hotel, rooms=10)
    return desk


async def pending_outbox(settings: PlatformSettings) -> dict[str, int]:
    """Unpublished outbox rows per service."""
    counts = {}
    for service in SERVICES:
        db = Database(settings.database_url(service), pool_size=1, max_overflow=0)
        try:
            async with db.sessions() as session:
                counts[service] = (await session.execute(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one()
        finally:
            await db.dispose()
    return counts


async def assert_quiet(settings: PlatformSettings, amqp_url: str, timeout: float = 30) -> None:
    """No dead letter anywhere, and every outbox drains within ``timeout``."""
    assert await DeadLetters(amqp_url, settings.bus_namespace).counts(SERVICES) == NONE_LEFT
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := await pending_outbox(settings)) != NONE_LEFT:
        assert asyncio.get_running_loop().time() < deadline, f"outbox rows never published: {left}"
        await asyncio.sleep(0.2)


async def log_shows(system, services: Iterable[str], found: Callable[[str], bool], timeout: float = 60) -> bool:
    """Poll the services' output until ``found(text)``; False after ``timeout``."""
    services = list(services)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if found("".join("".join(system.processes[s].lines) for s in services)):
            return True
        await asyncio.sleep(0.2)
    return False
