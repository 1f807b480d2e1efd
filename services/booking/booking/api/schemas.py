"""Request bodies and answer shapes of the booking API (SPEC §5). Kept apart from the tables."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hotelmate_contracts import Money
from hotelmate_contracts.text import Line, Paragraph

from ..adapters.repository import BookingRow
from ..domain.booking import quote_of
from ..domain.policies import free_cancellation_until
from ..domain.states import AWAITING_PAYMENT, Status

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$"
# Every text field follows the contracts' rule (hotelmate_contracts.text): no control characters.
Name = Line(100, min_length=1)
Email = Annotated[Line(254, pattern=EMAIL_SHAPE), AfterValidator(str.lower)]
Phone = Line(40, pattern=r"^[0-9+()./ -]{3,}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Booker(Strict):
    first_name: Name
    last_name: Name
    email: Email
    phone: Phone | None = None


class Guest(Strict):
    first_name: Name
    last_name: Name
    email: Email | None = None
    phone: Phone | None = None
    role: Literal["PRIMARY", "COMPANION", "CHILD"]


class BookingRequest(Strict):
    room_type: Line(50, min_length=1, strip=False)
    check_in: date
    check_out: date
    adults: int = Field(ge=1, le=20)
    children: int = Field(default=0, ge=0, le=20)
    promo_code: Line(50, min_length=1) | None = None
    booker: Booker
    guests: list[Guest] = Field(default_factory=list, max_length=40)
    special_requests: Paragraph(2000) | None = None


class Decline(Strict):
    reason_code: Line(50, min_length=1, strip=False)
    note: Paragraph(2000) | None = None


class StaffCancel(Strict):
    reason: Paragraph(500, min_length=1)
    waive_fee: bool = False


class RoomAssignment(Strict):
    room_number: Line(20, min_length=1)


def _iso(value):
    return value.isoformat() if value is not None else None


def guest_view(booking: BookingRow) -> dict:
    """SPEC §5 booking view. Never a Stripe id: the checkout URL is the only payment link shown."""
    quote = quote_of(booking)
    payment: dict = {"status": booking["payment_status"]}
    if booking["checkout_url"] and booking["status"] == Status.PENDING_PAYMENT:
        payment["checkout_url"] = booking["checkout_url"]
    view = {
        "booking_id": booking["id"], "hotel": booking["hotel"], "status": booking["status"],
        "room_type": booking["room_type"], "check_in": booking["check_in"].isoformat(),
        "check_out": booking["check_out"].isoformat(), "adults": booking["adults"], "children": booking["children"],
        "promo_code": booking["promo_code"], "special_requests": booking["special_requests"],
        "price": quote.model_dump(mode="json") if quote else None,
        "guests": [{k: m[k] for k in ("first_name", "last_name", "email", "phone", "role")}
                   for m in booking["party"] if m["role"] != "BOOKER"],
        "booker": next(({k: m[k] for k in ("first_name", "last_name", "email", "phone")}
                        for m in booking["party"] if m["is_booker"]), None),
        "payment": payment,
        "hold_expires_at": _iso(booking["hold_expires_at"]) if booking["status"] in AWAITING_PAYMENT else None,
        "approval_deadline": _iso(booking["approval_deadline"]) if booking["status"] == Status.PENDING_APPROVAL else None,
        # guests see what was decided, not who decided it nor the desk's note
        "decision": {k: v for k, v in booking["decision_json"].items() if k in ("decision", "at", "reason_code")}
        if booking["decision_json"] else None,
        # nor who cancelled, nor the desk's free-text reason
        "cancellation": {k: v for k, v in booking["cancellation"].items() if k not in ("by", "reason")}
        if booking["cancellation"] else None,
        "created_at": _iso(booking["created_at"]),
    }
    if quote:
        profile = booking["hotel_profile"]
        free_until = free_cancellation_until(quote, profile["check_in_time"], profile["timezone"])
        view["cancellation_terms"] = {"policy": quote.cancellation_policy.model_dump(mode="json"),
                                      "free_until": _iso(free_until)}
    return view


def staff_view(booking: BookingRow, timeline: list[dict], payment_details: dict | None) -> dict:
    view = guest_view(booking)
    view["room_number"] = booking["room_number"]
    view["decision"] = booking["decision_json"]
    view["cancellation"] = booking["cancellation"]
    view["timeline"] = [{"at": _iso(t["at"]), "from": t["from_status"], "to": t["to_status"], "actor": t["actor"],
                         "reason": t["reason"]} for t in timeline]
    view["payment"] = {**view["payment"], "details": payment_details}
    return view


def list_item(booking: BookingRow) -> dict:
    primary = next((m for m in booking["party"] if m["role"] == "PRIMARY"), {})
    quote = quote_of(booking)
    return {"booking_id": booking["id"], "status": booking["status"], "room_type": booking["room_type"],
            "check_in": booking["check_in"].isoformat(), "check_out": booking["check_out"].isoformat(),
            "adults": booking["adults"], "children": booking["children"],
            "guest": {k: primary.get(k) for k in ("first_name", "last_name", "email")},
            "total": quote.total.model_dump(mode="json") if quote else None,
            "payment_status": booking["payment_status"], "room_number": booking["room_number"],
            "approval_deadline": _iso(booking["approval_deadline"]) if booking["status"] == Status.PENDING_APPROVAL else None}


def money(amount, currency: str) -> dict:
    return Money.of(amount, currency).model_dump(mode="json")
