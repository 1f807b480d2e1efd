"""Deadlines and fees: the cancellation policy captured with the quote, the approval deadline.

Pure functions; every local deadline is computed in the hotel's IANA time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hotelmate_contracts import Quote, round_money

MAX_AUTHORISATION_AGE = timedelta(days=6)  # SPEC §4.6: never later than 6 days after authorisation


@dataclass(frozen=True)
class CancellationTerms:
    fee: Decimal
    refund: Decimal
    free_until: datetime | None  # None: never free


def arrival_instant(check_in: date, check_in_time: str, timezone: str) -> datetime:
    """The hotel-local check-in time on the arrival date, as an aware datetime."""
    hours, minutes = (int(part) for part in check_in_time.split(":")[:2])
    return datetime.combine(check_in, time(hours, minutes), tzinfo=ZoneInfo(timezone))


def free_cancellation_until(quote: Quote, check_in_time: str, timezone: str) -> datetime | None:
    """Until when cancelling costs nothing; ``None`` when the policy is never free."""
    hours = quote.cancellation_policy.free_until_hours
    if hours is None:
        return None
    # Hours are real elapsed hours back from the local arrival time (DST-safe via UTC).
    arrival = arrival_instant(quote.check_in, check_in_time, timezone)
    return (arrival.astimezone(ZoneInfo("UTC")) - timedelta(hours=hours)).astimezone(arrival.tzinfo)


def cancellation_fee(quote: Quote, *, now: datetime, check_in_time: str, timezone: str) -> Decimal:
    """The fee for cancelling a captured booking at ``now`` under the policy stored with ``quote``."""
    free_until = free_cancellation_until(quote, check_in_time, timezone)
    if free_until is not None and now < free_until:
        return round_money(Decimal(0), quote.total.currency)
    policy = quote.cancellation_policy
    total = quote.total.amount
    currency = quote.total.currency
    if policy.penalty == "NONE":
        fee = Decimal(0)
    elif policy.penalty == "FIRST_NIGHT":
        if quote.first_night_with_taxes is not None:
            fee = quote.first_night_with_taxes.amount
        else:
            fee = quote.nights[0].rate.amount if quote.nights else total
    elif policy.penalty == "PERCENT":
        fee = total * Decimal(policy.value or "0") / Decimal(100)
    elif policy.penalty == "FULL_STAY":
        fee = total
    else:  # FIXED
        fee = Decimal(policy.value or "0")
    return round_money(min(max(fee, Decimal(0)), total), currency)


def cancellation_terms(quote: Quote, *, now: datetime, check_in_time: str, timezone: str,
                       captured: bool, waive_fee: bool = False) -> CancellationTerms:
    """Fee and refund if cancelled now. Before capture nothing was charged: fee and refund are 0."""
    currency = quote.total.currency
    zero = round_money(Decimal(0), currency)
    free_until = free_cancellation_until(quote, check_in_time, timezone)
    if not captured:
        return CancellationTerms(zero, zero, free_until)
    fee = zero if waive_fee else cancellation_fee(quote, now=now, check_in_time=check_in_time, timezone=timezone)
    return CancellationTerms(fee, round_money(quote.total.amount - fee, currency), free_until)


def approval_deadline(now: datetime, authorized_at: datetime, approval_hours: int,
                      max_age: timedelta = MAX_AUTHORISATION_AGE) -> datetime:
    """Staff must decide by then: ``approval_hours`` from now, never later than ``max_age`` (at most
    6 days) after authorisation."""
    return min(now + timedelta(hours=approval_hours), authorized_at + min(max_age, MAX_AUTHORISATION_AGE))
