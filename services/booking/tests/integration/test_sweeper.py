"""The sweeper fires each booking's deadline in its own transaction: one booking it cannot handle
is logged, left alone for a while, and never stops the others."""

import asyncio
import json

import pytest
from .booking_support import running_booking
from sqlalchemy import text



@pytest.fixture(scope="module")
async def client(standin, bus):
    async with running_booking(standin, booking_sweep_retry_seconds=1) as http:
        yield http


async def row(db, booking_id: str) -> dict:
    async with db.sessions() as session:
        found = await session.execute(text("SELECT status, sweep_after FROM bookings WHERE id = :b"), {"b": booking_id})
        return dict(found.mappings().one())


async def test_a_booking_that_cannot_be_expired_does_not_stop_the_others(saga, booking_db):
    booked = await asyncio.gather(*(saga.pending_payment(expires_in=4) for _ in range(3)))
    broken, *others = sorted(booking_id for booking_id, _, _ in booked)  # the first one the sweeper meets
    async with booking_db.sessions() as session, session.begin():
        # A row the code cannot read (say, written by hand or by an older version): no hotel profile.
        saved = (await session.execute(text("SELECT hotel_profile FROM bookings WHERE id = :b"), {"b": broken})).scalar_one()
        await session.execute(text("UPDATE bookings SET hotel_profile = '{}' WHERE id = :b"), {"b": broken})
    for booking_id in others:
        await saga.wait_status(booking_id, "EXPIRED", timeout=20)
    stuck = await row(booking_db, broken)
    assert stuck["status"] == "PENDING_PAYMENT" and stuck["sweep_after"] is not None
    async with booking_db.sessions() as session, session.begin():  # repaired: the next try expires it
        await session.execute(text("UPDATE bookings SET hotel_profile = CAST(:p AS jsonb) WHERE id = :b"),
                              {"b": broken, "p": json.dumps(saved)})
    await saga.wait_status(broken, "EXPIRED", timeout=20)
