"""How figures read in an email: money with its currency, dates and times in the hotel's zone.

Pure functions, no I/O. Free text that reaches an email passes :func:`redact` first.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotelmate_contracts import Money, minor_units, round_money

# Stripe object ids and anything that looks like a bearer secret never reach a person.
_SECRET_PATTERNS = (
    re.compile(r"\b(?:pi|ch|re|cs|pm|py|cus|seti|src|tok|card|evt|in|whsec|sk|pk|rk)_[A-Za-z0-9_]{6,}\b"),
    re.compile(r"(?i)\b(?:bearer|token|guest_token)[=: ]+\S+"),
    re.compile(r"\b\d{12,19}\b"),  # card-number-like digit runs
)


def redact(text: str | None) -> str:
    """``text`` with Stripe ids, tokens and card-like numbers replaced by ``[redacted]``."""
    if not text:
        return ""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def format_money(money: Money | None) -> str:
    """``EUR 1,234.50``: grouped, with exactly the currency's minor digits."""
    if money is None:
        return ""
    digits = minor_units(money.currency)
    amount = round_money(Decimal(money.amount), money.currency)
    return f"{money.currency} {amount:,.{digits}f}"


def format_date(day: date) -> str:
    """``Friday 11 December 2026``."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def hotel_zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_local_datetime(moment: datetime | None, timezone: str) -> str:
    """``Friday 11 December 2026, 14:30 (Europe/Paris)``, in the hotel's zone."""
    if moment is None:
        return ""
    local = moment.astimezone(hotel_zone(timezone))
    return f"{format_date(local.date())}, {local:%H:%M} ({timezone})"


def humanize_reason(reason: str | None) -> str:
    """``NO_AVAILABILITY`` → ``No availability``; free text is kept (redacted)."""
    text = redact(reason).strip()
    if re.fullmatch(r"[A-Za-z0-9_]+", text) and (text.isupper() or "_" in text):
        text = text.replace("_", " ").lower()
    return text[:1].upper() + text[1:]
