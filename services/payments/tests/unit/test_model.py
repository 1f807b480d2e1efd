"""The payment rules, without I/O."""

from __future__ import annotations

import itertools

from payments.domain.model import (Announce, IntentSnapshot, PaymentState, Status, observe_closed_unpaid,
                                   observe_intent, observe_refunds, observe_stray_intent, short_ref)

OPEN = PaymentState(status=Status.CHECKOUT_OPEN, amount_minor=12000, currency="EUR")
AUTHORISED = IntentSnapshot(status="requires_capture", amount=12000, currency="eur")
CAPTURED = IntentSnapshot(status="succeeded", amount=12000, currency="eur", amount_received=12000)
CANCELLED = IntentSnapshot(status="canceled", amount=12000, currency="eur")


def test_authorisation_is_announced_once():
    first = observe_intent(OPEN, AUTHORISED)
    assert first.state.status is Status.AUTHORIZED and first.announce == [Announce.AUTHORIZED]
    assert observe_intent(first.state, AUTHORISED).announce == []


def test_authorisation_for_another_amount_or_currency_is_voided_and_flagged():
    for intent in (IntentSnapshot("requires_capture", 10000, "eur"), IntentSnapshot("requires_capture", 12000, "usd")):
        outcome = observe_intent(OPEN, intent)
        assert outcome.void_needed and outcome.state.flagged and outcome.announce == []
        assert outcome.state.status is Status.CHECKOUT_OPEN


def test_a_stray_authorisation_of_another_amount_that_was_cancelled_leaves_the_checkout_open():
    # Its events may be processed after our void cancelled it: it was never the payment's.
    for intent in (IntentSnapshot("canceled", 10000, "eur"), IntentSnapshot("canceled", 12000, "usd")):
        assert observe_intent(OPEN, intent).state == OPEN


def test_authorisation_after_close_is_voided_not_announced():
    closed = PaymentState(status=Status.VOIDED, amount_minor=12000, currency="EUR", closed=True)
    outcome = observe_intent(closed, AUTHORISED)
    assert outcome.void_needed and outcome.state.flagged and outcome.state.status is Status.VOIDED


def test_payments_never_move_backwards_whatever_the_order():
    for order in itertools.permutations([AUTHORISED, CAPTURED, CANCELLED]):
        state, announced = OPEN, []
        for intent in order:
            outcome = observe_intent(state, intent)
            state, announced = outcome.state, announced + outcome.announce
        assert state.status in (Status.CAPTURED, Status.FAILED)
        assert announced.count(Announce.CAPTURED) <= 1 and announced.count(Announce.AUTHORIZED) <= 1


def test_second_authorisation_for_the_booking_is_voided_and_flagged_not_announced():
    authorised = observe_intent(OPEN, AUTHORISED).state
    outcome = observe_stray_intent(authorised, AUTHORISED)
    assert outcome.void_needed and outcome.state.flagged and outcome.announce == []
    assert outcome.state.status is Status.AUTHORIZED
    settled = observe_stray_intent(authorised, CANCELLED)
    assert settled.state == authorised and not settled.void_needed


def test_capture_then_late_cancel_keeps_the_capture():
    captured = observe_intent(OPEN, CAPTURED).state
    assert observe_intent(captured, CANCELLED).state.status is Status.CAPTURED


def test_closed_unpaid_is_voided_and_announced_only_when_asked():
    assert observe_closed_unpaid(OPEN).state.status is Status.FAILED
    closed = PaymentState(status=Status.CHECKOUT_OPEN, amount_minor=1, currency="EUR", closed=True)
    assert observe_closed_unpaid(closed).announce == [Announce.VOIDED]


def test_refunds_are_monotonic_and_set_the_status():
    captured = observe_intent(OPEN, CAPTURED).state
    partial = observe_refunds(captured, 3000)
    assert partial.status is Status.PARTIALLY_REFUNDED
    assert observe_refunds(partial, 1000).refunded_minor == 3000
    assert observe_refunds(partial, 12000).status is Status.REFUNDED


def test_short_ref_keeps_prefix_and_last_four():
    assert short_ref("pi_3NabcdefWXYZ") == "pi_…WXYZ" and short_ref(None) is None


def test_webhook_rate_limit_allows_a_burst_then_refuses():
    from payments.api.webhooks import TokenBucket

    bucket = TokenBucket(rate=0.001, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
