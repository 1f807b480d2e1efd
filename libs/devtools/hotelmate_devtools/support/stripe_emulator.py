"""Helpers shared by the emulator tests (a unique module name, safe next to other conftests)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import stripe

from ..system import free_port  # noqa: F401  (the emulator tests import it from here)

API_KEY = "sk_test_emulator"
WEBHOOK_SECRET = "whsec_test_emulator"


def make_session(client: stripe.StripeClient, amount: int = 25000, **extra: Any):
    params = {
        "mode": "payment",
        "line_items": [{"price_data": {"currency": "eur", "unit_amount": amount,
                                       "product_data": {"name": "Deluxe room, 2 nights"}},
                        "quantity": 1}],
        "payment_intent_data": {"capture_method": "manual",
                                "metadata": {"booking_id": "BK-2026-000001"}},
        "metadata": {"booking_id": "BK-2026-000001"},
        "client_reference_id": "BK-2026-000001",
        "customer_email": "guest@example.com",
        "success_url": "http://127.0.0.1:9/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/cancel",
        "expires_at": int(time.time()) + 1800,
        **extra,
    }
    return client.v1.checkout.sessions.create(params)


def pay(control: httpx.Client, session_id: str, card: str = "4242424242424242") -> dict:
    return control.post(f"/_emulator/checkout/sessions/{session_id}/pay",
                        json={"card_number": card}).json()


def authorised(client: stripe.StripeClient, control: httpx.Client, amount: int = 25000):
    """A session paid with 4242: answers the PaymentIntent in requires_capture."""
    session = make_session(client, amount)
    assert pay(control, session.id)["outcome"] == "authorized"
    return client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).payment_intent)
