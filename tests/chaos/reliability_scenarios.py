"""The long chaos scenarios of ``make reliability`` (named on its command line: the file does not match
``test_*.py``, so ``make test`` never collects it).

The whole system runs as processes on a PRIVATE RabbitMQ node and a PRIVATE PostgreSQL cluster. In
each scenario guests book, pay through the Stripe emulator and are approved, through the gateway,
while one fault is injected: the broker restarted, the database server stopped for 35 s, each
service SIGKILLed and restarted, a second replica of every service, the Stripe API answering 503
for 30 s (shortened from "several minutes" so that the run stays short;
``HOTELMATE_RELIABILITY_STRIPE_OUTAGE_SECONDS=300`` gives the full length), inventory
SIGSTOPped past its holds' expiry while the desk approves. Then the scenario waits for quiet (every
booking CONFIRMED, every webhook the emulator sent processed), runs the invariant checker
(``python -m hotelmate_devtools.invariants``) and counts dead letters. Each scenario fills a row of
the chaos table, printed (and written to ``reliability.json``) at the end with the success rates.
``HOTELMATE_RELIABILITY_SCALE=N`` runs N times as many guests per scenario."""

import asyncio
import os
import signal
import time

import httpx
import pytest
from sqlalchemy import text

from hotelmate_devtools.system import SERVICES, Layout, System, free_port
from hotelmate_platform.db import Database
from hotelmate_platform.dlq import DeadLetters
from hotelmate_platform.settings import PlatformSettings

from .chaos_support import NAMES
from hotelmate_devtools.flows.booking import Desk, check_invariants
from .chaos_load import ROWS, Load, Row, rates, until

DATABASE_OUTAGE_SECONDS = 35  # the issue asks for 30-45 s
# The issue asks for several minutes: shortened (see the docstring); set it to 300 for the full length.
STRIPE_OUTAGE_SECONDS = float(os.environ.get("HOTELMATE_RELIABILITY_STRIPE_OUTAGE_SECONDS", "30"))
# Guests per scenario are multiplied by this (and arrive that much faster): 3 triples the load.
SCALE = int(os.environ.get("HOTELMATE_RELIABILITY_SCALE", "1"))
LOGIN: dict[str, str] = {}  # the gateway rate-limits logins: one token for the module


@pytest.fixture(scope="module")
def settings(private_database, private_broker) -> PlatformSettings:
    return PlatformSettings(postgres_url=private_database.url, amqp_url=private_broker.amqp_url)


@pytest.fixture(scope="module")
def private_env(private_database, private_broker) -> dict[str, str]:
    return {"HOTELMATE_POSTGRES_URL": private_database.url, "HOTELMATE_AMQP_URL": private_broker.amqp_url,
            "HOTELMATE_SWEEP_SECONDS": "0.5"}


@pytest.fixture(scope="module")
def system(system_factory, private_env):
    started = system_factory(NAMES, env={
        **private_env, "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000", "HOTELMATE_GATEWAY_PUBLIC_BURST": "100000",
        "HOTELMATE_GATEWAY_STAFF_RATE_PER_MINUTE": "100000", "HOTELMATE_GATEWAY_STAFF_BURST": "100000"})
    yield started
    started.stop()


@pytest.fixture(scope="module")
async def stripe(system):
    async with httpx.AsyncClient(base_url=system.layout.url("stripe-emulator"), timeout=30) as client:
        yield client


async def open_hotel(http: httpx.AsyncClient, hotel: str, rooms: int) -> Desk:
    desk = Desk(http)
    if not LOGIN:
        await desk.login()
        LOGIN.update(desk.headers)
    desk.headers = dict(LOGIN)
    await desk.open_hotel(hotel, rooms=rooms)
    return desk


async def delivered_events(stripe: httpx.AsyncClient) -> dict[str, str]:
    """Every event the emulator has to deliver (webhook URL set, type enabled), with its delivery status."""
    answer = await stripe.get("/_emulator/events")
    answer.raise_for_status()
    return {e["id"]: e["delivery_status"] for e in answer.json()["data"]
            if e["delivery_status"] not in ("disabled", "not_enabled")}


async def processed_events(settings: PlatformSettings, ids: list[str]) -> set[str]:
    """Which of ``ids`` payments stored and processed."""
    db = Database(settings.database_url("payments"), pool_size=1, max_overflow=0)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                text("SELECT id FROM stripe_events WHERE processed_at IS NOT NULL AND id = ANY(:ids)"), {"ids": ids})
            return {r[0] for r in rows}
    finally:
        await db.dispose()


class Scenario:
    """One row of the chaos table: the load, the fault's record, and the checks once quiet."""

    def __init__(self, name: str, system: System, stripe: httpx.AsyncClient, settings: PlatformSettings,
                 private_env: dict[str, str]) -> None:
        self.row = Row(name)
        self.system, self.stripe, self.settings, self.private_env = system, stripe, settings, private_env
        self.hotel = "rel-" + "-".join(name.split()[:2]).lower()
        self.started = time.monotonic()
        self.events_before: set[str] = set()

    async def __aenter__(self) -> "Scenario":
        self.events_before = set(await delivered_events(self.stripe))
        return self

    async def __aexit__(self, *exc) -> None:
        return None

    async def flow(self, clients: list[httpx.AsyncClient], guests: int, **options) -> Load:
        """The scenario's hotel, opened with a room for every guest (and two spare), and its load."""
        desk = await open_hotel(clients[0], self.hotel, guests + 2)
        return Load(clients, desk, self.hotel, self.row, **options)

    def fault(self, what: str) -> None:
        self.row.faults.append(what)

    async def settle(self, load: asyncio.Task, guests: int, ends: frozenset[str] = frozenset({"CONFIRMED"})) -> None:
        """Wait for the load and for quiet, fill the row's checks, then assert the scenario held:
        no violation, no dead letter, every guest's booking created and ended in one of ``ends``."""
        await load
        await self._count_webhooks()
        code, output = await check_invariants(self.system, [self.hotel], quiet_within=90, env=self.private_env)
        self.row.violations = int(output.split(" violation")[0].rsplit("\n", 1)[-1]) if code in (0, 1) else -1
        counts = await DeadLetters(self.settings.amqp_url, self.settings.bus_namespace).counts(SERVICES)
        self.row.dead_letters = sum(counts.values())
        ROWS.append(self.row)
        assert code == 0, output
        assert self.row.dead_letters == 0, counts
        assert self.row.created == guests and set(self.row.end_states) <= ends, self.row

    async def _count_webhooks(self, timeout: float = 120) -> None:
        """Once every new event is delivered (or given up) and every delivered one processed: count."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            events = {i: s for i, s in (await delivered_events(self.stripe)).items() if i not in self.events_before}
            processed = await processed_events(self.settings, list(events))
            if all(s != "pending" for s in events.values()) and processed >= {
                    i for i, s in events.items() if s == "delivered"}:
                break
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        self.row.webhooks_delivered, self.row.webhooks_processed = len(events), len(processed)


@pytest.fixture
def scenario(system, stripe, settings, private_env):
    return lambda name: Scenario(name, system, stripe, settings, private_env)


async def test_broker_restart(http, scenario, private_broker):
    async with scenario("broker restart") as s:
        guests = 8 * SCALE
        load = (await s.flow([http], guests)).start(guests, spacing=1 / SCALE)
        await until(lambda: s.row.created >= 2 * SCALE, what="bookings created")
        began = time.monotonic()
        await asyncio.to_thread(private_broker.stop_app)
        await until(lambda: s.row.attempted >= 5 * SCALE, what="guests booking while the broker is away")
        await asyncio.to_thread(private_broker.start_app)
        s.fault(f"RabbitMQ stop_app/start_app ({time.monotonic() - began:.0f} s down)")
        await s.settle(load, guests)


async def test_database_outage(http, scenario, private_database):
    async with scenario("database outage") as s:
        guests = 8 * SCALE
        load = (await s.flow([http], guests)).start(guests, spacing=2 / SCALE)
        await until(lambda: s.row.created >= 2 * SCALE, what="bookings created")
        await asyncio.to_thread(private_database.stop)
        try:
            await asyncio.sleep(DATABASE_OUTAGE_SECONDS)  # the fault's own length
        finally:
            await asyncio.to_thread(private_database.start)
        s.fault(f"PostgreSQL server stopped {DATABASE_OUTAGE_SECONDS} s")
        await s.settle(load, guests)


async def test_each_service_killed_and_restarted(http, scenario, system):
    async with scenario("SIGKILL each service") as s:
        guests = 3 * len(SERVICES) * SCALE
        load = (await s.flow([http], guests)).start(guests, spacing=1.5 / SCALE)
        for n, service in enumerate(SERVICES):
            await until(lambda: s.row.attempted >= (2 + 3 * n) * SCALE, what=f"guests before {service} is killed")
            began = time.monotonic()
            system.processes[service].kill()
            await asyncio.to_thread(system.restart, service, timeout=120)
            s.fault(f"SIGKILL {service}, back in {time.monotonic() - began:.0f} s")
        await s.settle(load, guests)


async def test_two_replicas_of_every_service(http, scenario, system):
    async with scenario("two replicas") as s:
        ports = dict(system.layout.ports, **{name: free_port() for name in (*SERVICES, "gateway")})
        replicas = System(Layout(ports=ports, env=system.layout.env), echo=system.echo)
        try:
            await asyncio.to_thread(replicas.start, [*SERVICES, "gateway"], timeout=120)
            s.fault("second replica of inventory, booking, payments, notifications and gateway; "
                    "guests alternate gateways")
            async with httpx.AsyncClient(base_url=replicas.layout.url("gateway"), timeout=30) as second:
                guests = 12 * SCALE
                load = (await s.flow([http, second], guests)).start(guests, spacing=0.5 / SCALE)
                await s.settle(load, guests)
        finally:
            await asyncio.to_thread(replicas.stop)


async def test_stripe_answers_503(http, scenario, stripe):
    async with scenario("Stripe 503") as s:
        guests = 8 * SCALE
        flow = await s.flow([http], guests, timeout=STRIPE_OUTAGE_SECONDS + 270)
        load = flow.start(guests, spacing=STRIPE_OUTAGE_SECONDS / 15 / SCALE)
        await until(lambda: s.row.created >= 1, what="a booking created")
        added = await stripe.post("/_emulator/faults", json={"status": 503, "path_prefix": "/v1", "times": 10**9})
        assert added.status_code == 201, added.text
        try:
            await asyncio.sleep(STRIPE_OUTAGE_SECONDS)  # the fault's own length
        finally:
            (await stripe.delete("/_emulator/faults")).raise_for_status()
        s.fault(f"Stripe API answers 503 to every call for {STRIPE_OUTAGE_SECONDS:.0f} s")
        await s.settle(load, guests)


async def test_inventory_stopped_past_the_hold_expiry_while_staff_approve(http, scenario, system, settings):
    async with scenario("SIGSTOP inventory") as s:
        approvals, guests = asyncio.Event(), 6 * SCALE
        flow = await s.flow([http], guests, approvals=approvals)
        load = flow.start(guests, spacing=0.5 / SCALE)
        await until(lambda: s.row.payments_ok == guests, what="every booking awaiting approval")
        inventory = system.processes["inventory"].popen.pid
        os.killpg(inventory, signal.SIGSTOP)
        try:
            approvals.set()
            await until(lambda: flow.approved == guests, what="every approval answered")
            # The hours past the approval deadline and the hold margin, compressed: half the holds
            # lapse while inventory sleeps, so their CommitHold finds a lapsed hold when it wakes up.
            lapsed = await lapse_holds(settings, [guest.booking_id for guest in flow.guests[::2]])
        finally:
            os.killpg(inventory, signal.SIGCONT)
        s.fault(f"inventory SIGSTOPped during {guests} approvals, {lapsed} of the {guests} holds lapsed meanwhile, "
                "then SIGCONT")
        # Inventory's sweeper may expire a lapsed hold before its CommitHold is read (it usually does):
        # then the approval is refused and the card voided (rooms before money), never captured
        # without a room. The holds still valid are committed: CONFIRMED.
        await s.settle(load, guests, frozenset({"CONFIRMED", "UNAVAILABLE"}))


async def lapse_holds(settings: PlatformSettings, booking_ids: list[str]) -> int:
    db = Database(settings.database_url("inventory"), pool_size=1, max_overflow=0)
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL lock_timeout = '10s'"))
            done = await session.execute(text(
                "UPDATE holds SET expires_at = now() - interval '1 second' WHERE booking_id = ANY(:ids)"),
                {"ids": booking_ids})
            return done.rowcount
    finally:
        await db.dispose()


def test_zz_success_rates_meet_the_targets():
    assert ROWS, "no scenario ran"
    missed = {name: r for name, r in rates(ROWS).items() if not r["met"]}
    assert not missed, missed
