"""Lapsed checkouts, and a crash in the middle of a Stripe call."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

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


BLIP = """
CREATE TABLE IF NOT EXISTS test_write_blip (booking_id text PRIMARY KEY);
CREATE OR REPLACE FUNCTION test_write_blip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM test_write_blip WHERE booking_id = NEW.booking_id) THEN
        RAISE EXCEPTION 'simulated database outage';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS test_write_blip ON payments;
DROP TRIGGER IF EXISTS test_write_blip ON payment_operations;
CREATE TRIGGER test_write_blip BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION test_write_blip();
CREATE TRIGGER test_write_blip BEFORE UPDATE ON payment_operations FOR EACH ROW EXECUTE FUNCTION test_write_blip();
"""
UNBLIP = """
DROP TRIGGER IF EXISTS test_write_blip ON payments;
DROP TRIGGER IF EXISTS test_write_blip ON payment_operations;
DROP FUNCTION IF EXISTS test_write_blip();
DROP TABLE IF EXISTS test_write_blip;
"""


async def test_a_database_blip_while_recording_a_capture_delays_it_by_seconds_not_by_the_lease(harness):
    # The capture succeeds at Stripe, then every write of this booking's payment fails for 2 s
    # (as in a database blip): recording it fails, and so does postponing the operation. Once the
    # database answers again the capture must reach the bus within seconds, not after the lease.
    system = harness.system
    system.layout.env["HOTELMATE_PAYMENTS_LEASE_SECONDS"] = "40"
    await asyncio.to_thread(system.restart, "payments")
    try:
        booking_id, intent_id = await harness.authorised()
        path = f"/v1/payment_intents/{intent_id}/capture"
        await harness.emulator_webhooks(False)  # only the operation may learn of the capture
        await _script(harness, BLIP)
        await harness.http.post(f"{harness.emulator_url}/_emulator/faults",
                                json={"path_prefix": path, "method": "POST", "delay_seconds": 1.0, "times": 1})
        await harness.send(CapturePayment(booking_id=booking_id))
        for _ in range(500):
            if await _claimed(harness, booking_id):
                break
            await asyncio.sleep(0.02)
        async with harness.db.unit_of_work() as uow:  # while the capture call is in flight
            await uow.session.execute(text("INSERT INTO test_write_blip VALUES (:b)"), {"b": booking_id})
        await asyncio.sleep(2.5)  # the blip's length: the capture's answer came back during it
        async with harness.db.unit_of_work() as uow:
            await uow.session.execute(text("DELETE FROM test_write_blip"))
        back = time.monotonic()
        await harness.wait_for(booking_id, "payment_captured", timeout=60)
        waited = time.monotonic() - back
    finally:
        await harness.emulator_webhooks(True)
        await _script(harness, UNBLIP)
        system.layout.env.pop("HOTELMATE_PAYMENTS_LEASE_SECONDS")
        await asyncio.to_thread(system.restart, "payments")
    assert waited < 10, f"captured {waited:.1f} s after the database answered again (lease 40 s)"
    calls = await harness.stripe_requests(path)
    assert {c["idempotency_key"] for c in calls} == {f"{booking_id}:capture"}
    assert sum(1 for c in calls if not c.get("replayed")) == 1
    assert (await harness.stripe.v1.payment_intents.retrieve_async(intent_id)).amount_received == 12000


async def _script(harness, script: str) -> None:
    async with harness.db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(script)
