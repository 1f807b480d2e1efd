"""The guest link token: what the booking-received email carries instead of the guest token.

Booking stores only the digest of the guest token it showed once, so it cannot put that token in an
email. At send time notifications asks booking (``/internal``) for a link token: an expiry day and
an HMAC over the booking id, that day and the stored token digest, with a key only booking derives.
It is checked without storage, opens only its booking, and stops at its expiry; the clear value
never sits in an outbox row, on the bus or in a dead letter. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, timedelta

LINK_DAYS_AFTER_CHECK_OUT = 30
_EPOCH = date(1970, 1, 1)


def link_key(service_secret: str) -> bytes:
    """The key of link tokens, derived from the service secret (its own purpose, never the secret)."""
    return hmac.new(service_secret.encode(), b"hotelmate guest link v1", hashlib.sha256).digest()


def _mac(key: bytes, booking_id: str, expiry_day: int, token_digest: bytes) -> str:
    mac = hmac.new(key, f"{booking_id}|{expiry_day}|".encode() + bytes(token_digest), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def link_expiry(check_out: date, today: date) -> date:
    """A link works until a month after the stay (and at least a month from now)."""
    return max(check_out, today) + timedelta(days=LINK_DAYS_AFTER_CHECK_OUT)


def new_link_token(key: bytes, booking_id: str, token_digest: bytes, expires_on: date) -> str:
    """``<expiry day>.<mac>``: URL-safe, opens ``booking_id`` until ``expires_on``."""
    day = (expires_on - _EPOCH).days
    return f"{day}.{_mac(key, booking_id, day, token_digest)}"


def link_matches(key: bytes, booking_id: str, token: str, token_digest: bytes | None, today: date) -> bool:
    """Whether ``token`` is a link token of this booking that has not expired (constant-time MAC check)."""
    day_text, dot, mac = token.partition(".")
    if not dot or not (day_text.isascii() and day_text.isdigit()) or len(day_text) > 7 or token_digest is None:
        return False
    day = int(day_text)
    valid = hmac.compare_digest(_mac(key, booking_id, day, token_digest).encode(), mac.encode())
    return valid and _EPOCH + timedelta(days=day) >= today
