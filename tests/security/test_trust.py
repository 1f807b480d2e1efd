"""Services believe only the gateway's signed assertion (issue 14): a caller that reaches a service's
port cannot claim a staff identity with headers, change prices, or use the /internal APIs."""

from __future__ import annotations

import time

from hotelmate_devtools.signing import assertion_headers
from hotelmate_platform import trust

SPOOFED_MANAGER = {"X-HotelMate-Staff-Id": "intruder", "X-HotelMate-Staff-Role": "ADMIN"}


async def test_booking_ignores_client_set_staff_headers(direct, open_hotel):
    hotel = await open_hotel("sec-trust-1")
    answer = await direct("booking").get(f"/api/v1/staff/hotels/{hotel}/bookings", headers=SPOOFED_MANAGER)
    assert answer.status_code == 401, answer.text


async def test_inventory_staff_routes_need_the_gateway(direct, open_hotel):
    hotel = await open_hotel("sec-trust-2")
    inventory = direct("inventory")
    for headers in ({}, SPOOFED_MANAGER):
        answer = await inventory.put(f"/api/v1/staff/hotels/{hotel}/room-types/DBL", headers=headers,
                                     json={"name": "Free suite", "max_adults": 2, "max_children": 1, "base_rate": "0.01"})
        assert answer.status_code == 401, answer.text
    public = (await inventory.get(f"/api/v1/hotels/{hotel}")).json()
    assert all(t["name"] != "Free suite" for t in public["room_types"])


async def test_notifications_staff_log_needs_the_gateway(direct, open_hotel):
    hotel = await open_hotel("sec-trust-3")
    answer = await direct("notifications").get(f"/api/v1/staff/hotels/{hotel}/notifications", headers=SPOOFED_MANAGER)
    assert answer.status_code == 401, answer.text


async def test_internal_apis_need_a_service_assertion(direct):
    assert (await direct("inventory").get("/internal/holds", params={"booking_ids": "BK-1"})).status_code == 401
    assert (await direct("inventory").put("/internal/hotels/h/assignments/BK-1", json={"room_number": "101"})
            ).status_code == 401
    assert (await direct("payments").get("/internal/payments/BK-1")).status_code == 401
    assert (await direct("payments").get("/internal/payments", params={"booking_ids": "BK-1"})).status_code == 401
    signed = await direct("payments").get("/internal/payments/BK-1", headers=assertion_headers(caller="booking"))
    assert signed.status_code in (200, 404), signed.text


async def test_forged_expired_and_foreign_assertions_are_refused(direct, open_hotel):
    hotel = await open_hotel("sec-trust-4")
    booking = direct("booking")
    path = f"/api/v1/staff/hotels/{hotel}/bookings"
    forged = trust.sign("not-the-service-secret-" * 2, "gateway", staff_id="x", role="ADMIN")
    expired = trust.sign(_key(), "gateway", staff_id="x", role="ADMIN", now=time.time() - 120)
    for token in (forged, expired, "not-a-jwt"):
        assert (await booking.get(path, headers={trust.HEADER: token})).status_code == 401
    other_hotel = assertion_headers(staff_id="x", role="MANAGER", hotels=["another-hotel"])
    assert (await booking.get(path, headers=other_hotel)).status_code == 404
    no_staff = assertion_headers()  # the gateway vouches for the request, but no staff member is behind it
    assert (await booking.get(path, headers=no_staff)).status_code == 401
    mine = assertion_headers(staff_id="x", role="RECEPTIONIST", hotels=[hotel])
    assert (await booking.get(path, headers=mine)).status_code == 200


async def test_through_the_gateway_staff_work_and_client_assertions_are_replaced(http, desk, open_hotel):
    hotel = await open_hotel("sec-trust-5")
    forged = trust.sign("not-the-service-secret-" * 2, "gateway", staff_id="x", role="ADMIN")
    answer = await http.get(f"/api/v1/staff/hotels/{hotel}/bookings", headers={**desk.headers, trust.HEADER: forged})
    assert answer.status_code == 200, answer.text
    anonymous = await http.get(f"/api/v1/staff/hotels/{hotel}/bookings", headers={trust.HEADER: forged, **SPOOFED_MANAGER})
    assert anonymous.status_code == 401


def _key() -> str:
    from hotelmate_devtools.signing import run_service_key
    return run_service_key()
