"""Room assignment: one physical room, never two overlapping bookings (exclusion constraint); the loser gets 409."""

import asyncio
from hotelmate_contracts import CommitHold
from inventory.handlers import commit_hold, place_hold

from .conftest import make_hotel
from .test_holds import place, run


async def committed(db, slug: str, offset: int, nights: int) -> str:
    msg = place(slug, offset, nights=nights)
    assert (await run(db, place_hold, msg))[0][0] == "inventory.hold_placed"
    await run(db, commit_hold, CommitHold(booking_id=msg.booking_id, hotel=slug))
    return msg.booking_id


async def test_50_simultaneous_assignments_of_one_room_exactly_one_wins(client, db):
    slug = await make_hotel(client, rooms=50)
    bookings = [await committed(db, slug, 10 + i % 4, 4 - i % 4 + i % 3) for i in range(50)]  # all share night +13

    async def assign(booking: str):
        # A desk refused for capacity (503 + Retry-After; admission control on a busy machine) comes back,
        # as booking's callers do; a refusal changed nothing, so the outcome is still decided by the room.
        for _ in range(200):
            r = await client.put(f"/internal/hotels/{slug}/assignments/{booking}", json={"room_number": "101"})
            if r.status_code != 503:
                return r
            assert "retry-after" in r.headers
            await asyncio.sleep(0.1)
        return r

    answers = await asyncio.gather(*(assign(b) for b in bookings))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [409] * 49
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in answers if r.status_code == 409)


async def test_assign_move_unassign_and_refusals(client, db):
    slug = await make_hotel(client, rooms=3)
    await client.put(f"/api/v1/staff/hotels/{slug}/room-types/STE",
                     json={"name": "Suite", "max_adults": 2, "base_rate": "300.00"})
    await client.put(f"/api/v1/staff/hotels/{slug}/rooms/900", json={"room_type": "STE"})
    await client.put(f"/api/v1/staff/hotels/{slug}/rooms/103", json={"room_type": "DBL", "in_service": False})
    first, second = await committed(db, slug, 20, 3), await committed(db, slug, 22, 2)  # overlap on night +22
    url = f"/internal/hotels/{slug}/assignments"
    assert (await client.put(f"{url}/{first}", json={"room_number": "101"})).json() == {"booking_id": first, "room_number": "101"}
    assert (await client.put(f"{url}/{second}", json={"room_number": "101"})).status_code == 409
    assert (await client.put(f"{url}/{second}", json={"room_number": "102"})).status_code == 200
    # moving the first booking onto the second's room conflicts; onto a free one works
    assert (await client.put(f"{url}/{first}", json={"room_number": "102"})).status_code == 409
    assert (await client.put(f"{url}/{first}", json={"room_number": "999"})).status_code == 404
    assert (await client.put(f"{url}/{first}", json={"room_number": "900"})).status_code == 422
    assert (await client.put(f"{url}/{first}", json={"room_number": "103"})).status_code == 422
    assert (await client.get(f"{url}/{first}")).json()["room_number"] == "101"
    assert (await client.delete(f"{url}/{second}")).status_code == 204
    assert (await client.put(f"{url}/{first}", json={"room_number": "102"})).status_code == 200
    assert (await client.get(f"{url}/{second}")).status_code == 404


async def test_a_booking_without_a_committed_hold_cannot_get_a_room(client, db):
    slug = await make_hotel(client, rooms=1)
    held = place(slug, 5)
    await run(db, place_hold, held)
    r = await client.put(f"/internal/hotels/{slug}/assignments/{held.booking_id}", json={"room_number": "101"})
    assert r.status_code == 409
    assert (await client.put(f"/internal/hotels/{slug}/assignments/BK-NONE", json={"room_number": "101"})).status_code == 404


async def test_back_to_back_stays_share_a_room(client, db):
    slug = await make_hotel(client, rooms=2)
    early, late = await committed(db, slug, 30, 2), await committed(db, slug, 32, 2)  # check-out day = check-in day
    for booking in (early, late):
        r = await client.put(f"/internal/hotels/{slug}/assignments/{booking}", json={"room_number": "101"})
        assert r.status_code == 200, r.text
