"""Anonymous abuse (issue 14): one booker email cannot hold more than the cap of unpaid bookings at a
hotel (2 in this folder's system), through the gateway or at booking's port."""

from __future__ import annotations

import uuid
from datetime import date, timedelta


def body(email: str, days_ahead: int) -> dict:
    check_in = date.today() + timedelta(days=days_ahead)
    return {"room_type": "DBL", "check_in": str(check_in), "check_out": str(check_in + timedelta(days=1)),
            "adults": 1, "booker": {"first_name": "Mallory", "last_name": "Holds", "email": email}}


async def test_unpaid_holds_per_booker_email_are_capped(http, direct, open_hotel):
    hotel, other_hotel = await open_hotel("sec-abuse-1", rooms=6), await open_hotel("sec-abuse-2")
    email = f"mallory-{uuid.uuid4().hex[:8]}@example.test"
    path = f"/api/v1/hotels/{hotel}/bookings"
    first = await http.post(path, json=body(email, 40))
    key = str(uuid.uuid4())
    second = await http.post(path, json=body(email, 41), headers={"Idempotency-Key": key})
    assert (first.status_code, second.status_code) == (202, 202), second.text
    third = await http.post(path, json=body(email, 42))
    assert third.status_code == 429, third.text
    assert third.headers["content-type"].startswith("application/problem+json")
    assert (await direct("booking").post(path, json=body(email.upper(), 43))).status_code == 429
    retried = await http.post(path, json=body(email, 41), headers={"Idempotency-Key": key})
    assert retried.status_code == 202 and retried.json()["booking_id"] == second.json()["booking_id"]
    assert (await http.post(path, json=body(f"someone-{email}", 42))).status_code == 202
    assert (await http.post(f"/api/v1/hotels/{other_hotel}/bookings", json=body(email, 42))).status_code == 202


async def test_unpaid_holds_per_client_address_are_capped(http, direct, open_hotel):
    """4 in this folder's system: a fifth unpaid booking from one address, under any email, is 429."""
    hotel, other_hotel = await open_hotel("sec-abuse-3", rooms=8), await open_hotel("sec-abuse-2")
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    tag = uuid.uuid4().hex[:8]
    path = f"/api/v1/hotels/{hotel}/bookings"
    from_address = {"X-Forwarded-For": address}
    key = str(uuid.uuid4())
    placed = [await http.post(path, json=body(f"m{n}-{tag}@example.test", 40 + n),
                              headers={**from_address, "Idempotency-Key": key} if n == 0 else from_address)
              for n in range(4)]
    assert [p.status_code for p in placed] == [202] * 4, placed[-1].text
    refused = await http.post(path, json=body(f"m5-{tag}@example.test", 45), headers=from_address)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    retried = await http.post(path, json=body(f"m0-{tag}@example.test", 40),
                              headers={**from_address, "Idempotency-Key": key})
    assert retried.status_code == 202 and retried.json()["booking_id"] == placed[0].json()["booking_id"]
    other_address = {"X-Forwarded-For": "192.0.2.77"}
    assert (await http.post(path, json=body(f"o-{tag}@example.test", 46), headers=other_address)).status_code == 202
    assert (await http.post(f"/api/v1/hotels/{other_hotel}/bookings", json=body(f"m6-{tag}@example.test", 46),
                            headers=from_address)).status_code == 202


async def test_a_forged_forwarded_for_does_not_escape_the_address_cap(direct, open_hotel):
    """Straight at booking's port nobody vouches for X-Forwarded-For: the connection's address counts."""
    hotel = await open_hotel("sec-abuse-4", rooms=8)
    booking, tag = direct("booking"), uuid.uuid4().hex[:8]
    answers = [await booking.post(f"/api/v1/hotels/{hotel}/bookings", json=body(f"f{n}-{tag}@example.test", 40 + n),
                                  headers={"X-Forwarded-For": f"203.0.113.{n + 1}"}) for n in range(5)]
    assert [a.status_code for a in answers] == [202] * 4 + [429], answers[-1].text
