"""Rules of a booking request that need no I/O: stay dates, the party, ids, guest tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_NIGHTS = 30
MAX_DAYS_AHEAD = 550
ID_PREFIX = "BK"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def hotel_today(now: datetime, timezone: str) -> date:
    """The hotel's local date at ``now``."""
    return now.astimezone(ZoneInfo(timezone)).date()


def stay_date_errors(check_in: date, check_out: date, *, now: datetime, timezone: str) -> list[FieldError]:
    """SPEC §2 stay rules, against the hotel's local today."""
    today = hotel_today(now, timezone)
    errors = []
    if check_in < today:
        errors.append(FieldError("check_in", f"must not be before the hotel's today ({today.isoformat()})"))
    if check_in > today + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(FieldError("check_in", f"must be at most {MAX_DAYS_AHEAD} days ahead"))
    if check_out <= check_in:
        errors.append(FieldError("check_out", "must be after check_in"))
    elif (check_out - check_in).days > MAX_NIGHTS:
        errors.append(FieldError("check_out", f"a stay is at most {MAX_NIGHTS} nights"))
    return errors


def party_errors(roles: list[str], *, adults: int, children: int) -> list[FieldError]:
    """Exactly one PRIMARY guest, and no more guests than people staying."""
    errors = []
    primaries = sum(1 for role in roles if role == "PRIMARY")
    if roles and primaries != 1:
        errors.append(FieldError("guests", f"exactly one PRIMARY guest is required (got {primaries})"))
    if len(roles) > adults + children:
        errors.append(FieldError("guests", "more guests than adults + children"))
    if sum(1 for role in roles if role == "CHILD") > children:
        errors.append(FieldError("guests", "more CHILD guests than children"))
    return errors


def format_booking_id(year: int, number: int) -> str:
    """``BK-2026-000123``: the year and a number from that year's database sequence, at least six
    digits and more past 999999 (``BK-2026-1000000``): the sequence has no maximum."""
    return f"{ID_PREFIX}-{year:04d}-{number:06d}"


def new_guest_token() -> str:
    """32 random bytes, URL-safe; shown once, stored only as :func:`token_digest`."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_matches(token: str, digest: bytes | None) -> bool:
    """Constant-time comparison of a presented token with the stored digest."""
    return hmac.compare_digest(token_digest(token), digest or b"\0" * 32)
