"""Timeouts are durable: the booking process crashes with a deadline pending, comes back, and the
deadline still fires. Booking runs here as a real separate process (the devtools System)."""

import asyncio

import httpx
import pytest
from sqlalchemy import text

from hotelmate_contracts import ReleaseHold, VoidPayment
from hotelmate_devtools.signing import as_gateway
from hotelmate_devtools.system import Layout, System
from hotelmate_devtools.waiting import eventually

from .booking_support import Saga


@pytest.fixture
def booking_process(standin):
    layout = Layout.random_ports({"HOTELMATE_SWEEP_SECONDS": "0.3", "HOTELMATE_OUTBOX_POLL_SECONDS": "0.2"})
    layout.ports["inventory"] = layout.ports["payments"] = standin.port
    system = System(layout, echo=False)
    system.start(["booking"])
    yield system
    system.stop()


async def test_restart_with_a_pending_hold_deadline_still_expires_the_booking(booking_process, bus):
    async with httpx.AsyncClient(base_url=booking_process.layout.url("booking"), timeout=30,
                                 event_hooks={"request": [as_gateway()]}) as client:
        saga = Saga(client, bus)
        booking_id, _, _ = await saga.pending_payment(expires_in=3)
        booking_process.processes["booking"].kill()  # a crash, not a clean stop
        await asyncio.sleep(4)  # the hold lapses while no booking process runs
        await asyncio.to_thread(booking_process.restart, "booking")
        view = await saga.wait_status(booking_id, "EXPIRED", timeout=10)
        assert view["timeline"][-1]["reason"] == "hold expired unpaid"
        await bus.expect(booking_id, VoidPayment)
        await bus.expect(booking_id, ReleaseHold)


async def test_two_replicas_sweep_each_deadline_once(standin, bus, booking_replica, booking_db):
    async with booking_replica(standin) as first, booking_replica(standin) as second:
        sagas = [Saga(first, bus), Saga(second, bus)]
        booked = await asyncio.gather(*(sagas[i % 2].pending_payment(expires_in=2) for i in range(12)))
        for booking_id, _, _ in booked:
            await sagas[0].wait_status(booking_id, "EXPIRED", timeout=10)
        # A firing writes its commands with the status change; once the outbox is published and a marker
        # sent after it has come back, every command any firing wrote is in bus.sent.
        assert await eventually(lambda: outbox_published(booking_db), timeout=30)
        await bus.barrier("booking.probe_marker")
        for booking_id, _, _ in booked:
            assert len(bus.sent(booking_id, VoidPayment)) == 1
            assert len(bus.sent(booking_id, ReleaseHold)) == 1
            timeline = (await sagas[1].staff_view(booking_id))["timeline"]
            assert [t["to"] for t in timeline].count("EXPIRED") == 1


async def outbox_published(db) -> bool:
    async with db.sessions() as s:
        return (await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one() == 0
