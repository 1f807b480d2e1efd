"""The internal views payments and inventory answer carry exactly the fields of hotelmate_contracts.internal,
which booking parses them with and its tests' stand-ins build them from."""

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from hotelmate_contracts import Money
from hotelmate_contracts.internal import HoldList, HoldView, PaymentList, PaymentView


def exactly(model, data: dict):
    """Validate ``data`` as ``model``, refusing fields the schema does not name."""
    strict = type(f"Strict{model.__name__}", (model,), {"model_config": {**model.model_config, "extra": "forbid"}})
    return strict.model_validate(data)


def test_payments_views_match_the_schema():
    from payments.api.internal import payment_view
    row = {"booking_id": "BK-1", "status": "CAPTURED", "currency": "EUR", "amount_minor": 12000,
           "captured_minor": 12000, "refunded_minor": 0, "flagged": False, "flag_reason": None, "closed": False,
           "authorized_at": datetime.now(timezone.utc), "payment_intent_id": "pi_3Nabcdefwxyz",
           "checkout_session_id": "cs_1"}
    view = exactly(PaymentView, payment_view(row, "BK-1"))
    assert view.captured.amount == view.amount.amount and view.stripe_ref.startswith("pi_")
    none = exactly(PaymentView, payment_view(None, "BK-2"))
    assert none.status == "NONE" and none.captured is None
    assert PaymentList.model_validate({"payments": [payment_view(row, "BK-1")]}).payments[0].booking_id == "BK-1"


def test_inventory_hold_view_matches_the_schema():
    from inventory.api.internal import hold_view
    hold = SimpleNamespace(booking_id="BK-1", hotel="h1", status="HELD", room_type="DBL", check_in=date(2026, 12, 10),
                           check_out=date(2026, 12, 12), expires_at=datetime.now(timezone.utc) + timedelta(minutes=5),
                           total="200.00", currency="EUR ", quote={"total": {"amount": "200.00", "currency": "EUR"}})
    view = exactly(HoldView, hold_view(hold))
    assert view.status == "HELD" and view.total == Money.of("200.00", "EUR")
    assert HoldList.model_validate({"holds": [hold_view(hold)]}).holds[0].hotel == "h1"


def test_other_shapes_are_refused():
    with pytest.raises(ValueError):
        PaymentList.model_validate([{"booking_id": "BK-1", "status": "CAPTURED"}])  # a bare list
    with pytest.raises(ValueError):
        PaymentView.model_validate({"booking_id": "BK-1", "status": "CAPTURED", "captured": True})  # a flag
