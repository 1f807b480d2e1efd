"""Who may call what: the public routing table and the staff role table (SPEC §5). Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    RECEPTIONIST = "RECEPTIONIST"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.RECEPTIONIST: 1, Role.MANAGER: 2, Role.ADMIN: 3}
ANY = Role.RECEPTIONIST  # every staff role ranks at least this


class Audience(str, Enum):
    PUBLIC = "public"    # anonymous catalogue routes
    GUEST = "guest"      # guest booking routes: an opaque guest token may pass through
    STAFF = "staff"      # a staff JWT, role and hotel scope checked here
    WEBHOOK = "webhook"  # Stripe: passed byte for byte, its own signature is the credential


@dataclass(frozen=True)
class Route:
    """Where a request goes and who may make it."""

    service: str
    audience: Audience
    hotel: str | None = None
    min_role: Role | None = None


@dataclass(frozen=True)
class Identity:
    staff_id: str
    role: Role
    hotels: frozenset[str]
    version: int = 0  # the account's token version the token was issued under

    def may_see(self, hotel: str) -> bool:
        return self.role is Role.ADMIN or hotel in self.hotels


class AccessDenied(Exception):
    """``status`` is 404 (another hotel: not yours) or 403 (role too low)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


_SEG = r"[^/]+"
# (method or None for any, pattern after /api/v1/staff/hotels/{hotel}, service, minimum role), first match wins.
STAFF_TABLE: list[tuple[str | None, re.Pattern[str], str, Role]] = [
    (m, re.compile(p), s, r) for m, p, s, r in [
        ("PUT", r"", "inventory", Role.ADMIN),
        ("GET", r"", "inventory", ANY),
        ("GET", rf"/bookings(/{_SEG})?", "booking", ANY),
        ("POST", rf"/bookings/{_SEG}/(approve|decline|cancel)", "booking", Role.MANAGER),
        ("PUT", rf"/bookings/{_SEG}/room", "booking", Role.RECEPTIONIST),
        ("DELETE", rf"/bookings/{_SEG}/room", "booking", Role.RECEPTIONIST),
        ("POST", rf"/bookings/{_SEG}/(check-in|check-out|no-show)", "booking", Role.RECEPTIONIST),
        ("GET", rf"/bookings/.*", "booking", ANY),
        (None, rf"/bookings(/.*)?", "booking", Role.MANAGER),
        (None, rf"/notifications(/.*)?", "notifications", ANY),
        ("GET", r"/reports/(arrivals|departures|in-house)", "booking", ANY),
        ("GET", r"/reports/revenue", "booking", Role.MANAGER),
        ("PUT", rf"/(room-types|rooms|promo-codes)/{_SEG}", "inventory", Role.MANAGER),
        ("PUT", r"/(rates|taxes|cancellation-policy)", "inventory", Role.MANAGER),
        ("GET", r"/.*", "inventory", ANY),
        # A write this table does not name: the safe side is a manager's.
        (None, r"/.*", "inventory", Role.MANAGER),
    ]
]

_STAFF_HOTEL = re.compile(rf"^/api/v1/staff/hotels/({_SEG})(/.*)?$")
_PUBLIC_HOTEL = re.compile(rf"^/api/v1/hotels/({_SEG})(/.*)?$")
WEBHOOK_PATHS = ("/api/v1/webhooks/stripe",)


def route_for(method: str, path: str) -> Route | None:
    """The owning service and the audience of a public API path, or None when nobody serves it."""
    if path in WEBHOOK_PATHS:
        return Route("payments", Audience.WEBHOOK)
    if match := _STAFF_HOTEL.match(path):
        hotel, rest = match.group(1), match.group(2) or ""
        rest = rest.rstrip("/") if rest != "/" else ""
        for table_method, pattern, service, role in STAFF_TABLE:
            if (table_method is None or table_method == method) and pattern.fullmatch(rest):
                return Route(service, Audience.STAFF, hotel=hotel, min_role=role)
        return None
    if match := _PUBLIC_HOTEL.match(path):
        rest = match.group(2) or ""
        if rest == "/bookings" or rest.startswith("/bookings/"):
            return Route("booking", Audience.GUEST, hotel=match.group(1))
        return Route("inventory", Audience.PUBLIC, hotel=match.group(1))
    return None


def authorize(identity: Identity, route: Route) -> None:
    """Hotel scope first (another hotel is ``404``, as if it did not exist), then the role (``403``)."""
    if route.hotel is not None and not identity.may_see(route.hotel):
        raise AccessDenied(404, "No such hotel, or not one of yours.")
    if route.min_role is not None and identity.role.rank < route.min_role.rank:
        raise AccessDenied(403, f"This action needs the {route.min_role.value} role.")


def looks_like_jwt(token: str) -> bool:
    """A JWT is three dot-separated base64url parts whose header starts ``{"`` (``eyJ``)."""
    parts = token.split(".")
    return len(parts) == 3 and parts[0].startswith("eyJ")
