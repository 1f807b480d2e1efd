"""The Booking aggregate: each rule on its own, no database, no broker (milliseconds)."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from booking.domain.booking import Booking, BookingConflict
from booking.domain.states import Effect as E, PaymentState as P, Status as S, TransitionRefused, Trigger as T
from hotelmate_contracts import CancellationPolicy, HotelProfile, Money, NightRate, Quote

UTC = timezone.utc
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CHECK_IN = date(2026, 7, 10)
PROFILE = HotelProfile(slug="aurora", name="Hotel Aurora", timezone="Europe/Paris", currency="EUR",
                       check_in_time="15:00", check_out_time="11:00", hold_minutes=30, approval_hours=24,
                       staff_email="desk@aurora.test")
QUOTE = Quote(room_type="DBL", check_in=CHECK_IN, check_out=CHECK_IN + timedelta(days=3),
              nights=[NightRate(date=CHECK_IN + timedelta(days=i), rate=Money.of("100.00", "EUR")) for i in range(3)],
              subtotal=Money.of("300.00", "EUR"), discount=Money.of("0", "EUR"), taxes=[],
              total=Money.of("300.00", "EUR"),
              cancellation_policy=CancellationPolicy(free_until_hours=48, penalty="FIRST_NIGHT"),
              first_night_with_taxes=Money.of("100.00", "EUR"))
MARGIN = timedelta(minutes=30)
MAX_AGE = timedelta(days=6)


def booking(status=S.PENDING_PAYMENT, payment=P.CHECKOUT_OPEN, *, quote=QUOTE, **row) -> Booking:
    values = dict(id="BK-2026-000001", hotel="aurora", status=status.value, payment_status=payment.value,
                  room_type="DBL", check_in=CHECK_IN, check_out=CHECK_IN + timedelta(days=3),
                  quote=quote.model_dump(mode="json") if quote else None, hotel_profile=PROFILE.model_dump(mode="json"),
                  hold_expires_at=NOW + timedelta(minutes=30), approval_deadline=None, decision=None,
                  decision_json=None, room_number=None, checkout_url=None, cancellation=None,
                  party=[{"role": "PRIMARY", "is_booker": True, "first_name": "Ana", "last_name": "Lima",
                          "email": "ana@guest.test"}])
    values.update(row)
    return Booking(values)


def authorised(**row) -> Booking:
    return booking(S.PENDING_APPROVAL, P.AUTHORIZED, approval_deadline=NOW + timedelta(hours=24), **row)


def authorise(b: Booking, amount=QUOTE.total):
    return b.payment_authorized(amount, NOW, now=NOW, authorisation_max_age=MAX_AGE, hold_margin=MARGIN)


def test_the_authorisation_of_the_quoted_total_awaits_approval_and_extends_the_hold():
    b = booking()
    outcome = authorise(b)
    assert (outcome.before, outcome.after, outcome.effects) == (S.PENDING_PAYMENT, S.PENDING_APPROVAL, (E.EXTEND_HOLD,))
    assert b.payment == P.AUTHORIZED
    assert b["approval_deadline"] == NOW + timedelta(hours=24)
    assert b["hold_expires_at"] == b["approval_deadline"] + MARGIN
    assert set(b.changes) >= {"status", "payment_status", "approval_deadline", "hold_expires_at"}


def test_an_authorisation_of_another_amount_is_voided_and_the_guest_may_pay_again():
    b = booking()
    outcome = authorise(b, Money.of("299.00", "EUR"))
    assert outcome.after == S.PENDING_PAYMENT and outcome.effects == (E.VOID_PAYMENT,)
    assert b.payment == P.NONE  # the open checkout is expired with the void


def test_a_late_authorisation_of_an_expired_booking_is_voided_and_the_booking_stays_expired():
    b = booking(S.EXPIRED, P.NONE)
    outcome = authorise(b)
    assert outcome.after == S.EXPIRED and outcome.effects == (E.VOID_PAYMENT,)
    assert not outcome.status_changed
    assert b.payment == P.AUTHORIZED  # until payments says PaymentVoided


def test_news_that_no_longer_applies_is_dropped_and_changes_nothing():
    b = booking(S.CHECKED_OUT, P.CAPTURED)
    assert b.hold_refused("SOLD_OUT") is None
    assert b.payment_failed("CAPTURE", "declined") is None
    assert b.changes == {}


def test_hold_placed_stores_the_quote_only_while_requested():
    b = booking(S.REQUESTED, P.NONE, quote=None)
    outcome = b.hold_placed(QUOTE, NOW + timedelta(minutes=45), PROFILE)
    assert outcome.effects == (E.REQUEST_CHECKOUT,) and b.quote == QUOTE
    assert b["hold_expires_at"] == NOW + timedelta(minutes=45)
    late = booking(S.CANCELLED, P.NONE, quote=None)
    assert late.hold_placed(QUOTE, NOW, PROFILE).effects == (E.RELEASE_HOLD,)
    assert late.quote is None


def test_approve_commits_the_hold_first_and_the_capture_confirms():
    b = authorised()
    assert b.decide("APPROVED", "s-1", now=NOW).effects == (E.COMMIT_HOLD,)
    assert b.status == S.PENDING_APPROVAL and b.decision == "APPROVED"
    assert b.hold_committed().effects == (E.CAPTURE_PAYMENT,)
    outcome = b.payment_captured()
    assert outcome.after == S.CONFIRMED and b.payment == P.CAPTURED
    assert outcome.effects == ()  # the rooms are sold already: inventory is not asked again
    assert b.take_changes()["rooms_committed"] is True


def test_a_capture_of_a_booking_approved_by_an_older_version_still_commits_its_rooms():
    b = authorised(decision="APPROVED")  # approved and captured before its rooms were committed
    outcome = b.payment_captured()
    assert outcome.after == S.CONFIRMED and outcome.effects == (E.COMMIT_HOLD,)


def test_rooms_committed_without_an_approval_are_ignored():
    assert authorised().hold_committed() is None


def test_the_same_decision_twice_is_a_no_op_and_a_different_one_is_a_conflict():
    b = authorised()
    b.decide("APPROVED", "s-1", now=NOW)
    assert b.decide("APPROVED", "s-2", now=NOW) is None
    with pytest.raises(BookingConflict, match="already approved"):
        b.decide("DECLINED", "s-2", now=NOW, reason_code="FULL")


def test_a_decision_on_a_booking_not_awaiting_one_is_refused_and_changes_nothing():
    b = booking()
    with pytest.raises(TransitionRefused):
        b.decide("APPROVED", "s-1", now=NOW)
    assert b.changes == {} and b.decision is None


def test_a_hold_expiry_after_approval_means_the_rooms_went_elsewhere():
    b = authorised(decision="APPROVED")
    outcome = b.hold_expired()
    assert outcome.trigger == T.COMMIT_REFUSED and outcome.after == S.UNAVAILABLE
    assert set(outcome.effects) == {E.VOID_PAYMENT, E.RELEASE_HOLD}


def test_a_repeated_capture_is_ignored_and_a_late_one_is_refunded_in_full():
    assert booking(S.CONFIRMED, P.CAPTURED).payment_captured() is None
    assert booking(S.DECLINED, P.VOIDED).payment_captured().effects == (E.REFUND_IN_FULL,)


def test_cancelling_before_capture_voids_and_after_capture_refunds_less_the_fee():
    early = authorised()
    outcome = early.cancel("guest", "changed plans", now=NOW)
    assert outcome.after == S.CANCELLED and set(outcome.effects) == {E.VOID_PAYMENT, E.RELEASE_HOLD}
    assert early["cancellation"]["fee"] == "0.00"
    late = booking(S.CONFIRMED, P.CAPTURED)
    outcome = late.cancel("guest", "ill", now=datetime(2026, 7, 9, tzinfo=UTC))
    assert E.REFUND_LESS_FEE in outcome.effects and outcome.refund == Decimal("200.00")
    assert late.cancel("guest", "again", now=NOW) is None  # cancelling twice is a no-op


def test_no_cancel_while_the_capture_is_in_flight():
    with pytest.raises(BookingConflict, match="being captured"):
        authorised(decision="APPROVED").cancel("guest", "x", now=NOW)


def test_check_in_needs_the_arrival_date_and_a_room():
    b = booking(S.CONFIRMED, P.CAPTURED)
    with pytest.raises(BookingConflict, match="arrival date"):
        b.stay(T.CHECK_IN, now=NOW)
    on_the_day = datetime(2026, 7, 10, 10, 0, tzinfo=UTC)
    with pytest.raises(BookingConflict, match="Assign a room"):
        b.stay(T.CHECK_IN, now=on_the_day)
    b.assign_room("101")
    assert b.stay(T.CHECK_IN, now=on_the_day).after == S.CHECKED_IN


def test_rooms_are_assigned_only_to_confirmed_or_checked_in_bookings():
    with pytest.raises(BookingConflict, match="not PENDING_PAYMENT"):
        booking().assign_room("101")


def test_deadlines_lapse_through_the_table():
    unpaid = booking()
    assert unpaid.lapse_hold().after == S.EXPIRED and unpaid.payment == P.NONE
    assert authorised().lapse_approval().after == S.EXPIRED
    with pytest.raises(TransitionRefused):
        booking(S.CONFIRMED, P.CAPTURED).lapse_hold()


def test_payment_news_without_a_transition_moves_only_the_payment_state():
    voided = authorised()
    outcome = voided.payment_voided()
    assert voided.payment == P.VOIDED and outcome.note == "authorisation voided" and not outcome.status_changed
    refunded = booking(S.CANCELLED, P.CAPTURED)
    refunded.payment_refunded(Money.of("100.00", "EUR"), fully_refunded=False)
    assert refunded.payment == P.PARTIALLY_REFUNDED
    refunded.payment_refunded(Money.of("300.00", "EUR"), fully_refunded=False)
    assert refunded.payment == P.REFUNDED
