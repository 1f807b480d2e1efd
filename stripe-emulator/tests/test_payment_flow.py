"""Checkout → authorise → capture / void / refund, through the official SDK over HTTP."""

from __future__ import annotations

import httpx
import pytest
import stripe

from hotelmate_devtools.support.stripe_emulator import authorised, make_session, pay


def test_session_created_with_stripe_shape(client, emulator_url):
    session = make_session(client, 12345)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{emulator_url}/c/pay/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (12345, "eur")
    assert session.metadata["booking_id"] == "BK-2026-000001"
    assert session.client_reference_id == "BK-2026-000001"
    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.expires_at == session.expires_at


def test_bracket_params_sum_line_items(client):
    session = client.v1.checkout.sessions.create({
        "mode": "payment",
        "line_items": [
            {"price_data": {"currency": "eur", "unit_amount": 1000,
                            "product_data": {"name": "Night"}}, "quantity": 3},
            {"price_data": {"currency": "eur", "unit_amount": 250,
                            "product_data": {"name": "Tax"}}, "quantity": 2},
        ],
        "payment_intent_data": {"capture_method": "manual"},
    })
    assert session.amount_total == 3500


def test_authorise_then_capture(client, control, receiver):
    session = make_session(client)
    page = httpx.get(session.url)
    assert page.status_code == 200 and 'name="card_number"' in page.text
    answer = httpx.post(session.url, data={"card_number": "4242 4242 4242 4242"})
    assert answer.status_code == 200 and "Thank you" in answer.text

    session = client.v1.checkout.sessions.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "unpaid")
    pi = client.v1.payment_intents.retrieve(session.payment_intent,
                                            {"expand": ["latest_charge"]})
    assert pi.id.startswith("pi_") and pi.status == "requires_capture"
    assert pi.amount_capturable == 25000 and pi.capture_method == "manual"
    assert pi.metadata["booking_id"] == "BK-2026-000001"
    assert pi.latest_charge.id.startswith("ch_") and pi.latest_charge.captured is False

    pi = client.v1.payment_intents.capture(pi.id)
    assert (pi.status, pi.amount_received, pi.amount_capturable) == ("succeeded", 25000, 0)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    expected = ("checkout.session.completed", "payment_intent.amount_capturable_updated",
                "charge.succeeded", "charge.captured", "payment_intent.succeeded")
    # Each event is its own delivery, and deliveries may overtake one another: wait for all of them.
    receiver.wait_for(lambda: all(receiver.events(kind) for kind in expected))
    completed = receiver.events("checkout.session.completed")[0]["data"]["object"]
    assert completed["payment_intent"] == pi.id and completed["payment_status"] == "unpaid"
    # the page of a completed session is an error page
    assert httpx.get(str(page.url)).status_code == 409


def test_partial_capture(client, control):
    pi = authorised(client, control)
    pi = client.v1.payment_intents.capture(pi.id, {"amount_to_capture": 20000})
    assert pi.amount_received == 20000
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 20001})
    assert err.value.code == "amount_too_large"


def test_void(client, control, receiver):
    pi = authorised(client, control)
    pi = client.v1.payment_intents.cancel(pi.id, {"cancellation_reason": "requested_by_customer"})
    assert pi.status == "canceled" and pi.cancellation_reason == "requested_by_customer"
    receiver.wait_for(lambda: receiver.events("payment_intent.canceled"))
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.capture(pi.id)
    assert err.value.code == "payment_intent_unexpected_state"
    assert err.value.http_status == 400


def test_cancel_after_capture_refused(client, control):
    pi = authorised(client, control)
    client.v1.payment_intents.capture(pi.id)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.cancel(pi.id)
    assert err.value.code == "payment_intent_unexpected_state"


def test_full_and_partial_refunds(client, control, receiver):
    pi = client.v1.payment_intents.capture(authorised(client, control, 10000).id)
    first = client.v1.refunds.create({"payment_intent": pi.id, "amount": 3000})
    assert first.id.startswith("re_") and first.status == "succeeded"
    assert client.v1.refunds.retrieve(first.id).amount == 3000
    rest = client.v1.refunds.create({"payment_intent": pi.id})  # the remainder
    assert rest.amount == 7000
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.refunded is True and charge.amount_refunded == 10000
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 1})
    assert err.value.code == "charge_already_refunded"
    # Each refund's two events are delivered independently: wait for all four, not for one kind only.
    receiver.wait_for(lambda: len(receiver.events("charge.refunded")) == 2
                      and len(receiver.events("refund.created")) == 2)
    assert len(receiver.events("charge.refunded")) == 2 and len(receiver.events("refund.created")) == 2


def test_refund_above_captured_refused(client, control):
    pi = client.v1.payment_intents.capture(authorised(client, control, 10000).id)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 10001})
    assert err.value.code == "amount_too_large" and err.value.http_status == 400


def test_refund_of_uncaptured_refused(client, control):
    pi = authorised(client, control)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": pi.id})


def test_declined_card(client, control, receiver):
    session = make_session(client)
    answer = httpx.post(session.url, data={"card_number": "4000000000000002"})
    assert answer.status_code == 402 and "Your card was declined." in answer.text
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert session.status == "open"
    pi = client.v1.payment_intents.retrieve(session.payment_intent)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "card_declined"
    receiver.wait_for(lambda: receiver.events("payment_intent.payment_failed"))
    assert not receiver.events("checkout.session.completed")
    # a second try with a good card succeeds on the same intent
    assert pay(control, session.id)["payment_intent"]["id"] == pi.id


def test_capture_after_authorisation_expiry(client, control, receiver):
    pi = authorised(client, control)
    control.post(f"/_emulator/payment_intents/{pi.id}/expire_authorization").raise_for_status()
    assert client.v1.payment_intents.retrieve(pi.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.capture(pi.id)
    assert err.value.code == "payment_intent_unexpected_state"
    receiver.wait_for(lambda: receiver.events("charge.expired"))


def test_capture_finds_lapsed_authorisation(client, control):
    pi = authorised(client, control)
    control.post(f"/_emulator/payment_intents/{pi.id}/expire_authorization",
                 json={"cancel": False}).raise_for_status()
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.capture(pi.id)
    # The capture finds the lapse itself, unless the emulator's sweep (as Stripe's own) got there first
    # and cancelled the intent: either way the capture is refused and the intent ends cancelled.
    assert err.value.code in ("charge_expired_for_capture", "payment_intent_unexpected_state")
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert (pi.status, pi.cancellation_reason) == ("canceled", "automatic")


def test_expire_session(client, control, receiver):
    session = make_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.expire(session.id)
    assert err.value.http_status == 400
    assert httpx.get(session.url).status_code == 410
    receiver.wait_for(lambda: receiver.events("checkout.session.expired"))


def test_session_lapses_at_expires_at(client, control, receiver):
    import time
    session = make_session(client, expires_at=int(time.time()) + 1)
    receiver.wait_for(lambda: receiver.events("checkout.session.expired"))
    evt = receiver.events("checkout.session.expired")[0]
    assert evt["data"]["object"]["id"] == session.id and evt["request"]["id"] is None


def test_missing_and_bad_key(emulator_url, client, control):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.payment_intents.retrieve("pi_nope")
    assert err.value.http_status == 404 and err.value.code == "resource_missing"
    assert httpx.get(f"{emulator_url}/v1/payment_intents/pi_x").status_code == 401
    bad = stripe.StripeClient("sk_live_nope", base_addresses={"api": emulator_url})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.payment_intents.retrieve("pi_x")
