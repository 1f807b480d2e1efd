"""Builders for Stripe objects: a deep copy of Stripe's own fixture with fields overwritten.

Every builder keeps every top-level field of the fixture; fixture placeholders that would
mislead a client (fake shipping costs, a `last_payment_error` on a fresh intent, ...) are
reset to what Stripe answers for a plain card payment.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import time
from pathlib import Path
from typing import Any

RESOURCES = ("checkout.session", "payment_intent", "charge", "refund", "event")
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


class Fixtures:
    def __init__(self, path: Path) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        resources = data["resources"]
        missing = [name for name in RESOURCES if name not in resources]
        if missing:
            raise ValueError(f"fixtures {path} lack resources: {missing}")
        self._resources = {name: resources[name] for name in RESOURCES}

    def base(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._resources[name])

    def fields(self, name: str) -> set[str]:
        return set(self._resources[name])


def _null_address() -> dict[str, None]:
    return {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def checkout_session(fx: Fixtures, *, sid: str, amount: int, currency: str,
                     expires_at: int, params: dict[str, Any],
                     url: str) -> dict[str, Any]:
    obj = fx.base("checkout.session")
    obj.update(
        id=sid, object="checkout.session", created=now(), livemode=False,
        after_expiration=None, allow_promotion_codes=None,
        amount_subtotal=amount, amount_total=amount, currency=currency,
        automatic_tax={"enabled": False, "liability": None, "status": None, "provider": None},
        cancel_url=params.get("cancel_url"), success_url=params.get("success_url"),
        client_reference_id=params.get("client_reference_id"),
        client_secret=None, consent=None, consent_collection=None,
        custom_fields=[],
        custom_text={k: None for k in ("after_submit", "shipping_address", "submit",
                                       "terms_of_service_acceptance")},
        customer=params.get("customer"), customer_creation="if_required",
        customer_details=None, customer_email=params.get("customer_email"),
        expires_at=expires_at, invoice=None,
        invoice_creation={"enabled": False, "invoice_data": {
            "account_tax_ids": None, "custom_fields": None, "description": None,
            "footer": None, "issuer": None, "metadata": {}, "rendering_options": None}},
        locale=params.get("locale"), metadata=dict(params.get("metadata") or {}),
        mode="payment", payment_intent=None, payment_link=None,
        payment_method_collection="if_required", payment_method_configuration_details=None,
        payment_method_options={"card": {"request_three_d_secure": "automatic"}},
        payment_method_types=["card"], payment_status="unpaid",
        phone_number_collection={"enabled": False}, recovered_from=None,
        saved_payment_method_options=None, setup_intent=None,
        shipping_address_collection=None, shipping_cost=None, shipping_options=[],
        status="open", submit_type=None, subscription=None,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        ui_mode="hosted", url=url, adaptive_pricing={"enabled": False}, discounts=[],
        collected_information=None, permissions=None, wallet_options=None,
        origin_context=None, currency_conversion=None, customer_account=None,
        integration_identifier=None, managed_payments={"enabled": False},
    )
    return obj


def payment_intent(fx: Fixtures, *, amount: int, currency: str, capture_method: str,
                   metadata: dict[str, Any], description: str | None,
                   receipt_email: str | None) -> dict[str, Any]:
    pid = new_id("pi_3")
    obj = fx.base("payment_intent")
    obj.update(
        id=pid, object="payment_intent", created=now(), livemode=False,
        amount=amount, amount_capturable=0, amount_details={"tip": {}}, amount_received=0,
        automatic_payment_methods=None, canceled_at=None, cancellation_reason=None,
        capture_method=capture_method, client_secret=f"{pid}_secret_{new_id('', 25)}",
        confirmation_method="automatic", currency=currency, customer=None,
        description=description, last_payment_error=None, latest_charge=None,
        metadata=dict(metadata or {}), next_action=None, on_behalf_of=None,
        payment_method=None, payment_method_configuration_details=None,
        payment_method_options={"card": {"installments": None, "mandate_options": None,
                                         "network": None,
                                         "request_three_d_secure": "automatic"}},
        payment_method_types=["card"], processing=None, receipt_email=receipt_email,
        review=None, setup_future_usage=None, shipping=None, source=None,
        statement_descriptor=None, statement_descriptor_suffix=None,
        status="requires_payment_method", transfer_data=None, transfer_group=None,
        excluded_payment_method_types=None, customer_account=None,
        managed_payments={"enabled": False},
    )
    return obj


def charge(fx: Fixtures, *, pi: dict[str, Any], card: dict[str, Any], email: str | None,
           succeeded: bool, decline: dict[str, str] | None,
           capture_before: int | None) -> dict[str, Any]:
    cid = new_id("ch_3")
    obj = fx.base("charge")
    details = obj["payment_method_details"]
    card_details = details["card"]
    card_details.update(
        amount_authorized=pi["amount"] if succeeded else None, brand=card["brand"],
        checks={"address_line1_check": None, "address_postal_code_check": None,
                "cvc_check": "pass"},
        country=card["country"], exp_month=12, exp_year=2034,
        fingerprint=card["fingerprint"], funding=card["funding"], last4=card["last4"],
        network=card["brand"], installments=None, network_token={"used": False},
        overcapture={"maximum_amount_capturable": pi["amount"], "status": "unavailable"},
        three_d_secure=None, wallet=None, mandate=None,
        authorization_code=secrets.token_hex(3).upper() if succeeded else None,
        network_transaction_id=new_id("", 15) if succeeded else None,
    )
    card_details["capture_before"] = capture_before
    outcome = obj["outcome"]
    if succeeded:
        outcome.update(network_status="approved_by_network", reason=None,
                       seller_message="Payment complete.", type="authorized")
    else:
        outcome.update(network_status="declined_by_network",
                       reason=(decline or {}).get("decline_code"),
                       seller_message="The bank did not return any further details with "
                                      "this decline.", type="issuer_declined")
    outcome["risk_level"] = "normal"
    outcome["risk_score"] = 20
    obj.update(
        id=cid, object="charge", created=now(), livemode=False,
        amount=pi["amount"], amount_captured=0, amount_refunded=0,
        application=None, application_fee=None, application_fee_amount=None,
        balance_transaction=None,
        billing_details={"address": _null_address(), "email": email, "name": None,
                         "phone": None, "tax_id": None},
        calculated_statement_descriptor="HOTELMATE", captured=False,
        currency=pi["currency"], customer=None, description=pi.get("description"),
        disputed=False, failure_balance_transaction=None,
        failure_code=(decline or {}).get("code"),
        failure_message=(decline or {}).get("message"),
        fraud_details={}, metadata=dict(pi.get("metadata") or {}), on_behalf_of=None,
        paid=succeeded, payment_intent=pi["id"], payment_method=new_id("pm_1"),
        receipt_email=pi.get("receipt_email"), receipt_number=None,
        receipt_url=f"https://pay.stripe.com/receipts/payment/{new_id('', 40)}",
        refunded=False,
        refunds={"object": "list", "data": [], "has_more": False, "total_count": 0,
                 "url": f"/v1/charges/{cid}/refunds"},
        review=None, shipping=None, source_transfer=None, statement_descriptor=None,
        statement_descriptor_suffix=None, status="succeeded" if succeeded else "failed",
        transfer_data=None, transfer_group=None, source=None,
    )
    return obj


def refund(fx: Fixtures, *, amount: int, ch: dict[str, Any], reason: str | None,
           metadata: dict[str, Any]) -> dict[str, Any]:
    obj = fx.base("refund")
    obj.update(
        id=new_id("re_3"), object="refund", created=now(), amount=amount,
        balance_transaction=new_id("txn_3"), charge=ch["id"], currency=ch["currency"],
        destination_details={"card": {"reference": new_id("", 10),
                                      "reference_status": "pending",
                                      "reference_type": "acquirer_reference_number",
                                      "type": "refund"}, "type": "card"},
        metadata=dict(metadata or {}), payment_intent=ch["payment_intent"], reason=reason,
        receipt_number=None, source_transfer_reversal=None, status="succeeded",
        transfer_reversal=None, customer=None, customer_account=None,
        payment_method=ch["payment_method"],
    )
    return obj


def event(fx: Fixtures, *, type: str, obj: dict[str, Any], api_version: str,
          request_id: str | None, idempotency_key: str | None,
          previous_attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    evt = fx.base("event")
    data: dict[str, Any] = {"object": copy.deepcopy(obj)}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    evt.update(
        id=new_id("evt_3"), object="event", api_version=api_version, created=now(),
        data=data, livemode=False, pending_webhooks=1,
        request={"id": request_id, "idempotency_key": idempotency_key}, type=type,
    )
    return evt
