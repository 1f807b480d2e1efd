"""Lapsed checkouts, and a crash in the middle of a Stripe call."""

from __future__ import annotations

import asyncio

from hotelmate_contracts.saga import CapturePayment, VoidPayment


async def test_checkout_lapsing_unpaid_fails_quietly_then_a_void_answers_voided(harness):
    booking_id, session_id = await harness.request_checkout()
    await harness.http.post(f"{harness.emulator_url}/_emulator/checkout/sessions/{session_id}/expire")
    for _ in range(200):
        if (await harness.view(booking_id))["status"] == "FAILED":
            break
        await asyncio.sleep(0.05)
    assert (await harness.view(booking_id))["status"] == "FAILED"
    assert harness.announced(booking_id, "payment_voided") == []
    await harness.send(VoidPayment(booking_id=booking_id, reason="EXPIRED"))
    await harness.wait_for(booking_id, "payment_voided")
    assert (await harness.view(booking_id))["status"] == "VOIDED"


async def test_crash_during_capture_loses_nothing_and_captures_once(harness):
    booking_id, intent_id = await harness.authorised()
    path = f"/v1/payment_intents/{intent_id}/capture"
    await harness.emulator_webhooks(False)  # only the resumed operation may learn of the capture
    await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                            json={"path_prefix": path, "method": "POST", "delay_seconds": 1.2, "times": 1})
    try:
        await harness.send(CapturePayment(booking_id=booking_id))
        for _ in range(200):  # the capture call is in flight
            if await harness.stripe_requests(path) or await _claimed(harness, booking_id):
                break
            await asyncio.sleep(0.02)
        await asyncio.to_thread(harness.system.processes["payments"].kill)
        await asyncio.to_thread(harness.system.restart, "payments")
        await harness.wait_for(booking_id, "payment_captured", timeout=30)
    finally:
        await harness.emulator_webhooks(True)
    calls = await harness.stripe_requests(path)
    assert {c["idempotency_key"] for c in calls} == {f"{booking_id}:capture"}
    assert sum(1 for c in calls if not c.get("replayed")) == 1
    assert (await harness.stripe.v1.payment_intents.retrieve_async(intent_id)).amount_received == 12000


async def _claimed(harness, booking_id: str) -> bool:
    ops = await harness.operations(booking_id)
    return any(o["op_key"] == "capture" and o["attempts"] > 0 for o in ops)
