"""The booking saga end to end: every service a separate process on real PostgreSQL and RabbitMQ,
the Stripe emulator, everything through the gateway."""

import asyncio
import os
import re
import sys

import httpx
import pytest

from hotelmate_devtools.testing import system_fixture
from hotelmate_devtools.waiting import eventually

from hotelmate_devtools.flows.booking import BAD_CARD, Guest, check_invariants, emails_settled, module_desk

NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]


system = system_fixture(NAMES, env={
    "HOTELMATE_SWEEP_SECONDS": "0.5", "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000"})


_LOGIN: dict = {}  # the gateway rate-limits logins: one per module


@pytest.fixture
async def desk(http):
    return await module_desk(http, "e2e-paris", _LOGIN, rooms=3)


async def confirmed(http, desk) -> Guest:
    guest = Guest(http, "e2e-paris")
    await guest.book()
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"])
    await guest.wait_for("PENDING_APPROVAL")
    assert (await desk.act("e2e-paris", guest.booking_id, "approve")).status_code == 202
    await guest.wait_for("CONFIRMED")
    return guest


async def test_happy_path_to_checked_out(http, desk):
    guest = await confirmed(http, desk)
    room = await http.put(f"/api/v1/staff/hotels/e2e-paris/bookings/{guest.booking_id}/room",
                          json={"room_number": "101"}, headers=desk.headers)
    assert room.status_code == 200, room.text
    assert (await desk.act("e2e-paris", guest.booking_id, "check-in")).status_code == 200
    assert (await desk.act("e2e-paris", guest.booking_id, "check-out")).status_code == 200
    detail = await desk.detail("e2e-paris", guest.booking_id)
    assert detail["status"] == "CHECKED_OUT" and detail["payment"]["status"] == "CAPTURED"


async def test_decline_voids(http, desk):
    guest = Guest(http, "e2e-paris")
    await guest.book(days_ahead=5)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"])
    await guest.wait_for("PENDING_APPROVAL")
    assert (await desk.act("e2e-paris", guest.booking_id, "decline", {"reason_code": "FULL"})).status_code == 202
    await guest.wait_for("DECLINED")
    assert await eventually(lambda: _payment_is(guest, "VOIDED"))


async def test_declined_card_can_be_retried(http, desk):
    guest = Guest(http, "e2e-paris")
    await guest.book(days_ahead=6)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"], BAD_CARD)
    await guest.pay(view["payment"]["checkout_url"])
    await guest.wait_for("PENDING_APPROVAL")


async def test_sold_out_is_unavailable(http, desk):
    await desk.open_hotel("e2e-tiny", rooms=1)
    first, second = Guest(http, "e2e-tiny"), Guest(http, "e2e-tiny")
    await first.book(days_ahead=10)
    await first.wait_for("PENDING_PAYMENT", checkout=True)
    await second.book(days_ahead=10)
    await second.wait_for("UNAVAILABLE")


async def test_guest_cancel_after_capture_keeps_the_first_night(http, desk):
    guest = await confirmed(http, desk)
    auth = {"Authorization": f"Bearer {guest.token}"}
    terms = (await http.get(f"/api/v1/hotels/e2e-paris/bookings/{guest.booking_id}/cancellation-quote", headers=auth)).json()
    assert terms["fee"]["amount"] != "0.00"
    assert (await http.post(f"/api/v1/hotels/e2e-paris/bookings/{guest.booking_id}/cancel", headers=auth)).status_code == 202
    await guest.wait_for("CANCELLED")


async def test_guest_cancel_before_capture_voids(http, desk):
    guest = Guest(http, "e2e-paris")
    await guest.book(days_ahead=7)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"])
    await guest.wait_for("PENDING_APPROVAL")
    auth = {"Authorization": f"Bearer {guest.token}"}
    terms = (await http.get(f"/api/v1/hotels/e2e-paris/bookings/{guest.booking_id}/cancellation-quote", headers=auth)).json()
    assert terms["fee"]["amount"] == "0.00"
    assert (await http.post(f"/api/v1/hotels/e2e-paris/bookings/{guest.booking_id}/cancel", headers=auth)).status_code == 202
    await guest.wait_for("CANCELLED")
    assert await eventually(lambda: _payment_is(guest, "VOIDED"))


async def test_capture_failure_is_payment_failed_and_released(http, desk, system):
    guest = Guest(http, "e2e-paris")
    await guest.book(days_ahead=8)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    session = re.search(r"cs_[A-Za-z0-9_]+", view["payment"]["checkout_url"]).group(0)
    emulator = system.layout.url("stripe-emulator")
    async with httpx.AsyncClient(base_url=emulator, timeout=10) as stripe:
        paid = await stripe.post(f"/_emulator/checkout/sessions/{session}/pay", json={"card_number": "4242424242424242"})
        assert paid.status_code == 200, paid.text
        await guest.wait_for("PENDING_APPROVAL")
        intent = paid.json()["payment_intent"]["id"]
        assert (await stripe.post(f"/_emulator/payment_intents/{intent}/expire_authorization",
                                  json={"cancel": False})).status_code == 200
    assert (await desk.act("e2e-paris", guest.booking_id, "approve")).status_code == 202
    await guest.wait_for("PAYMENT_FAILED")


async def _payment_is(guest: Guest, status: str) -> bool:
    return (await guest.view())["payment"]["status"] == status


async def _reconcile(system, hotels: list[str], outputs: list[str]) -> bool:
    env = {**os.environ, "HOTELMATE_INVENTORY_URL": system.layout.url("inventory"),
           "HOTELMATE_PAYMENTS_URL": system.layout.url("payments")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "booking.reconcile", "--grace-seconds", "2",
                                                *[a for h in hotels for a in ("--hotel", h)],
                                                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    outputs.append((out + err).decode())
    return proc.returncode == 0


async def test_at_rest_reconcile_finds_no_drift_and_the_invariants_hold(http, desk, system):
    # A booking of its own, so the checks never run on nothing, whichever tests ran before it.
    await confirmed(http, desk)
    hotels = ["e2e-paris", "e2e-tiny"]
    outputs: list[str] = []
    # The last messages may still be settling: drift that lasts past the wait is real.
    assert await eventually(lambda: _reconcile(system, hotels, outputs), timeout=60, interval=1), outputs[-1]
    code, output = await check_invariants(system, hotels)
    assert code == 0, output


async def _emails_for(system, booking_id: str, count: int, timeout: float = 30) -> list[dict]:
    """The sink's emails about ``booking_id``, oldest first, once at least ``count`` have arrived."""
    sink = f"http://127.0.0.1:{system.layout.ports['smtp-sink-web']}/api/messages"
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            mails = [m for m in (await client.get(sink)).json() if booking_id in m["subject"]]
            if len(mails) >= count or asyncio.get_running_loop().time() > deadline:
                return sorted(mails, key=lambda m: m["id"])
            await asyncio.sleep(0.2)


async def test_one_booking_to_confirmation_sends_the_expected_emails(http, desk, system):
    guest = await confirmed(http, desk)
    await _emails_for(system, guest.booking_id, 4)
    # every event of the booking handled and every email of it sent: a stray duplicate would be in the sink now
    assert await eventually(lambda: emails_settled(guest.booking_id), timeout=60, interval=0.2)
    mails = await _emails_for(system, guest.booking_id, 4)
    subjects = [m["subject"] for m in mails]
    assert len(mails) == 4, subjects
    assert "we received your booking" in subjects[0] and "ada@example.test" in mails[0]["to"]
    # Authorisation tells the guest and the desk at once; those two may arrive in either order.
    assert {(("guest" if "ada@example.test" in m["to"] else "desk"), m["subject"].split(":")[0].split(" booking")[0])
            for m in mails[1:3]} == {("guest", "Hotel e2e-paris"), ("desk", "Approval needed")}
    assert any("awaits the hotel's approval" in s for s in subjects[1:3])
    assert "is confirmed" in subjects[3] and "ada@example.test" in mails[3]["to"]
    staff = next(m for m in mails if m["subject"].startswith("Approval needed"))
    assert "desk@e2e-paris.test" in staff["to"]
    assert "200.00" in mails[3]["text"], "the confirmation states the amount charged"
    assert "#guest_token=" in mails[0]["text"], "the booking-received email carries the guest's portal link"
    assert all("#guest_token=" not in m["text"] for m in mails[1:]), "the link is in no other email"
    # the link carries a token booking minted at send time, never the guest's own (docs/SECURITY.md)
    assert all(guest.token not in m["text"] for m in mails), "the guest's own token is in no email"
