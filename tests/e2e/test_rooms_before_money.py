"""Approval sells the rooms before the card is captured: a hold that lapsed while the booking
waited (inventory stopped past the hold margin, say) and whose last room went to another guest
ends in a voided card and an UNAVAILABLE booking, never in a captured booking without a room.
Every service a separate process, the Stripe emulator, all through the gateway."""

import asyncio
import re

import httpx
import pytest
from sqlalchemy import text

from hotelmate_devtools.testing import system_fixture
from hotelmate_devtools.waiting import eventually
from hotelmate_platform.db import Database

from hotelmate_devtools.flows.booking import GOOD_CARD, Desk, Guest, check_invariants

# Notifications runs too: without a consumer of booking's status messages they stay in its outbox
# (published mandatory), and the invariant checker rightly reports an undrained outbox.
NAMES = ["stripe-emulator", "smtp-sink", "inventory", "booking", "payments", "notifications", "gateway"]
# No sweeper round during the tests: a lapsed hold stays HELD until someone looks at it.
system = system_fixture(NAMES, env={"HOTELMATE_SWEEP_SECONDS": "3600",
                                    "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "100000",
                                    "HOTELMATE_GATEWAY_PUBLIC_BURST": "100000"})
STRIPE_KEY = {"Authorization": "Bearer sk_test_emulator"}


@pytest.fixture
async def desk(http):
    desk = Desk(http)
    await desk.login()
    return desk


@pytest.fixture
async def stripe(system):
    async with httpx.AsyncClient(base_url=system.layout.url("stripe-emulator"), timeout=10) as client:
        yield client


@pytest.fixture
async def inventory_db(platform_settings):
    db = Database(platform_settings.database_url("inventory"), pool_size=1, max_overflow=0)
    yield db
    await db.dispose()


async def authorised(guest: Guest, stripe: httpx.AsyncClient, *, days_ahead: int) -> str:
    """Book and pay; answers the PaymentIntent id."""
    await guest.book(days_ahead=days_ahead)
    view = await guest.wait_for("PENDING_PAYMENT", checkout=True)
    session = re.search(r"cs_[A-Za-z0-9_]+", view["payment"]["checkout_url"]).group(0)
    paid = await stripe.post(f"/_emulator/checkout/sessions/{session}/pay", json={"card_number": GOOD_CARD})
    assert paid.status_code == 200, paid.text
    await guest.wait_for("PENDING_APPROVAL")
    return paid.json()["payment_intent"]["id"]


async def lapse_hold(db: Database, booking_id: str) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(text("UPDATE holds SET expires_at = now() - interval '1 second' WHERE booking_id = :b"),
                              {"b": booking_id})


async def hold_status(db: Database, booking_id: str) -> str:
    async with db.sessions() as session:
        return (await session.execute(text("SELECT status FROM holds WHERE booking_id = :b"), {"b": booking_id})).scalar_one()


async def _intent_is(stripe: httpx.AsyncClient, intent: str, status: str) -> bool:
    return (await stripe.get(f"/v1/payment_intents/{intent}", headers=STRIPE_KEY)).json()["status"] == status


async def _hold_is(db: Database, booking_id: str, status: str) -> bool:
    return await hold_status(db, booking_id) == status


async def wait_payment(guest: Guest, status: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while (view := await guest.view())["payment"]["status"] != status:
        assert asyncio.get_running_loop().time() < deadline, f"payment is {view['payment']['status']}, not {status}"
        await asyncio.sleep(0.1)
    return view


# Hotels whose scenario has run in this module: the invariants test plants its violations in them,
# and runs a scenario itself when its test has not run (yet), so no test depends on the order.
_SCENARIOS_RUN: set[str] = set()


async def test_approval_after_the_last_room_went_elsewhere_voids_the_card(http, desk, stripe, inventory_db):
    await last_room_went_elsewhere(http, desk, stripe, inventory_db)


async def last_room_went_elsewhere(http, desk, stripe, inventory_db) -> None:
    await desk.open_hotel("race-one", rooms=1)
    first, second = Guest(http, "race-one"), Guest(http, "race-one")
    intent = await authorised(first, stripe, days_ahead=3)
    await lapse_hold(inventory_db, first.booking_id)
    await second.book(days_ahead=3)  # the lapsed hold no longer counts: the last room is the second's
    await second.wait_for("PENDING_PAYMENT", checkout=True)
    assert (await desk.act("race-one", first.booking_id, "approve")).status_code == 202
    await first.wait_for("UNAVAILABLE")
    await wait_payment(first, "VOIDED")
    assert (await stripe.get(f"/v1/payment_intents/{intent}", headers=STRIPE_KEY)).json()["status"] == "canceled"
    captures = (await stripe.get("/_emulator/requests", params={"path_prefix": f"/v1/payment_intents/{intent}/capture"}))
    assert captures.json()["data"] == []
    detail = await desk.detail("race-one", first.booking_id)
    assert any("no longer available" in (t["reason"] or "") and t["to"] == "UNAVAILABLE" for t in detail["timeline"])
    assert await hold_status(inventory_db, second.booking_id) == "HELD"
    _SCENARIOS_RUN.add("race-one")


async def test_approval_after_a_lapse_with_the_room_still_free_confirms(http, desk, stripe, inventory_db):
    await lapse_with_the_room_still_free(http, desk, stripe, inventory_db)


async def lapse_with_the_room_still_free(http, desk, stripe, inventory_db) -> None:
    await desk.open_hotel("race-two", rooms=1)
    guest = Guest(http, "race-two")
    await authorised(guest, stripe, days_ahead=3)
    await lapse_hold(inventory_db, guest.booking_id)
    assert (await desk.act("race-two", guest.booking_id, "approve")).status_code == 202
    await guest.wait_for("CONFIRMED")
    assert await hold_status(inventory_db, guest.booking_id) == "COMMITTED"
    assert (await guest.view())["payment"]["status"] == "CAPTURED"
    _SCENARIOS_RUN.add("race-two")


async def test_a_capture_refused_for_good_voids_the_authorisation(http, desk, stripe, inventory_db):
    await desk.open_hotel("race-three", rooms=2)
    guest = Guest(http, "race-three")
    intent = await authorised(guest, stripe, days_ahead=3)
    fault = {"path_prefix": f"/v1/payment_intents/{intent}/capture", "method": "POST", "status": 402, "times": 1}
    assert (await stripe.post("/_emulator/faults", json=fault)).status_code == 201
    assert (await desk.act("race-three", guest.booking_id, "approve")).status_code == 202
    await guest.wait_for("PAYMENT_FAILED")
    assert await eventually(lambda: _intent_is(stripe, intent, "canceled"))
    assert await eventually(lambda: _hold_is(inventory_db, guest.booking_id, "RELEASED"))


async def test_the_invariants_hold_and_a_planted_violation_is_caught(http, desk, stripe, system, inventory_db):
    # The plants need race-one's lapsed hold on a full night and race-two's committed hold.
    if "race-one" not in _SCENARIOS_RUN:
        await last_room_went_elsewhere(http, desk, stripe, inventory_db)
    if "race-two" not in _SCENARIOS_RUN:
        await lapse_with_the_room_still_free(http, desk, stripe, inventory_db)
    hotels = ["race-one", "race-two", "race-three"]
    code, output = await check_invariants(system, hotels)
    assert code == 0, output
    async with inventory_db.sessions() as session, session.begin():
        # Two plants: the confirmed booking's rooms given back, and a lapsed hold revived on a full night.
        sold = (await session.execute(text("UPDATE holds SET status = 'RELEASED' WHERE hotel = 'race-two' "
                                           "AND status = 'COMMITTED' RETURNING booking_id"))).scalar_one()
        revived = (await session.execute(text(
            "UPDATE holds SET status = 'HELD', expires_at = now() + interval '1 hour' WHERE hotel = 'race-one' "
            "AND status <> 'HELD' RETURNING booking_id"))).scalar_one()
    try:
        code, output = await check_invariants(system, hotels, quiet_within=0)
        assert code == 1, output
        assert f"VIOLATION alignment {sold}: CONFIRMED booking whose hold is RELEASED" in output
        assert "VIOLATION capacity race-one/DBL/" in output and "2 rooms taken, 1 in service" in output
    finally:
        async with inventory_db.sessions() as session, session.begin():
            await session.execute(text("UPDATE holds SET status = 'COMMITTED' WHERE booking_id = :b"), {"b": sold})
            await session.execute(text("UPDATE holds SET status = 'RELEASED' WHERE booking_id = :b"), {"b": revived})
