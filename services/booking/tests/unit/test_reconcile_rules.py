from booking.reconcile import hold_drift, payment_drift


def test_confirmed_needs_a_captured_payment_and_a_committed_hold():
    booking = {"status": "CONFIRMED"}
    assert payment_drift(booking, {"status": "CAPTURED"}) == []
    assert payment_drift(booking, {"status": "AUTHORIZED"})
    assert payment_drift(booking, None)
    assert hold_drift(booking, {"status": "COMMITTED"}) == []
    assert hold_drift(booking, {"status": "RELEASED"})


def test_terminal_bookings_leave_no_authorisation_and_no_rooms():
    assert payment_drift({"status": "EXPIRED"}, {"status": "AUTHORIZED"})
    assert payment_drift({"status": "EXPIRED"}, {"status": "VOIDED"}) == []
    assert hold_drift({"status": "DECLINED"}, {"status": "HELD"})
    assert hold_drift({"status": "DECLINED"}, {"status": "RELEASED"}) == []


def test_captured_money_on_a_booking_that_is_over_must_be_refunded():
    assert payment_drift({"status": "PAYMENT_FAILED"}, {"status": "CAPTURED"})
    cancelled = {"status": "CANCELLED", "cancellation": {"fee": "110.00", "refund": "110.00"}}
    assert payment_drift(cancelled, {"status": "CAPTURED"})
    assert payment_drift(cancelled, {"status": "PARTIALLY_REFUNDED"}) == []
    kept_all = {"status": "CANCELLED", "cancellation": {"fee": "220.00", "refund": "0.00"}}
    assert payment_drift(kept_all, {"status": "CAPTURED"}) == []


def test_captured_and_refunded_figures_are_read_from_payments_money():
    euros = {"amount": "110.00", "currency": "EUR"}
    assert payment_drift({"status": "EXPIRED"}, {"status": "NONE", "captured": euros})
    cancelled = {"status": "CANCELLED", "cancellation": {"fee": "110.00", "refund": "110.00"}}
    assert payment_drift(cancelled, {"status": "CAPTURED", "captured": euros, "refunded": euros}) == []
    assert payment_drift({"status": "CONFIRMED"}, {"status": "NONE", "captured": None}), "None is no money"
