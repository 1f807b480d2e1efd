"""Booking with the real inventory and gateway as separate processes; the test plays payments on
the bus (so these run before, and independently of, the payments service)."""

import asyncio
import os
import sys
from datetime import datetime, timezone

import pytest

from hotelmate_contracts import CheckoutCreated, PaymentAuthorized, PaymentCaptured
from hotelmate_devtools.testing import system_fixture

from hotelmate_devtools.flows.booking import Desk, Guest, PaymentsOnTheBus

system = system_fixture(["inventory", "booking", "gateway"], env={
    "HOTELMATE_SWEEP_SECONDS": "0.5", "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000"})


@pytest.fixture
async def payments(platform_settings):
    probe = PaymentsOnTheBus(platform_settings.amqp_url, platform_settings.bus_namespace)
    await probe.start()
    yield probe
    await probe.stop()


async def test_happy_path_with_real_inventory(http, payments, system):
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel("inv-paris", rooms=2)
    guest = Guest(http, "inv-paris")
    await guest.book()
    checkout = await payments.command(guest.booking_id, "payments.request_checkout")
    assert checkout["amount"] == {"amount": "200.00", "currency": "EUR"}
    await payments.publish(CheckoutCreated(booking_id=guest.booking_id, checkout_url="https://pay.test/c/1",
                                           expires_at=checkout["expires_at"]))
    await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await payments.publish(PaymentAuthorized(booking_id=guest.booking_id, amount=checkout["amount"],
                                             authorized_at=datetime.now(timezone.utc)))
    await guest.wait_for("PENDING_APPROVAL")
    assert (await desk.act("inv-paris", guest.booking_id, "approve")).status_code == 202
    await payments.command(guest.booking_id, "payments.capture_payment")
    await payments.publish(PaymentCaptured(booking_id=guest.booking_id, amount=checkout["amount"]))
    await guest.wait_for("CONFIRMED")
    room = f"/api/v1/staff/hotels/inv-paris/bookings/{guest.booking_id}/room"
    for _ in range(50):  # the hold is committed by inventory asynchronously
        answer = await http.put(room, json={"room_number": "101"}, headers=desk.headers)
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert (await desk.act("inv-paris", guest.booking_id, "check-in")).status_code == 200
    assert (await desk.act("inv-paris", guest.booking_id, "check-out")).status_code == 200
    env = {**os.environ, "HOTELMATE_INVENTORY_URL": system.layout.url("inventory"),
           "HOTELMATE_PAYMENTS_URL": system.layout.url("payments")}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "booking.reconcile", "--grace-seconds", "0",
                                                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 2, out + err  # payments is not running: said so, not a false "no drift"


async def test_sold_out_with_real_inventory(http):
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel("inv-tiny", rooms=1)
    first, second = Guest(http, "inv-tiny"), Guest(http, "inv-tiny")
    await first.book(days_ahead=4)
    await second.book(days_ahead=4)
    await second.wait_for("UNAVAILABLE")
    assert (await first.view())["status"] == "REQUESTED"
