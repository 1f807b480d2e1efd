"""The guest's long poll through the gateway: ``GET …/bookings/{id}?wait_for=STATUS[,STATUS]&timeout=S``
answers as soon as the booking reaches one of the statuses, or at the timeout with the current view."""

import asyncio

import pytest

from hotelmate_devtools.testing import system_fixture

from hotelmate_devtools.flows.booking import Guest, module_desk

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
HOTEL = "lp-vienna"

# The gateway's ordinary upstream timeout is shorter than the waits below: a long poll gets its own.
system = system_fixture(NAMES, env={"HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000",
                                    "HOTELMATE_GATEWAY_UPSTREAM_TIMEOUT_SECONDS": "3"})

_LOGIN: dict = {}


@pytest.fixture
async def desk(http):
    return await module_desk(http, HOTEL, _LOGIN, rooms=3)


async def long_poll(guest: Guest, wait_for: str, timeout: float, token: str | None = None):
    return await guest.client.get(f"/api/v1/hotels/{guest.hotel}/bookings/{guest.booking_id}",
                                  params={"wait_for": wait_for, "timeout": timeout},
                                  headers={"Authorization": f"Bearer {token or guest.token}"}, timeout=60)


async def test_a_long_poll_answers_when_the_booking_reaches_a_status(http, desk):
    guest = Guest(http, HOTEL)
    await guest.book(days_ahead=5)
    first = await long_poll(guest, "PENDING_PAYMENT,PENDING_APPROVAL", 25)
    assert first.status_code == 200 and first.json()["status"] == "PENDING_PAYMENT"
    checkout_url = first.json()["payment"]["checkout_url"]
    # Waiting from before the payment: woken by the change, not by a poll of the guest's.
    waiting = asyncio.create_task(long_poll(guest, "PENDING_APPROVAL", 25))
    await guest.pay(checkout_url)
    answer = await waiting
    assert answer.status_code == 200 and answer.json()["status"] == "PENDING_APPROVAL"
    waiting = asyncio.create_task(long_poll(guest, "CONFIRMED,DECLINED", 25))
    assert (await desk.act(HOTEL, guest.booking_id, "approve")).status_code == 202
    assert (await waiting).json()["status"] == "CONFIRMED"


async def test_a_long_poll_answers_the_current_view_at_its_timeout(http, desk):
    guest = Guest(http, HOTEL)
    await guest.book(days_ahead=6)
    await guest.wait_for("PENDING_PAYMENT", checkout=True)
    # Longer than the gateway's ordinary upstream timeout (3 s here): still the view, not a 504.
    answer = await long_poll(guest, "CONFIRMED", 4)
    assert answer.status_code == 200 and answer.json()["status"] == "PENDING_PAYMENT"
    assert answer.json()["booking_id"] == guest.booking_id


async def test_a_reached_status_answers_at_once_and_plain_views_still_work(http, desk):
    guest = Guest(http, HOTEL)
    await guest.book(days_ahead=7)
    await guest.wait_for("PENDING_PAYMENT", checkout=True)
    assert (await long_poll(guest, "REQUESTED,PENDING_PAYMENT", 30)).json()["status"] == "PENDING_PAYMENT"
    assert (await guest.view())["status"] == "PENDING_PAYMENT"


@pytest.mark.parametrize("params, field", [
    ({"wait_for": "PAID"}, "wait_for"),
    ({"wait_for": "CONFIRMED,nope"}, "wait_for"),
    ({"wait_for": ""}, "wait_for"),
    ({"wait_for": "CONFIRMED", "timeout": "soon"}, "timeout"),
    ({"wait_for": "CONFIRMED", "timeout": "31"}, "timeout"),
    ({"wait_for": "CONFIRMED", "timeout": "-1"}, "timeout"),
    ({"timeout": "5"}, "timeout"),
])
async def test_a_bad_wait_is_a_422_problem(http, desk, params, field):
    guest = Guest(http, HOTEL)
    await guest.book(days_ahead=8)
    answer = await http.get(f"/api/v1/hotels/{HOTEL}/bookings/{guest.booking_id}", params=params,
                            headers={"Authorization": f"Bearer {guest.token}"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == field


async def test_a_long_poll_needs_the_guest_token(http, desk):
    guest = Guest(http, HOTEL)
    await guest.book(days_ahead=9)
    assert (await long_poll(guest, "CONFIRMED", 5, token="not-the-token")).status_code == 404
