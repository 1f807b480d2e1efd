"""The saga's timeouts end to end (holds that lapse, approval deadlines): every service a separate
process, the Stripe emulator, all through the gateway. This system keeps authorisations for only a
few seconds, so the approval deadline lapses within the test."""

import re

import httpx
import pytest

from hotelmate_devtools.testing import system_fixture
from hotelmate_devtools.waiting import eventually

from hotelmate_devtools.flows.booking import GOOD_CARD, Desk, Guest, events_handled

NAMES = ["stripe-emulator", "inventory", "booking", "payments", "gateway"]
ENV = {
    "HOTELMATE_SWEEP_SECONDS": "0.5",
    "HOTELMATE_BOOKING_AUTHORISATION_MAX_HOURS": "0.003",  # about 11 seconds
    "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000",
    "HOTELMATE_GATEWAY_PUBLIC_BURST": "100000",
    "STRIPE_EMULATOR_WEBHOOK_RETRY_DELAYS": "1,2",  # Stripe retries for days; here every 2 s
    "STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS": "100",
}


system = system_fixture(NAMES, env=ENV)


@pytest.fixture
async def stripe(system):
    async with httpx.AsyncClient(base_url=system.layout.url("stripe-emulator"), timeout=10) as client:
        yield client


async def intent_status(stripe: httpx.AsyncClient, intent: str) -> str:
    answer = await stripe.get(f"/v1/payment_intents/{intent}", headers={"Authorization": "Bearer sk_test_emulator"})
    return answer.json()["status"]


async def test_approval_deadline_lapses_expires_the_booking_and_voids_the_card(http, stripe):
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel("dl-rome", rooms=1, tz="Europe/Rome")
    guest = Guest(http, "dl-rome", tz="Europe/Rome")
    await guest.book(days_ahead=3)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    await guest.pay(view["payment"]["checkout_url"], GOOD_CARD)
    view = await guest.wait_for("PENDING_APPROVAL")
    assert view["approval_deadline"], "the guest sees when the hotel must decide"
    await guest.wait_for("EXPIRED", timeout=40)  # nobody decided in time
    # under load a Stripe call may time out and go round the payments retry ladder (0.5 s, 2 s, 10 s, 30 s)
    assert await eventually(lambda: _payment_is(guest, "VOIDED"), timeout=90, interval=0.2), await desk.detail("dl-rome", guest.booking_id)
    assert (await desk.act("dl-rome", guest.booking_id, "approve")).status_code == 409, "too late to approve"
    detail = await desk.detail("dl-rome", guest.booking_id)
    assert [t["to"] for t in detail["timeline"]][-1] == "EXPIRED"
    second = Guest(http, "dl-rome", tz="Europe/Rome")  # the only room is on sale again
    await second.book(days_ahead=3)
    await second.wait_for("PENDING_PAYMENT", checkout=True)


@pytest.mark.long
async def test_unpaid_holds_expire_and_a_payment_arriving_after_expiry_is_voided(http, stripe, system):
    # Two guests' one-minute holds lapse side by side (a hold lasts at least a minute: one wait
    # serves both): one never pays, and the hotel's only room is on sale again; the other pays while
    # the payments service is down, and its late authorisation is voided, the booking stays EXPIRED.
    desk = Desk(http)
    await desk.login()
    await desk.open_hotel("dl-oslo", rooms=1, tz="Europe/Oslo", hold_minutes=1)
    await desk.open_hotel("dl-quick", rooms=1, hold_minutes=1)
    unpaid = Guest(http, "dl-quick")
    await unpaid.book(days_ahead=2)
    guest = Guest(http, "dl-oslo", tz="Europe/Oslo")
    await guest.book(days_ahead=4)
    await unpaid.wait_for("PENDING_PAYMENT", checkout=True)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    session = re.search(r"cs_[A-Za-z0-9_]+", view["payment"]["checkout_url"]).group(0)
    # The guest pays while the payments service is down: Stripe's webhook cannot get through.
    system.processes["payments"].stop()
    paid = await stripe.post(f"/_emulator/checkout/sessions/{session}/pay", json={"card_number": GOOD_CARD})
    assert paid.status_code == 200, paid.text
    intent = paid.json()["payment_intent"]["id"]
    assert await intent_status(stripe, intent) == "requires_capture"
    await guest.wait_for("EXPIRED", timeout=90)  # the hold lapses unpaid, as far as HotelMate knows
    await unpaid.wait_for("EXPIRED", timeout=90)  # one minute's hold, then one sweep
    system.restart("payments")  # now Stripe's retried webhook arrives, late
    assert await eventually(lambda: _intent_is(stripe, intent, "canceled"), timeout=40, interval=0.2), "the late authorisation is voided"
    # every payments event of the booking handled by booking: a revival would have happened by now
    assert await eventually(lambda: events_handled(guest.booking_id, "payments", "booking", PAYMENT_EVENTS), timeout=60)
    view = await guest.view()
    assert view["status"] == "EXPIRED", "a late payment never revives the booking"
    assert view["payment"]["status"] != "CAPTURED"

    second = Guest(http, "dl-quick")  # the unpaid guest's room is free again
    await second.book(days_ahead=2)
    await second.wait_for("PENDING_PAYMENT", checkout=True)


PAYMENT_EVENTS = ("payments.checkout_created", "payments.payment_authorized", "payments.payment_failed",
                  "payments.payment_captured", "payments.payment_voided", "payments.payment_refunded")


async def _payment_is(guest: Guest, status: str) -> bool:
    return (await guest.view())["payment"]["status"] == status


async def _intent_is(stripe: httpx.AsyncClient, intent: str, status: str) -> bool:
    return await intent_status(stripe, intent) == status
