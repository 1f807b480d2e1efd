"""Booking ids do not run out (issue 14): every request spends a number of the year's sequence,
which stopped at 999999; past it, booking failed for everyone until the new year. Now the numbers
grow past six digits and the bookings behind them work like any other."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hotelmate_platform.settings import PlatformSettings


async def spend_numbers_up_to(last: int) -> None:
    """As if ``last`` bookings had been requested this year (by guests or by a script)."""
    name = f"booking_number_{datetime.now(timezone.utc).year}"
    engine = create_async_engine(PlatformSettings().database_url("booking"))
    try:
        async with engine.begin() as connection:
            current = (await connection.execute(sa.text(f"SELECT last_value FROM {name}"))).scalar_one()
            if current < last:
                await connection.execute(sa.text("SELECT setval(:name, :last)"), {"name": name, "last": last})
    finally:
        await engine.dispose()


async def test_booking_numbers_go_past_999999(http, desk, open_hotel):
    hotel = await open_hotel("sec-ids", rooms=4)
    await spend_numbers_up_to(999_998)
    check_in = date.today() + timedelta(days=60)
    placed = []
    for n in range(3):
        answer = await http.post(f"/api/v1/hotels/{hotel}/bookings", json={
            "room_type": "DBL", "check_in": str(check_in + timedelta(days=n)),
            "check_out": str(check_in + timedelta(days=n + 1)), "adults": 1,
            "booker": {"first_name": "Seq", "last_name": "Ence", "email": f"seq-{uuid.uuid4().hex[:6]}@example.test"}})
        assert answer.status_code == 202, answer.text
        placed.append(answer.json())
    year = datetime.now(timezone.utc).year
    ids = [p["booking_id"] for p in placed]
    assert ids[0] == f"BK-{year}-999999" and ids[1:] == [f"BK-{year}-1000000", f"BK-{year}-1000001"]
    long_one = placed[2]
    view = await http.get(f"/api/v1/hotels/{hotel}/bookings/{long_one['booking_id']}",
                          headers={"Authorization": f"Bearer {long_one['guest_token']}"})
    assert view.status_code == 200 and view.json()["booking_id"] == long_one["booking_id"]
    staff = await http.get(f"/api/v1/staff/hotels/{hotel}/bookings/{long_one['booking_id']}", headers=desk.headers)
    assert staff.status_code == 200 and staff.json()["booking_id"] == long_one["booking_id"]
