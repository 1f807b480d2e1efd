"""Validation of request parameters, with Stripe's error messages."""

from __future__ import annotations

import re
from typing import Any

from .errors import invalid

_CURRENCY = re.compile(r"^[a-z]{3}$")
CAPTURE_METHODS = ("automatic", "automatic_async", "manual")


def integer(value: Any, param: str, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param=param, code="parameter_invalid_integer")
    if minimum is not None and number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param=param,
                      code="parameter_invalid_integer")
    return number


def _dict(value: Any, param: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid object: {param}", param=param)
    return value


def session_params(params: dict[str, Any], *, now: float) -> dict[str, Any]:
    """Check a Checkout Session create request; answer amount, currency and PI settings."""
    mode = params.get("mode")
    if mode is None:
        raise invalid("Missing required param: mode.", param="mode",
                      code="parameter_missing")
    if mode != "payment":
        raise invalid(f"Invalid mode: this emulator supports only mode=payment (got {mode}).",
                      param="mode")
    items = params.get("line_items")
    if not items:
        raise invalid("You must specify `line_items` in `payment` mode.", param="line_items",
                      code="parameter_missing")
    if not isinstance(items, list):
        raise invalid("Invalid array", param="line_items")
    amount, currency = 0, None
    for i, item in enumerate(items):
        where = f"line_items[{i}]"
        item = _dict(item, where)
        if "price" in item:
            raise invalid(f"No such price: '{item['price']}'", param=f"{where}[price]",
                          code="resource_missing")
        pd = item.get("price_data")
        if not isinstance(pd, dict):
            raise invalid("You must specify either `price` or `price_data` for each line item.",
                          param=f"{where}[price_data]", code="parameter_missing")
        cur = str(pd.get("currency", "")).lower()
        if not _CURRENCY.match(cur):
            raise invalid(f"Invalid currency: {pd.get('currency')}",
                          param=f"{where}[price_data][currency]")
        if currency is not None and cur != currency:
            raise invalid("All line items must use the same currency.",
                          param=f"{where}[price_data][currency]")
        currency = cur
        if "unit_amount" not in pd:
            raise invalid("Missing required param: unit_amount.",
                          param=f"{where}[price_data][unit_amount]", code="parameter_missing")
        unit = integer(pd["unit_amount"], f"{where}[price_data][unit_amount]", minimum=0)
        if not (_dict(pd.get("product_data"), "product_data").get("name") or pd.get("product")):
            raise invalid("Missing required param: product_data[name].",
                          param=f"{where}[price_data][product_data][name]",
                          code="parameter_missing")
        qty = integer(item.get("quantity", 1), f"{where}[quantity]", minimum=1)
        amount += unit * qty
    pid = _dict(params.get("payment_intent_data"), "payment_intent_data")
    capture = pid.get("capture_method", "automatic")
    if capture not in CAPTURE_METHODS:
        raise invalid(f"Invalid payment_intent_data[capture_method]: must be one of "
                      f"{', '.join(CAPTURE_METHODS)}",
                      param="payment_intent_data[capture_method]")
    if "expires_at" in params:
        expires_at = integer(params["expires_at"], "expires_at")
        if expires_at <= now:
            raise invalid("The `expires_at` timestamp must be in the future.",
                          param="expires_at")
        if expires_at > now + 24 * 3600 + 5:
            raise invalid("The `expires_at` timestamp must be less than 24 hours from Checkout "
                          "Session creation.", param="expires_at")
    else:
        expires_at = int(now + 24 * 3600)
    _dict(params.get("metadata"), "metadata")
    return {
        "amount": amount, "currency": currency, "expires_at": expires_at,
        "capture_method": capture,
        "pi_metadata": _dict(pid.get("metadata"), "payment_intent_data[metadata]"),
        "pi_description": pid.get("description"),
        "receipt_email": pid.get("receipt_email"),
    }


def capture_amount(params: dict[str, Any], available: int, *, name: str = "amount_to_capture",
                   refund: bool = False) -> int:
    if params.get(name) in (None, ""):
        return available
    amount = integer(params[name], name, minimum=1)
    if amount > available:
        if refund:
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on "
                          f"charge ({available})", param=name, code="amount_too_large")
        raise invalid(f"The amount to capture ({amount}) must be less than or equal to the "
                      f"amount capturable ({available}).", param=name, code="amount_too_large")
    return amount
