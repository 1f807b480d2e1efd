"""Staff accounts through the admin API (issue 14): list, disable, change role and hotels, change
one's own password; a token issued before such a change stops working within seconds."""

from __future__ import annotations

import asyncio
import itertools
import os
import time

_n = itertools.count(1)
PASSWORD = "a-long-enough-password"


async def new_staff(http, desk, role: str, hotels: list[str]) -> tuple[str, str, dict]:
    email = f"sec-{role.lower()}-{next(_n)}-{os.getpid()}@hotelmate.test"
    created = await http.post("/api/v1/admin/staff", headers=desk.headers,
                              json={"email": email, "password": PASSWORD, "role": role, "hotels": hotels})
    assert created.status_code == 201, created.text
    return created.json()["id"], email, await sign_in(http, email, PASSWORD)


def fresh_address() -> str:
    n = next(_n)
    return f"10.88.{n // 256 % 256}.{n % 256}"


async def sign_in(http, email: str, password: str) -> dict:
    answer = await http.post("/api/v1/auth/token", json={"email": email, "password": password},
                             headers={"X-Forwarded-For": fresh_address()})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def refused_within(http, path: str, headers: dict, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while (status := (await http.get(path, headers=headers)).status_code) != 401:
        assert time.monotonic() < deadline, f"the old token still answers {status}"
        await asyncio.sleep(0.2)


async def test_an_admin_lists_and_disables_an_account(http, desk, open_hotel):
    hotel = await open_hotel("sec-staff-1")
    account, email, token = await new_staff(http, desk, "MANAGER", [hotel])
    bookings = f"/api/v1/staff/hotels/{hotel}/bookings"
    assert (await http.get(bookings, headers=token)).status_code == 200
    listed = await http.get("/api/v1/admin/staff", headers=desk.headers)
    assert listed.status_code == 200
    mine = next(a for a in listed.json()["items"] if a["id"] == account)
    assert mine["email"] == email and mine["disabled"] is False and "password_hash" not in mine
    assert (await http.get("/api/v1/admin/staff", headers=token)).status_code == 403
    disabled = await http.patch(f"/api/v1/admin/staff/{account}", headers=desk.headers, json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    await refused_within(http, bookings, token)
    again = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD},
                            headers={"X-Forwarded-For": fresh_address()})
    assert again.status_code == 401


async def test_a_role_or_hotel_change_ends_older_tokens(http, desk, open_hotel):
    hotel, other = await open_hotel("sec-staff-2"), await open_hotel("sec-staff-3")
    account, email, token = await new_staff(http, desk, "MANAGER", [hotel])
    changed = await http.patch(f"/api/v1/admin/staff/{account}", headers=desk.headers,
                               json={"role": "RECEPTIONIST", "hotels": [other]})
    assert changed.status_code == 200 and changed.json()["role"] == "RECEPTIONIST"
    await refused_within(http, f"/api/v1/staff/hotels/{hotel}/bookings", token)
    fresh = await sign_in(http, email, PASSWORD)
    assert (await http.get(f"/api/v1/staff/hotels/{hotel}/bookings", headers=fresh)).status_code == 404
    assert (await http.get(f"/api/v1/staff/hotels/{other}/bookings", headers=fresh)).status_code == 200


async def test_staff_change_their_own_password(http, desk, open_hotel):
    hotel = await open_hotel("sec-staff-4")
    _, email, token = await new_staff(http, desk, "RECEPTIONIST", [hotel])
    wrong = await http.put("/api/v1/auth/password", headers=token,
                           json={"current_password": "not-it", "new_password": "another-long-password"})
    assert wrong.status_code == 401
    changed = await http.put("/api/v1/auth/password", headers=token,
                             json={"current_password": PASSWORD, "new_password": "another-long-password"})
    assert changed.status_code == 204, changed.text
    await refused_within(http, f"/api/v1/staff/hotels/{hotel}/bookings", token)
    old = await http.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD},
                          headers={"X-Forwarded-For": fresh_address()})
    assert old.status_code == 401
    await sign_in(http, email, "another-long-password")


async def test_the_last_admin_cannot_be_disabled(http, desk):
    listed = (await http.get("/api/v1/admin/staff", headers=desk.headers)).json()["items"]
    admins = [a for a in listed if a["role"] == "ADMIN" and not a["disabled"]]
    if len(admins) == 1:
        answer = await http.patch(f"/api/v1/admin/staff/{admins[0]['id']}", headers=desk.headers,
                                  json={"disabled": True})
        assert answer.status_code == 409
