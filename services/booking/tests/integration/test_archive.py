"""Bookings finished long ago move to bookings_archive (with their party and timeline), run by the
service's retention loop; recent and unfinished ones stay where they are."""

import asyncio

import pytest
from .booking_support import STAFF, running_booking
from sqlalchemy import text


MONTHS_AGO = ("UPDATE bookings SET updated_at = now() - interval '40 days', check_in = current_date - 45, "
              "check_out = current_date - 43 WHERE id = :b")


@pytest.fixture(scope="module")
async def client(standin, bus):
    async with running_booking(standin, retention_every_seconds=0.2, booking_archive_days=30) as http:
        yield http


async def test_bookings_finished_long_ago_are_archived_whole(saga, client, booking_db):
    old, _, _ = await saga.pending_payment(expires_in=1)
    recent, _, _ = await saga.pending_payment(expires_in=1)
    confirmed, _, _ = await saga.confirmed()
    for booking_id in (old, recent):
        await saga.wait_status(booking_id, "EXPIRED", timeout=10)
    async with booking_db.sessions() as session, session.begin():
        for booking_id in (old, confirmed):  # a month and more ago; only one of them is over
            await session.execute(text(MONTHS_AGO), {"b": booking_id})
    deadline = 15
    while (await client.get(f"/api/v1/staff/hotels/h1/bookings/{old}", headers=STAFF)).status_code != 404:
        deadline -= 0.2
        assert deadline > 0, "the old booking was not archived"
        await asyncio.sleep(0.2)
    async with booking_db.sessions() as session:
        record = (await session.execute(text("SELECT status, record FROM bookings_archive WHERE id = :b"),
                                        {"b": old})).one()
        left = set((await session.execute(text("SELECT id FROM bookings WHERE id = ANY(:ids)"),
                                          {"ids": [old, recent, confirmed]})).scalars())
    assert record.status == "EXPIRED" and left == {recent, confirmed}
    assert record.record["party"][0]["last_name"] == "Lovelace" and "token_digest" not in record.record["booking"]
    assert [t["to_status"] for t in record.record["timeline"]][-1] == "EXPIRED"
