"""Input (issue 14): a NUL or a control character anywhere is a 422, never a 500; names are one line;
oversized bodies are 413 on every method, chunked included. Through the gateway and at each port."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hotelmate_devtools.signing import assertion_headers

NUL = "\x00"


def booking(hotel: str, **changes) -> dict:
    check_in = date.today() + timedelta(days=30)
    body = {"room_type": "DBL", "check_in": str(check_in), "check_out": str(check_in + timedelta(days=2)),
            "adults": 2, "children": 0,
            "booker": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.test"}}
    booker = changes.pop("booker", {})
    body.update(changes)
    body["booker"].update(booker)
    return body


BAD_BOOKINGS = {
    "nul in a name": {"booker": {"first_name": f"Ada{NUL}"}},
    "nul in a promo code": {"promo_code": f"WELCOME{NUL}"},
    "nul in a room type": {"room_type": f"DBL{NUL}"},
    "line break in a name": {"booker": {"last_name": "Lovelace\r\nBcc: everyone@example.test"}},
    "escape in a name": {"booker": {"first_name": "Ada\x1b[31m"}},
    "overlong name": {"booker": {"first_name": "A" * 101}},
    "nul in special requests": {"special_requests": f"quiet{NUL}room"},
}


@pytest.mark.parametrize("case", sorted(BAD_BOOKINGS))
async def test_bad_text_in_a_booking_is_422_through_the_gateway_and_at_booking(case, http, direct, open_hotel):
    hotel = await open_hotel("sec-input-1")
    body = booking(hotel, **{k: (dict(v) if isinstance(v, dict) else v) for k, v in BAD_BOOKINGS[case].items()})
    for client in (http, direct("booking")):
        answer = await client.post(f"/api/v1/hotels/{hotel}/bookings", json=body)
        assert answer.status_code == 422, f"{case}: {answer.status_code} {answer.text}"
        assert answer.headers["content-type"].startswith("application/problem+json")
    listed = await http.get(f"/api/v1/hotels/{hotel}/availability",
                            params={"check_in": body["check_in"], "check_out": body["check_out"], "adults": 2})
    assert listed.status_code == 200  # nothing was held


async def test_nul_in_queries_paths_and_sign_in_is_422(http, desk, direct, open_hotel):
    hotel = await open_hotel("sec-input-2")
    staff = f"/api/v1/staff/hotels/{hotel}/bookings"
    assert (await http.get(staff, params={"q": f"ada{NUL}"}, headers=desk.headers)).status_code == 422
    assert (await http.get(staff, params={"cursor": f"x{NUL}"}, headers=desk.headers)).status_code == 422
    assert (await http.get(f"/api/v1/hotels/{hotel}/bookings/BK%001")).status_code == 422
    assert (await http.post("/api/v1/auth/token", json={"email": f"a{NUL}@b.test", "password": "x"})).status_code == 422
    signed = assertion_headers(staff_id="s", role="ADMIN")
    assert (await direct("booking").get(staff, params={"q": f"ada{NUL}"}, headers=signed)).status_code == 422
    quote = {"room_type": "DBL", "check_in": str(date.today() + timedelta(days=30)),
             "check_out": str(date.today() + timedelta(days=31)), "adults": 1, "promo_code": f"X{NUL}"}
    assert (await direct("inventory").post(f"/api/v1/hotels/{hotel}/quotes", json=quote)).status_code == 422
    assert (await direct("notifications").get(f"/api/v1/staff/hotels/{hotel}/notifications",
                                              params={"cursor": NUL}, headers=signed)).status_code == 422


async def test_control_characters_in_catalogue_names_are_422(desk, http, open_hotel):
    hotel = await open_hotel("sec-input-3")
    for name in ("Suite\nBcc: x@example.test", "Suite\x07", f"Suite{NUL}"):
        answer = await http.put(f"/api/v1/staff/hotels/{hotel}/room-types/STE", headers=desk.headers,
                                json={"name": name, "max_adults": 2, "max_children": 0, "base_rate": "200.00"})
        assert answer.status_code == 422, f"{name!r}: {answer.status_code} {answer.text}"


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST", "PUT"])
async def test_oversized_bodies_are_413_on_every_method(method, http, direct, open_hotel):
    hotel = await open_hotel("sec-input-4")
    big = b"{" + b" " * (1_100_000) + b"}"

    async def chunks():
        for _ in range(11):
            yield b" " * 100_000
    for client in (http, direct("inventory"), direct("booking")):
        path = f"/api/v1/hotels/{hotel}"
        answer = await client.request(method, path, content=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, f"{method} {client.base_url}: {answer.status_code}"
        chunked = await client.request(method, path, content=chunks(), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413, f"chunked {method} {client.base_url}: {chunked.status_code}"
