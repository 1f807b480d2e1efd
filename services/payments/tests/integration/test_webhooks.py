"""Signed webhook deliveries: verification, storage, duplicates, order, concurrency, late authorisations."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

from sqlalchemy import text

from hotelmate_contracts.saga import CapturePayment, VoidPayment

DECLINES = "4000000000000002"


def of_type(events: list[dict], event_type: str) -> dict:
    return next(e for e in events if e["type"] == event_type)


async def authorised_silently(h, amount: str = "120.00") -> tuple[str, str, list[dict]]:
    """A booking whose card was authorised while webhooks were off: (booking, intent, its events)."""
    booking_id, session_id = await h.request_checkout(amount)
    paid = await h.pay(session_id)
    intent_id = paid["payment_intent"]["id"]
    return booking_id, intent_id, await h.emulator_events(intent_id)


async def test_bad_signature_and_stale_timestamp_are_refused_and_nothing_is_stored(manual_webhooks):
    h = manual_webhooks
    _, _, events = await authorised_silently(h)
    event = of_type(events, "checkout.session.completed")
    before = await h.stored_events()
    forged = await h.deliver(event, secret="whsec_not_ours")
    stale = await h.deliver(event, timestamp=int(time.time()) - 600)
    tampered_body = json.dumps({**event, "type": "payment_intent.succeeded"}).encode()
    header = (await h.deliver(event, secret="whsec_not_ours")).request.headers["Stripe-Signature"]
    tampered = await h.http.post(f"{h.payments_url}/webhooks/stripe", content=tampered_body,
                                 headers={"Stripe-Signature": header})
    unsigned = await h.http.post(f"{h.payments_url}/webhooks/stripe", content=json.dumps(event).encode())
    for answer in (forged, stale, tampered, unsigned):
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await h.stored_events() == before


async def test_oversized_body_is_refused(harness):
    answer = await harness.deliver(b'{"id": "evt_big", "type": "x", "pad": "' + b"x" * 300_000 + b'"}')
    assert answer.status_code == 413 and await harness.stored_events("evt_big") == 0


async def test_same_event_five_times_has_one_effect(manual_webhooks):
    h = manual_webhooks
    booking_id, _, events = await authorised_silently(h)
    event = of_type(events, "checkout.session.completed")
    answers = [await h.deliver(event, path=path) for path in ["/webhooks/stripe", "/api/v1/webhooks/stripe"] * 2
               + ["/webhooks/stripe"]]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["duplicate"] for a in answers] == [False, True, True, True, True]
    await h.until_processed()
    assert await h.stored_events(event["id"]) == 1
    assert len(h.announced(booking_id, "payment_authorized")) == 1


async def test_an_event_payments_does_not_act_on_is_stored_already_processed(manual_webhooks):
    h = manual_webhooks
    booking_id, _, events = await authorised_silently(h)
    event = of_type(events, "charge.succeeded")
    answers = [await h.deliver(event) for _ in range(2)]
    assert [(a.status_code, a.json()["duplicate"]) for a in answers] == [(200, False), (200, True)]
    await h.until_processed()
    async with h.db.reads() as conn:
        stored = (await conn.execute(text("SELECT processed_at, last_error, attempts FROM stripe_events WHERE id = :id"),
                                     {"id": event["id"]})).one()
    assert stored.processed_at is not None and stored.last_error == "ignored"
    assert stored.attempts == 0  # no worker had to claim it
    assert (await h.row(booking_id))["status"] == "CHECKOUT_OPEN"  # it changed nothing


async def test_events_in_every_order_reach_the_same_end_state(manual_webhooks):
    h = manual_webhooks
    kinds = ("payment_intent.payment_failed", "checkout.session.completed", "payment_intent.amount_capturable_updated")
    end_states = set()
    for order in itertools.permutations(kinds):
        booking_id, session_id = await h.request_checkout()
        await h.pay(session_id, DECLINES)
        paid = await h.pay(session_id)
        events = await h.emulator_events(paid["payment_intent"]["id"])
        for kind in order:
            assert (await h.deliver(of_type(events, kind))).status_code == 200
        for other in events:  # charge.failed / charge.succeeded: acknowledged, nothing to do
            await h.deliver(other)
        await h.until_processed()
        view = await h.view(booking_id)
        end_states.add((view["status"], view["flagged"], len(h.announced(booking_id, "payment_authorized"))))
    assert end_states == {("AUTHORIZED", False, 1)}


async def test_fifty_concurrent_deliveries_have_one_effect(manual_webhooks):
    h = manual_webhooks
    booking_id, _, events = await authorised_silently(h)
    event = of_type(events, "payment_intent.amount_capturable_updated")
    answers = await asyncio.gather(*(h.deliver(event) for _ in range(50)))
    assert [a.status_code for a in answers] == [200] * 50
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    await h.until_processed()
    assert await h.stored_events(event["id"]) == 1
    assert len(h.announced(booking_id, "payment_authorized")) == 1


async def test_authorisation_arriving_after_the_booking_expired_is_voided(manual_webhooks):
    h = manual_webhooks
    booking_id, intent_id, events = await authorised_silently(h)
    await h.send(VoidPayment(booking_id=booking_id, reason="EXPIRED"))  # the hold lapsed first
    await h.wait_for(booking_id, "payment_voided")
    for event in events:  # the authorisation's webhooks arrive late
        await h.deliver(event)
    await h.until_processed()
    assert h.announced(booking_id, "payment_authorized") == []
    assert (await h.stripe.v1.payment_intents.retrieve_async(intent_id)).status == "canceled"
    assert (await h.view(booking_id))["status"] == "VOIDED"


async def stray_authorisation(h, booking_id: str, amount_minor: int) -> tuple[str, list[dict]]:
    """Someone pays another Checkout Session naming the booking: (its intent, its events)."""
    session = await h.stripe.v1.checkout.sessions.create_async({
        "mode": "payment", "success_url": "http://x/ok", "metadata": {"booking_id": booking_id},
        "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": amount_minor,
                                                      "product_data": {"name": "stay"}}}],
        "payment_intent_data": {"capture_method": "manual", "metadata": {"booking_id": booking_id}}})
    intent_id = (await h.pay(session.id))["payment_intent"]["id"]
    return intent_id, await h.emulator_events(intent_id)


async def test_authorisation_on_a_closed_payment_is_voided_and_flagged(manual_webhooks):
    h = manual_webhooks
    booking_id, _ = await h.request_checkout("120.00")
    await h.send(VoidPayment(booking_id=booking_id, reason="CANCELLED"))
    await h.wait_for(booking_id, "payment_voided")
    intent_id, events = await stray_authorisation(h, booking_id, 12000)
    for event in events:
        await h.deliver(event)
    await h.until_processed()
    assert (await h.stripe.v1.payment_intents.retrieve_async(intent_id)).status == "canceled"
    view = await h.view(booking_id)
    assert view["flagged"] and view["status"] == "VOIDED"
    assert h.announced(booking_id, "payment_authorized") == []


async def test_authorisation_for_another_amount_is_voided_and_flagged(manual_webhooks):
    h = manual_webhooks
    booking_id, _ = await h.request_checkout("120.00")
    intent_id, events = await stray_authorisation(h, booking_id, 10000)
    for event in events:
        await h.deliver(event)
    await h.until_processed()
    assert (await h.stripe.v1.payment_intents.retrieve_async(intent_id)).status == "canceled"
    view = await h.view(booking_id)
    assert view["flagged"] and view["status"] == "CHECKOUT_OPEN" and view["stripe_ref"].startswith("cs_")
    assert h.announced(booking_id, "payment_authorized") == []


async def test_webhook_racing_a_staff_approval_captures_once(manual_webhooks):
    h = manual_webhooks
    booking_id, intent_id, events = await authorised_silently(h)
    await h.deliver(of_type(events, "checkout.session.completed"))
    await h.wait_for(booking_id, "payment_authorized")
    replays = [{**e, "id": f"{e['id']}_r{i}"} for i, e in enumerate(events * 3)]  # Stripe resends, new ids
    await asyncio.gather(*(h.send(CapturePayment(booking_id=booking_id)) for _ in range(3)),
                         *(h.deliver(e) for e in replays))
    await h.wait_for(booking_id, "payment_captured")
    await h.emulator_webhooks(True)  # the emulator dropped the events it raised while off: none arrive late
    await h.until_processed()
    calls = await h.stripe_requests(f"/v1/payment_intents/{intent_id}/capture")
    assert len(calls) == 1 and len(h.announced(booking_id, "payment_captured")) == 1
    assert (await h.view(booking_id))["status"] == "CAPTURED"


async def test_a_captured_payments_succeeded_event_costs_no_call_to_stripe(harness):
    """Captured: Stripe sends ``payment_intent.succeeded``, carrying the intent in its final state.
    Payments records it from the event itself (a state that can no longer change) instead of asking
    Stripe again: one call fewer per booking on Stripe's rate limit."""
    h = harness
    booking_id, intent_id = await h.authorised()
    await h.send(CapturePayment(booking_id=booking_id))
    await h.wait_for(booking_id, "payment_captured")
    await h.until_handled(intent_id)  # the succeeded event among them
    calls = await h.stripe_requests(f"/v1/payment_intents/{intent_id}")
    captured_at = next(c["at"] for c in calls if c["path"].endswith("/capture"))
    assert [c for c in calls if c["method"] == "GET" and c["at"] > captured_at] == []
    assert (await h.view(booking_id))["status"] == "CAPTURED"
    assert len(h.announced(booking_id, "payment_captured")) == 1
