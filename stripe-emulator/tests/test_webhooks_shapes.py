"""Signed webhooks with retries, and Stripe's object shapes (every fixture field present)."""

from __future__ import annotations

import json

import httpx
import pytest
import stripe

from stripe_emulator.forms import parse_form
from stripe_emulator.settings import find_fixtures
from stripe_emulator.webhooks import sign
from hotelmate_devtools.support.stripe_emulator import API_KEY, WEBHOOK_SECRET, authorised, free_port, make_session

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def deliveries(control: httpx.Client, type_: str) -> list[dict]:
    return control.get("/_emulator/events", params={"type": type_}).json()["data"]


def test_webhook_signature_verifies_with_sdk(client, control, receiver):
    authorised(client, control)
    receiver.wait_for(lambda: receiver.events("checkout.session.completed"))
    sent = next(r for r in receiver.received
                if json.loads(r["body"])["type"] == "checkout.session.completed")
    header = sent["headers"]["Stripe-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    event = stripe.Webhook.construct_event(sent["body"], header, WEBHOOK_SECRET)
    assert event.type == "checkout.session.completed"
    assert event.data.object.object == "checkout.session"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(sent["body"], header, "whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(sent["body"].replace("complete", "open"), header,
                                       WEBHOOK_SECRET)


def test_retries_until_receiver_accepts(client, control, receiver):
    session = make_session(client)
    receiver.script[:] = [500, 500]
    client.v1.checkout.sessions.expire(session.id)  # exactly one event
    receiver.wait_for(lambda: deliveries(control, "checkout.session.expired")[0]
                      ["delivery_status"] == "delivered", timeout=5)
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    ids = {json.loads(r["body"])["id"] for r in receiver.received}
    assert len(ids) == 1
    row = deliveries(control, "checkout.session.expired")[0]
    assert row["attempt_count"] == 3 and row["object_id"] == session.id


def test_only_the_enabled_events_are_sent(client, control, receiver):
    control.post("/_emulator/config", json={"webhook_events": ["payment_intent.amount_capturable_updated",
                                                               "checkout.session.completed"]}).raise_for_status()
    authorised(client, control)  # charge.succeeded, amount_capturable_updated, session completed
    receiver.wait_for(lambda: len(receiver.received) == 2)
    assert sorted(json.loads(r["body"])["type"] for r in receiver.received) == [
        "checkout.session.completed", "payment_intent.amount_capturable_updated"]
    charge = deliveries(control, "charge.succeeded")  # created all the same, as Stripe does
    assert len(charge) == 1 and charge[0]["delivery_status"] == "not_enabled" and charge[0]["attempt_count"] == 0
    bad = control.post("/_emulator/config", json={"webhook_events": "charge.succeeded"})
    assert bad.status_code == 400 and "webhook_events" in bad.json()["error"]["message"]


def test_unreachable_receiver_gives_up_after_max_attempts(client, control, receiver):
    dead = f"http://127.0.0.1:{free_port()}/webhooks/stripe"
    control.post("/_emulator/config", json={"webhook_url": dead}).raise_for_status()
    client.v1.checkout.sessions.expire(make_session(client).id)
    receiver.wait_for(lambda: deliveries(control, "checkout.session.expired")[0]
                      ["delivery_status"] == "failed", timeout=5)
    row = deliveries(control, "checkout.session.expired")[0]
    assert row["attempt_count"] == 4 and "error" in row["attempts"][0]
    assert not receiver.received


def test_objects_carry_every_fixture_field(client, control, receiver, emulator_url):
    fixtures = json.loads(find_fixtures().read_text())["resources"]
    pi = authorised(client, control)
    session_id = control.get("/_emulator/events", params={
        "type": "checkout.session.completed"}).json()["data"][0]["object_id"]
    client.v1.payment_intents.capture(pi.id)
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 100})
    get = lambda path: httpx.get(f"{emulator_url}{path}", headers=AUTH).json()  # noqa: E731
    pi_json = get(f"/v1/payment_intents/{pi.id}")
    event_id = deliveries(control, "payment_intent.succeeded")[0]["id"]
    answers = {
        "checkout.session": get(f"/v1/checkout/sessions/{session_id}"),
        "payment_intent": pi_json,
        "charge": get(f"/v1/charges/{pi_json['latest_charge']}"),
        "refund": get(f"/v1/refunds/{refund.id}"),
        "event": get(f"/v1/events/{event_id}"),
    }
    prefixes = {"checkout.session": "cs_test_", "payment_intent": "pi_", "charge": "ch_",
                "refund": "re_", "event": "evt_"}
    for name, obj in answers.items():
        missing = set(fixtures[name]) - set(obj)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert obj["object"] == name and obj["id"].startswith(prefixes[name])
    receiver.wait_for(lambda: receiver.events("refund.created"))
    for evt in receiver.events():
        assert not set(fixtures["event"]) - set(evt)
        kind = evt["data"]["object"]["object"]
        assert not set(fixtures[kind]) - set(evt["data"]["object"]), evt["type"]


def test_form_parsing_and_signing_units():
    parsed = parse_form("line_items[0][price_data][unit_amount]=1000&line_items[0][quantity]=2"
                        "&line_items[1][quantity]=1&metadata[booking_id]=BK-2026-000001"
                        "&expand[]=payment_intent&expand[]=x&mode=payment")
    assert parsed == {"line_items": [{"price_data": {"unit_amount": "1000"}, "quantity": "2"},
                                     {"quantity": "1"}],
                      "metadata": {"booking_id": "BK-2026-000001"},
                      "expand": ["payment_intent", "x"], "mode": "payment"}
    header = sign('{"a":1}', "whsec_x", timestamp=1700000000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
