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
