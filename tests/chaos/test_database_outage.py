"""Chaos: the whole system on a PRIVATE PostgreSQL cluster. First the payments database refuses
connections for longer than the whole retry ladder while checkouts are requested (those messages
must wait, not be dead-lettered); then the whole server is stopped while approvals are captured.
Every booking still reaches CONFIRMED, nothing is dead-lettered, every outbox drains.

The short version (outages of a few seconds, several times the shortened retry ladder) runs in
``make test``; ``make reliability`` stops the whole server for 35 s under load
(``reliability_scenarios.py``)."""

import asyncio
import os

import psycopg
import pytest

from hotelmate_devtools.cleanup import delete_namespace_queues
from hotelmate_platform.settings import PlatformSettings

from .chaos_support import NAMES, SAGA_TIMEOUT, assert_quiet, log_shows, open_desk
from hotelmate_devtools.flows.booking import Guest

HOTEL = "chaos-lyon"
MAX_ATTEMPTS = 3  # with the ladder below, poison is dead-lettered within a second
OUTAGE_SECONDS = 4


# Its own bus namespace: its shorter retry ladder declares delay queues with other TTLs than the
# queues other modules of the run already declared (RabbitMQ refuses inequivalent arguments).
NAMESPACE = f"{os.environ.get('HOTELMATE_BUS_NAMESPACE', 'hotelmate')}_dbout"


@pytest.fixture(scope="module")
def settings(private_database) -> PlatformSettings:
    return PlatformSettings(postgres_url=private_database.url, bus_namespace=NAMESPACE)


@pytest.fixture(scope="module")
def system(system_factory, private_database, settings):
    started = system_factory(NAMES, env={
        "HOTELMATE_POSTGRES_URL": private_database.url, "HOTELMATE_BUS_NAMESPACE": NAMESPACE,
        "HOTELMATE_SWEEP_SECONDS": "0.5",
        "HOTELMATE_RETRY_DELAYS_MS": "[100,200,400]", "HOTELMATE_CONSUMER_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000"})
    yield started
    started.stop()
    asyncio.run(delete_namespace_queues(settings))


def allow_connections(settings: PlatformSettings, service: str, allowed: bool) -> None:
    """Make one service's database refuse (or accept again) connections, dropping the open ones."""
    name = settings.database_url(service).rsplit("/", 1)[1]
    url = settings.postgres_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


async def test_every_booking_is_confirmed_across_database_outages(http, system, private_database, settings):
    desk = await open_desk(http, HOTEL)
    guests = [Guest(http, HOTEL) for _ in range(3)]

    allow_connections(settings, "payments", False)
    try:
        for guest in guests:
            await guest.book()
        assert await log_shows(system, ["payments"], lambda log: "payments.request_checkout" in log)
        # The fault lasts several times the whole retry ladder (0.7 s) once the checkouts arrive.
        await asyncio.sleep(OUTAGE_SECONDS)
    finally:
        allow_connections(settings, "payments", True)

    for guest in guests:
        view = await guest.wait_for("PENDING_PAYMENT", checkout=True, timeout=SAGA_TIMEOUT)
        await guest.pay(view["payment"]["checkout_url"])
    for guest in guests:
        await guest.wait_for("PENDING_APPROVAL", timeout=SAGA_TIMEOUT)
        assert (await desk.act(HOTEL, guest.booking_id, "approve")).status_code == 202

    await asyncio.to_thread(private_database.stop)
    try:
        await asyncio.sleep(OUTAGE_SECONDS)  # the captures in flight run into the outage
    finally:
        await asyncio.to_thread(private_database.start)

    for guest in guests:
        await _tolerant_wait(guest, "CONFIRMED")
    await assert_quiet(settings, settings.amqp_url)


async def _tolerant_wait(guest: Guest, status: str) -> None:
    """Wait for ``status``; answers that fail while the services reconnect are tried again."""
    deadline = asyncio.get_running_loop().time() + SAGA_TIMEOUT
    while True:
        try:
            if (await guest.view())["status"] == status:
                return
        except AssertionError:
            pass
        assert asyncio.get_running_loop().time() < deadline, f"{guest.booking_id} never {status}"
        await asyncio.sleep(0.3)
