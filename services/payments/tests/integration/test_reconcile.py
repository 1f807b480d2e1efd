"""``python -m payments.reconcile`` reports drift between our records and Stripe."""

from __future__ import annotations

import asyncio
import os
import sys


async def run_reconcile(h) -> tuple[int, str]:
    env = {**os.environ, "HOTELMATE_STRIPE_API_BASE": h.emulator_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "payments.reconcile", "--grace-seconds", "0", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode, out.decode() + err.decode()


async def test_authorisation_cancelled_behind_our_back_is_drift(manual_webhooks):
    h = manual_webhooks
    booking_id, session_id = await h.request_checkout()
    paid = await h.pay(session_id)
    for event in await h.emulator_events(paid["payment_intent"]["id"]):
        await h.deliver(event)
    await h.wait_for(booking_id, "payment_authorized")
    await h.until_handled(paid["payment_intent"]["id"])  # a later event would read the cancellation below
    # Stripe drops the authorisation and its webhook never reaches us.
    await h.http.post(f"{h.emulator_url}/_emulator/payment_intents/{paid['payment_intent']['id']}/expire_authorization",
                      json={"cancel": True})
    code, output = await run_reconcile(h)
    assert code == 1, output
    assert f"{booking_id}\tauthorisation cancelled at Stripe but AUTHORIZED here" in output
    assert paid["payment_intent"]["id"] not in output
