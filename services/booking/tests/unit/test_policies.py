"""Cancellation fees with worked figures, in the hotel's time zone; the approval deadline."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from booking.domain.policies import approval_deadline, cancellation_fee, cancellation_terms, free_cancellation_until
from hotelmate_contracts import CancellationPolicy, Money, NightRate, Quote

UTC = timezone.utc


def quote(penalty="FIRST_NIGHT", hours=48, value=None, total="330.00", first="121.00", currency="EUR",
          check_in=date(2026, 7, 10)):
    return Quote(room_type="DBL", check_in=check_in, check_out=check_in + timedelta(days=3),
                 nights=[NightRate(date=check_in + timedelta(days=i), rate=Money.of("100.00", currency)) for i in range(3)],
                 subtotal=Money.of("300.00", currency), discount=Money.of("0", currency), taxes=[],
                 total=Money.of(total, currency),
                 cancellation_policy=CancellationPolicy(free_until_hours=hours, penalty=penalty, value=value),
                 first_night_with_taxes=Money.of(first, currency) if first else None)


def fee(q, now, tz="Europe/Paris", check_in_time="15:00"):
    return cancellation_fee(q, now=now, check_in_time=check_in_time, timezone=tz)


# Arrival 2026-07-10 15:00 Paris (CEST, UTC+2) = 13:00 UTC; 48 h before = 2026-07-08 13:00 UTC.
def test_free_until_counts_back_from_local_check_in_time():
    assert free_cancellation_until(quote(), "15:00", "Europe/Paris") == datetime(2026, 7, 8, 13, 0, tzinfo=UTC)


def test_one_minute_before_the_deadline_is_free():
    assert fee(quote(), datetime(2026, 7, 8, 12, 59, tzinfo=UTC)) == Decimal("0.00")


def test_at_the_deadline_the_first_night_with_taxes_is_due():
    assert fee(quote(), datetime(2026, 7, 8, 13, 0, tzinfo=UTC)) == Decimal("121.00")


def test_first_night_without_the_figure_falls_back_to_the_first_nights_rate():
    assert fee(quote(first=None), datetime(2026, 7, 9, tzinfo=UTC)) == Decimal("100.00")


@pytest.mark.parametrize(("penalty", "value", "expected"), [
    ("NONE", None, "0.00"), ("PERCENT", "25", "82.50"), ("PERCENT", "33.333", "110.00"),
    ("FULL_STAY", None, "330.00"), ("FIXED", "50", "50.00"), ("FIXED", "1000", "330.00"),
])
def test_penalties_after_the_deadline(penalty, value, expected):
    assert fee(quote(penalty, value=value), datetime(2026, 7, 9, tzinfo=UTC)) == Decimal(expected)


def test_percent_rounds_half_up_once():
    # 12.5 % of 100.20 = 12.525 -> 12.53
    assert fee(quote("PERCENT", value="12.5", total="100.20"), datetime(2026, 7, 9, tzinfo=UTC)) == Decimal("12.53")


def test_never_free_policy_charges_even_months_ahead():
    assert fee(quote("FULL_STAY", hours=None), datetime(2026, 1, 1, tzinfo=UTC)) == Decimal("330.00")


def test_zero_decimal_currency():
    q = quote("PERCENT", value="10", total="33333", first=None, currency="JPY")
    assert fee(q, datetime(2026, 7, 9, tzinfo=UTC)) == Decimal("3333")


def test_deadline_in_another_time_zone():
    # New York arrival 15:00 EDT (UTC-4) = 19:00 UTC; 24 h before = 2026-07-09 19:00 UTC.
    q = quote("FULL_STAY", hours=24)
    assert fee(q, datetime(2026, 7, 9, 18, 59, tzinfo=UTC), tz="America/New_York") == Decimal("0.00")
    assert fee(q, datetime(2026, 7, 9, 19, 0, tzinfo=UTC), tz="America/New_York") == Decimal("330.00")


def test_deadline_across_a_dst_change_counts_real_hours():
    # Paris arrival 2026-03-30 15:00 CEST = 13:00 UTC; 48 real hours back = 2026-03-28 13:00 UTC (CET 14:00).
    q = quote(check_in=date(2026, 3, 30))
    assert free_cancellation_until(q, "15:00", "Europe/Paris") == datetime(2026, 3, 28, 13, 0, tzinfo=UTC)


def test_terms_refund_total_less_fee_after_capture_and_nothing_before():
    now = datetime(2026, 7, 9, tzinfo=UTC)
    after = cancellation_terms(quote(), now=now, check_in_time="15:00", timezone="Europe/Paris", captured=True)
    assert (after.fee, after.refund) == (Decimal("121.00"), Decimal("209.00"))
    waived = cancellation_terms(quote(), now=now, check_in_time="15:00", timezone="Europe/Paris", captured=True,
                                waive_fee=True)
    assert (waived.fee, waived.refund) == (Decimal("0.00"), Decimal("330.00"))
    before = cancellation_terms(quote(), now=now, check_in_time="15:00", timezone="Europe/Paris", captured=False)
    assert (before.fee, before.refund) == (Decimal("0.00"), Decimal("0.00"))


def test_approval_deadline_is_approval_hours_from_now():
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert approval_deadline(now, now, 24) == now + timedelta(hours=24)


def test_approval_deadline_never_later_than_six_days_after_authorisation():
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    authorised = now - timedelta(days=5, hours=20)
    assert approval_deadline(now, authorised, 24) == authorised + timedelta(days=6)


def test_an_operator_cap_shortens_the_approval_window_but_never_lengthens_it():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert approval_deadline(now, now, 24, max_age=timedelta(hours=2)) == now + timedelta(hours=2)
    assert approval_deadline(now, now, 240, max_age=timedelta(days=30)) == now + timedelta(days=6)
