"""Saga commands against the Stripe emulator with the real SDK over HTTP."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from hotelmate_contracts import Money
from hotelmate_contracts.saga import CapturePayment, RefundPayment, VoidPayment

DECLINES = "4000000000000002"


async def test_authorisation_is_announced_with_the_amount(harness):
    booking_id, intent_id = await harness.authorised("120.00")
    authorised = harness.announced(booking_id, "payment_authorized")
    assert len(authorised) == 1 and authorised[0]["amount"] == {"amount": "120.00", "currency": "EUR"}
    view = await harness.view(booking_id)
    assert view["status"] == "AUTHORIZED" and view["captured"]["amount"] == "0.00"
    assert view["stripe_ref"] == f"pi_…{intent_id[-4:]}" and intent_id not in str(view)
    session = await harness.stripe.v1.checkout.sessions.retrieve_async((await harness.row(booking_id))["checkout_session_id"])
    assert session.client_reference_id == booking_id and session.metadata["hotel"] == "h-test"
    create = (await harness.stripe_requests("/v1/checkout/sessions"))
    assert any(r["idempotency_key"] == f"{booking_id}:checkout" for r in create)


async def test_capture_takes_the_full_amount(harness):
    booking_id, intent_id = await harness.authorised("99.99")
    await harness.send(CapturePayment(booking_id=booking_id))
    captured = await harness.wait_for(booking_id, "payment_captured")
    assert captured["amount"] == {"amount": "99.99", "currency": "EUR"}
    intent = await harness.stripe.v1.payment_intents.retrieve_async(intent_id)
    assert intent.status == "succeeded" and intent.amount_received == 9999
    assert (await harness.view(booking_id))["status"] == "CAPTURED"


async def test_void_cancels_the_authorisation(harness):
    booking_id, intent_id = await harness.authorised()
    await harness.send(VoidPayment(booking_id=booking_id, reason="DECLINED"))
    assert (await harness.wait_for(booking_id, "payment_voided"))["reason"] == "DECLINED"
    assert (await harness.stripe.v1.payment_intents.retrieve_async(intent_id)).status == "canceled"
    assert (await harness.view(booking_id))["status"] == "VOIDED"


async def test_void_before_payment_expires_the_checkout(harness):
    booking_id, session_id = await harness.request_checkout()
    await harness.send(VoidPayment(booking_id=booking_id, reason="EXPIRED"))
    await harness.wait_for(booking_id, "payment_voided")
    assert (await harness.stripe.v1.checkout.sessions.retrieve_async(session_id)).status == "expired"
    assert (await harness.pay(session_id)).get("outcome") != "authorized"
    await harness.until_processed()
    assert harness.announced(booking_id, "payment_authorized") == []


async def test_partial_then_full_refund(harness):
    booking_id, intent_id = await harness.authorised("120.00")
    await harness.send(CapturePayment(booking_id=booking_id))
    await harness.wait_for(booking_id, "payment_captured")
    await harness.send(RefundPayment(booking_id=booking_id, amount=Money.of("30.00", "EUR"), reason="fee kept"))
    first = await harness.wait_for(booking_id, "payment_refunded")
    assert first == {"booking_id": booking_id, "amount": {"amount": "30.00", "currency": "EUR"}, "fully_refunded": False}
    assert (await harness.view(booking_id))["status"] == "PARTIALLY_REFUNDED"
    await harness.send(RefundPayment(booking_id=booking_id, amount=Money.of("90.00", "EUR"), reason="goodwill"))
    for _ in range(200):
        if len(harness.announced(booking_id, "payment_refunded")) == 2:
            break
        await asyncio.sleep(0.05)
    assert harness.announced(booking_id, "payment_refunded")[1]["fully_refunded"] is True
    await harness.until_processed()
    view = await harness.view(booking_id)
    assert view["status"] == "REFUNDED" and view["refunded"]["amount"] == "120.00"


async def test_declined_card_is_a_clean_failure_then_a_good_card_authorises(harness):
    booking_id, session_id = await harness.request_checkout()
    assert (await harness.pay(session_id, DECLINES))["outcome"] == "declined"
    failed = await harness.wait_for(booking_id, "payment_failed")
    assert failed["stage"] == "AUTHORIZATION" and "4000" not in failed["reason"]
    assert (await harness.view(booking_id))["status"] == "CHECKOUT_OPEN"
    await harness.pay(session_id)
    await harness.wait_for(booking_id, "payment_authorized")


async def test_stripe_5xx_is_retried_and_captures_once(harness):
    booking_id, intent_id = await harness.authorised()
    path = f"/v1/payment_intents/{intent_id}/capture"
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "status": 500, "times": 2})
    await harness.send(CapturePayment(booking_id=booking_id))
    await harness.wait_for(booking_id, "payment_captured")
    calls = await harness.stripe_requests(path)
    assert len(calls) == 3 and {c["idempotency_key"] for c in calls} == {f"{booking_id}:capture"}
    assert [c["status"] for c in calls if not c.get("fault")] == [200]


async def test_timeout_during_capture_is_retried_with_the_same_key(harness):
    booking_id, intent_id = await harness.authorised()
    path = f"/v1/payment_intents/{intent_id}/capture"
    # No webhook may tell payments about the capture: only the retried call can.
    await harness.emulator_webhooks(False)
    # The emulator captures, then answers after 3 s: past the service's 1.5 s timeout.
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "delay_seconds": 3, "times": 1})
    await harness.send(CapturePayment(booking_id=booking_id))
    try:
        await harness.wait_for(booking_id, "payment_captured", timeout=20)
    finally:
        await harness.emulator_webhooks(True)
    calls = await harness.stripe_requests(path)
    assert len(calls) >= 2 and {c["idempotency_key"] for c in calls} == {f"{booking_id}:capture"}
    assert sum(1 for c in calls if not c.get("replayed")) == 1  # one real capture, the rest replays
    assert len(harness.announced(booking_id, "payment_captured")) == 1


async def test_capture_after_the_authorisation_expired_fails_cleanly(harness):
    booking_id, intent_id = await harness.authorised()
    await harness.http.post(f"{harness.emulator_url}/_emulator/payment_intents/{intent_id}/expire_authorization",
                            json={"cancel": False})
    await harness.send(CapturePayment(booking_id=booking_id))
    failed = await harness.wait_for(booking_id, "payment_failed")
    assert failed["stage"] == "CAPTURE"
    await harness.until_processed()
    assert harness.announced(booking_id, "payment_captured") == []
    assert (await harness.view(booking_id))["status"] == "FAILED"


async def test_duplicate_capture_commands_capture_once(harness):
    booking_id, intent_id = await harness.authorised()
    await asyncio.gather(*(harness.send(CapturePayment(booking_id=booking_id)) for _ in range(5)))
    await harness.wait_for(booking_id, "payment_captured")
    await harness.until_processed()
    calls = await harness.stripe_requests(f"/v1/payment_intents/{intent_id}/capture")
    assert len(calls) == 1 and len(harness.announced(booking_id, "payment_captured")) == 1


async def test_a_long_stripe_outage_delays_the_capture_but_never_fails_it(harness):
    booking_id, intent_id = await harness.authorised()
    path = f"/v1/payment_intents/{intent_id}/capture"
    # Far more failed attempts than a short retry ladder allows (it used to give up after 12).
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "status": 503, "times": 16})
    await harness.send(CapturePayment(booking_id=booking_id))
    await harness.wait_for(booking_id, "payment_captured", timeout=60)
    assert harness.announced(booking_id, "payment_failed") == []
    assert len(await harness.stripe_requests(path)) == 17


async def test_the_outage_outlives_the_authorisation_then_the_capture_fails(harness):
    booking_id, intent_id = await harness.authorised()
    async with harness.db.unit_of_work() as uow:  # authorised eight days ago, Stripe not saying until when
        await uow.session.execute(text("UPDATE payments SET authorized_at = now() - interval '8 days', "
                                       "capture_before = NULL WHERE booking_id = :b"), {"b": booking_id})
    path = f"/v1/payment_intents/{intent_id}/capture"
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "status": 503, "times": 1})
    await harness.send(CapturePayment(booking_id=booking_id))
    failed = await harness.wait_for(booking_id, "payment_failed")
    assert failed["stage"] == "CAPTURE" and failed["reason"] == "stripe unavailable"


async def test_the_retries_stop_at_the_authorisations_own_limit_as_stripe_gives_it(harness):
    config = f"{harness.emulator_url}/_emulator/config"
    await harness.http.post(config, json={"authorization_lifetime": 4})  # this card network keeps it 4 s
    try:
        booking_id, intent_id = await harness.authorised()
    finally:
        await harness.http.post(config, json={"authorization_lifetime": 7 * 24 * 3600})
    row = await harness.row(booking_id)
    assert row["capture_before"] is not None and (row["capture_before"] - row["authorized_at"]).total_seconds() < 10
    path = f"/v1/payment_intents/{intent_id}/capture"
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "status": 503, "times": 1000})
    await harness.emulator_webhooks(False)  # Stripe's word that it lapsed does not reach us either
    try:
        await harness.send(CapturePayment(booking_id=booking_id))
        failed = await harness.wait_for(booking_id, "payment_failed", timeout=30)
    finally:
        await harness.http.delete(f"{harness.emulator_url}/_emulator/faults")
        await harness.emulator_webhooks(True)
    assert failed["stage"] == "CAPTURE" and failed["reason"] == "stripe unavailable"
