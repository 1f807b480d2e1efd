"""Idempotency-Key semantics and injected faults (500s, slow answers) with SDK retries."""

from __future__ import annotations

import httpx
import pytest
import stripe

from hotelmate_devtools.support.stripe_emulator import API_KEY, authorised

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def captures(control: httpx.Client, pi_id: str) -> list[dict]:
    rows = control.get("/_emulator/requests",
                       params={"path_prefix": f"/v1/payment_intents/{pi_id}/capture"}).json()
    return rows["data"]


def charge_captured_events(control: httpx.Client) -> int:
    return len(control.get("/_emulator/events",
                           params={"type": "charge.captured"}).json()["data"])


def test_same_key_same_params_replays(client, control, emulator_url):
    pi = client.v1.payment_intents.capture(authorised(client, control, 9000).id)
    opts = {"idempotency_key": "refund-BK-1"}
    first = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000}, opts)
    second = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000}, opts)
    assert first.id == second.id
    headers = {**AUTH, "Idempotency-Key": "refund-BK-raw"}
    body = {"payment_intent": pi.id, "amount": "500"}
    raw1 = httpx.post(f"{emulator_url}/v1/refunds", headers=headers, data=body)
    raw2 = httpx.post(f"{emulator_url}/v1/refunds", headers=headers, data=body)
    assert raw1.status_code == raw2.status_code == 200
    assert "Idempotent-Replayed" not in raw1.headers
    assert raw2.headers["Idempotent-Replayed"] == "true"
    assert raw1.json() == raw2.json()
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 1500


def test_error_answers_are_replayed_too(client, control):
    pi = authorised(client, control)
    client.v1.payment_intents.cancel(pi.id)
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.payment_intents.capture(pi.id, options={"idempotency_key": "cap-1"})
        assert err.value.code == "payment_intent_unexpected_state"


def test_same_key_different_params_is_idempotency_error(client, control):
    pi = client.v1.payment_intents.capture(authorised(client, control, 9000).id)
    opts = {"idempotency_key": "refund-BK-2"}
    client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000}, opts)
    with pytest.raises(stripe.IdempotencyError) as err:
        client.v1.refunds.create({"payment_intent": pi.id, "amount": 2000}, opts)
    assert err.value.http_status == 400
    assert err.value.error.type == "idempotency_error"


def test_keys_are_scoped_per_api_key(client, control, emulator_url):
    other = stripe.StripeClient("sk_test_other_account", base_addresses={"api": emulator_url})
    opts = {"idempotency_key": "shared-key"}
    a = client.v1.checkout.sessions.create(
        {"mode": "payment", "line_items": [{"price_data": {
            "currency": "eur", "unit_amount": 1000, "product_data": {"name": "A"}},
            "quantity": 1}]}, opts)
    b = other.v1.checkout.sessions.create(
        {"mode": "payment", "line_items": [{"price_data": {
            "currency": "eur", "unit_amount": 2000, "product_data": {"name": "B"}},
            "quantity": 1}]}, opts)
    assert a.id != b.id and b.amount_total == 2000


def test_500_fault_then_sdk_retry_captures_once(client, control, emulator_url):
    pi = authorised(client, control)
    control.post("/_emulator/faults", json={"path_prefix": "/v1/payment_intents",
                                            "method": "POST", "status": 500, "times": 1})
    retrying = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url},
                                   max_network_retries=2)
    assert retrying.v1.payment_intents.capture(pi.id).status == "succeeded"
    rows = captures(control, pi.id)
    assert [r["status"] for r in rows] == [500, 200]
    assert rows[0]["idempotency_key"] == rows[1]["idempotency_key"]  # the SDK's own key
    assert charge_captured_events(control) == 1


def test_500_fault_does_not_run_the_operation(client, control):
    pi = authorised(client, control)
    control.post("/_emulator/faults", json={"path_prefix": "/v1/payment_intents",
                                            "status": 500, "times": 1})
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.capture(pi.id)
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"


def test_slow_answer_timeout_then_retry_with_same_key_captures_once(client, control,
                                                                    emulator_url):
    pi = authorised(client, control)
    control.post("/_emulator/faults", json={"path_prefix": f"/v1/payment_intents/{pi.id}",
                                            "method": "POST", "delay_seconds": 1.5})
    impatient = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url},
                                    http_client=stripe.RequestsClient(timeout=0.3),
                                    max_network_retries=0)
    opts = {"idempotency_key": "capture-BK-2026-000001"}
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.capture(pi.id, options=opts)
    # the server did the work before the client gave up
    again = impatient.v1.payment_intents.capture(pi.id, options=opts)
    assert again.status == "succeeded" and again.amount_received == 25000
    rows = captures(control, pi.id)
    assert [r["replayed"] for r in rows] == [False, True]
    assert charge_captured_events(control) == 1


def test_slow_answer_sdk_retries_by_itself(client, control, emulator_url):
    pi = authorised(client, control)
    control.post("/_emulator/faults", json={"path_prefix": "/v1/payment_intents",
                                            "method": "POST", "delay_seconds": 1.0})
    impatient = stripe.StripeClient(API_KEY, base_addresses={"api": emulator_url},
                                    http_client=stripe.RequestsClient(timeout=0.3),
                                    max_network_retries=2)
    assert impatient.v1.payment_intents.capture(pi.id).status == "succeeded"
    assert charge_captured_events(control) == 1
