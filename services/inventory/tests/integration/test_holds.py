"""Holds on the real database: no oversell under concurrency, expiry at the instant, idempotent commands."""

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from hotelmate_contracts import CommitHold, ExtendHold, PlaceHold, ReleaseHold
from inventory.handlers import commit_hold, expire_lapsed_holds, extend_hold, place_hold, release_hold

from .conftest import local_today, make_hotel, soon


def place(slug: str, offset: int, nights: int = 3, *, expires_at=None, booking_id=None, **extra) -> PlaceHold:
    ci = local_today() + timedelta(days=offset)
    return PlaceHold(booking_id=booking_id or f"BK-T-{uuid.uuid4().hex[:12]}", hotel=slug, room_type="DBL",
                     check_in=ci, check_out=ci + timedelta(days=nights), adults=2, children=0,
                     expires_at=expires_at or soon(), **extra)


async def run(db, handler, message) -> list:
    """Run one command in its own unit of work; returns the messages it published."""
    async with db.unit_of_work() as uow:
        await handler(uow, message)
        published = [e for e in uow._pending]
    return [(e.type, e.payload) for e in published]


async def nightly_peak(db, slug: str) -> int:
    async with db.sessions() as s:
        return (await s.execute(text("""
            SELECT coalesce(max(c), 0) FROM (
              SELECT d, count(*) c FROM holds h, generate_series(h.check_in, h.check_out - 1, interval '1 day') d
              WHERE h.hotel = :h AND (h.status = 'COMMITTED' OR (h.status = 'HELD' AND h.expires_at > now()))
              GROUP BY d) x"""), {"h": slug})).scalar_one()


async def test_200_concurrent_place_holds_on_5_rooms_place_exactly_5_ten_times(client, db):
    for round_ in range(10):
        slug = await make_hotel(client, rooms=5)
        # overlapping stays: arrivals on days +1, +2, +3, all leaving on day +5, so all share nights +3 and +4
        messages = [place(slug, 1 + i % 3, nights=4 - i % 3) for i in range(200)]
        results = await asyncio.gather(*(run(db, place_hold, m) for m in messages))
        types = [r[0][0] for r in results]
        assert types.count("inventory.hold_placed") == 5, round_
        assert types.count("inventory.hold_refused") == 195
        assert {r[0][1]["reason"] for r in results if r[0][0] == "inventory.hold_refused"} == {"SOLD_OUT"}
        assert await nightly_peak(db, slug) == 5


async def test_an_expired_hold_stops_counting_at_its_expiry_instant(client, db):
    slug = await make_hotel(client, rooms=1)
    first = place(slug, 4, expires_at=datetime.now(timezone.utc) + timedelta(seconds=1))
    assert (await run(db, place_hold, first))[0][0] == "inventory.hold_placed"
    assert (await run(db, place_hold, place(slug, 4)))[0][1]["reason"] == "SOLD_OUT"
    await asyncio.sleep(1.1)
    # no sweeper has run: the lapsed hold is still HELD in its row, yet no longer takes the room
    async with db.sessions() as s:
        assert (await s.execute(text("SELECT status FROM holds WHERE booking_id = :b"), {"b": first.booking_id})).scalar_one() == "HELD"
    assert (await client.get(f"/internal/hotels/{slug}/holds/{first.booking_id}")).json()["status"] == "EXPIRED"
    assert (await run(db, place_hold, place(slug, 4)))[0][0] == "inventory.hold_placed"


async def test_commands_are_idempotent_per_booking(client, db):
    slug = await make_hotel(client, rooms=2)
    msg = place(slug, 6)
    first = await run(db, place_hold, msg)
    again = await run(db, place_hold, msg.model_copy(update={"expires_at": soon(60)}))
    assert first[0][0] == again[0][0] == "inventory.hold_placed"
    assert first[0][1]["quote"] == again[0][1]["quote"] and first[0][1]["expires_at"] == again[0][1]["expires_at"]
    assert first[0][1]["hotel_profile"]["slug"] == slug and first[0][1]["quote"]["first_night_with_taxes"]
    extended = soon(24 * 60)
    assert (await run(db, extend_hold, ExtendHold(booking_id=msg.booking_id, hotel=slug, expires_at=extended)))[0][0] == "inventory.hold_extended"
    for _ in range(2):
        assert (await run(db, commit_hold, CommitHold(booking_id=msg.booking_id, hotel=slug)))[0][0] == "inventory.hold_committed"
    for _ in range(2):
        out = await run(db, release_hold, ReleaseHold(booking_id=msg.booking_id, hotel=slug, reason="cancelled"))
        assert out[0][0] == "inventory.hold_released"
    assert await nightly_peak(db, slug) == 0
    # a PlaceHold arriving after the release changes nothing
    assert await run(db, place_hold, msg) == []
    async with db.sessions() as s:
        assert (await s.execute(text("SELECT count(*) FROM holds WHERE booking_id = :b"), {"b": msg.booking_id})).scalar_one() == 1


async def test_release_before_place_leaves_a_tombstone(client, db):
    slug = await make_hotel(client, rooms=1)
    msg = place(slug, 8)
    assert (await run(db, release_hold, ReleaseHold(booking_id=msg.booking_id, hotel=slug, reason="timeout")))[0][0] == "inventory.hold_released"
    assert await run(db, place_hold, msg) == []
    assert (await run(db, place_hold, place(slug, 8)))[0][0] == "inventory.hold_placed"


async def test_invalid_and_closed_holds_are_refused(client, db):
    slug = await make_hotel(client, rooms=1)
    await client.put(f"/api/v1/staff/hotels/{slug}/rooms/101", json={"room_type": "DBL", "in_service": False})
    assert (await run(db, place_hold, place(slug, 2)))[0][1]["reason"] == "CLOSED"
    assert (await run(db, place_hold, place(slug, -1)))[0][1]["reason"] == "INVALID"
    assert (await run(db, place_hold, place("no-such-hotel", 2)))[0][1]["reason"] == "INVALID"


async def test_sweeper_expires_lapsed_holds_durably_and_extend_after_expiry_says_expired(client, db):
    slug = await make_hotel(client, rooms=1)
    msg = place(slug, 9, expires_at=datetime.now(timezone.utc) + timedelta(milliseconds=300))
    await run(db, place_hold, msg)
    await asyncio.sleep(0.4)
    await expire_lapsed_holds(db)  # the service's own sweeper may get there first: either way EXPIRED
    hold = (await client.get(f"/internal/hotels/{slug}/holds/{msg.booking_id}")).json()
    assert hold["status"] == "EXPIRED" and hold["total"] == {"amount": "300.00", "currency": "EUR"}
    async with db.sessions() as s:
        published = (await s.execute(text("SELECT count(*) FROM outbox WHERE type = 'inventory.hold_expired' "
                                          "AND envelope->'payload'->>'booking_id' = :b"), {"b": msg.booking_id})).scalar_one()
    assert published == 1
    out = await run(db, extend_hold, ExtendHold(booking_id=msg.booking_id, hotel=slug, expires_at=soon()))
    assert out[0][0] == "inventory.hold_expired"
    listed = (await client.get("/internal/holds", params={"booking_ids": f"{msg.booking_id},BK-NONE"})).json()
    assert [h["booking_id"] for h in listed["holds"]] == [msg.booking_id]


async def test_occupancy_report_counts_sold_held_and_free(client, db):
    slug = await make_hotel(client, rooms=3)
    sold, held = place(slug, 3, nights=2), place(slug, 4, nights=1)
    await run(db, place_hold, sold)
    await run(db, commit_hold, CommitHold(booking_id=sold.booking_id, hotel=slug))
    await run(db, place_hold, held)
    d = local_today() + timedelta(days=3)
    r = await client.get(f"/api/v1/staff/hotels/{slug}/reports/occupancy",
                         params={"from": str(d), "to": str(d + timedelta(days=2))})
    assert r.status_code == 200, r.text
    rows = [(x["sellable"], x["sold"], x["held"], x["free"]) for x in r.json()["room_types"][0]["dates"]]
    assert rows == [(3, 1, 0, 2), (3, 1, 1, 1), (3, 0, 0, 3)]


async def test_a_lapsed_hold_whose_room_was_resold_cannot_be_extended_or_committed(client, db):
    slug = await make_hotel(client, rooms=1)
    lapsing = place(slug, 11, expires_at=datetime.now(timezone.utc) + timedelta(milliseconds=200))
    await run(db, place_hold, lapsing)
    await asyncio.sleep(0.3)
    assert (await run(db, place_hold, place(slug, 12, nights=1)))[0][0] == "inventory.hold_placed"
    out = await run(db, commit_hold, CommitHold(booking_id=lapsing.booking_id, hotel=slug))
    assert out[0][0] == "inventory.hold_expired"
    assert await nightly_peak(db, slug) == 1


async def test_a_lapsed_hold_whose_nights_are_still_free_is_extended(client, db):
    slug = await make_hotel(client, rooms=1)
    lapsing = place(slug, 13, expires_at=datetime.now(timezone.utc) + timedelta(milliseconds=200))
    await run(db, place_hold, lapsing)
    await asyncio.sleep(0.3)
    later = soon(60)
    out = await run(db, extend_hold, ExtendHold(booking_id=lapsing.booking_id, hotel=slug, expires_at=later))
    assert out[0][0] == "inventory.hold_extended"
    assert (await run(db, place_hold, place(slug, 13)))[0][1]["reason"] == "SOLD_OUT"
