"""Which email each booking event causes, to whom, and with what figures. Pure: no I/O.

One table per audience maps a booking status to a template; the other two events have one
template each. :func:`plan` turns a message into the emails to write to the delivery log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hotelmate_contracts import (
    ApprovalDeadlineNear, BookingRoomAssigned, BookingStatusChanged, GuestContact, HotelProfile, Message, Money,
)

from .formatting import format_date, format_local_datetime, format_money, humanize_reason

Audience = Literal["GUEST", "STAFF"]

GUEST_EMAIL_BY_STATUS = {
    "REQUESTED": "booking_received",
    "PENDING_APPROVAL": "awaiting_approval",
    "CONFIRMED": "booking_confirmed",
    "DECLINED": "booking_declined",
    "CANCELLED": "booking_cancelled",
    "EXPIRED": "booking_expired",
    "UNAVAILABLE": "booking_unavailable",
    "PAYMENT_FAILED": "payment_failed",
}
STAFF_EMAIL_BY_STATUS = {
    "PENDING_APPROVAL": "staff_approval_needed",
}
ROOM_ASSIGNED = "room_assigned"
STAFF_DEADLINE_NEAR = "staff_approval_deadline_near"

SUBJECTS = {
    "booking_received": "{hotel_name}: we received your booking {booking_id}",
    "awaiting_approval": "{hotel_name}: payment authorised, booking {booking_id} awaits the hotel's approval",
    "booking_confirmed": "{hotel_name}: your booking {booking_id} is confirmed",
    "booking_declined": "{hotel_name}: your booking {booking_id} was declined",
    "booking_cancelled": "{hotel_name}: your booking {booking_id} is cancelled",
    "booking_expired": "{hotel_name}: your booking {booking_id} has expired",
    "booking_unavailable": "{hotel_name}: no room available for booking {booking_id}",
    "payment_failed": "{hotel_name}: payment for booking {booking_id} failed",
    "room_assigned": "{hotel_name}: room {room_number} is ready for booking {booking_id}",
    "staff_approval_needed": "Approval needed: booking {booking_id} ({guest_name}, {check_in_short})",
    "staff_approval_deadline_near": "Approval deadline near: booking {booking_id} must be decided by {deadline_short}",
}


@dataclass(frozen=True)
class PlannedEmail:
    """One email to write to the delivery log: its template, recipient and template values."""

    template: str
    audience: Audience
    recipient: str
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return SUBJECTS[self.template].format(**self.context)

    @property
    def sender_name(self) -> str:
        """Guests hear from their hotel; staff hear from HotelMate."""
        return self.context["hotel_name"] if self.audience == "GUEST" else "HotelMate"

    @property
    def reply_to(self) -> str | None:
        """A guest's reply reaches the hotel's staff, never the no-reply sender."""
        return (self.context["hotel"].get("staff_email") or None) if self.audience == "GUEST" else None


# Stands for the guest's link token in a stored body until the sender asks booking for it.
GUEST_TOKEN_PLACEHOLDER = "{guest-link-token}"


def portal_link(portal_url: str | None) -> str:
    """The portal URL with the placeholder as its token (an older message's URL with a token stays as it is)."""
    if not portal_url or "#" in portal_url:
        return portal_url or ""
    return f"{portal_url}#guest_token={GUEST_TOKEN_PLACEHOLDER}"


def _hotel(profile: HotelProfile | None, slug: str, currency: str) -> dict[str, Any]:
    if profile is None:  # older events may lack the profile: still tell the guest, in UTC
        return {"slug": slug, "name": slug, "timezone": "UTC", "currency": currency,
                "check_in_time": "", "check_out_time": "", "staff_email": ""}
    return profile.model_dump()


def _common(booking_id: str, hotel: dict[str, Any], guest: GuestContact, check_in, check_out) -> dict[str, Any]:
    return {
        "booking_id": booking_id,
        "hotel": hotel,
        "hotel_name": hotel["name"],
        "guest_first_name": guest.first_name,
        "guest_name": f"{guest.first_name} {guest.last_name}".strip(),
        "check_in": format_date(check_in),
        "check_in_short": check_in.isoformat(),
        "check_out": format_date(check_out),
        "nights": (check_out - check_in).days,
    }


def _status_changed(event: BookingStatusChanged) -> list[PlannedEmail]:
    currency = event.total.currency if event.total else ""
    hotel = _hotel(event.hotel_profile, event.hotel, currency)
    zero = Money.of(0, currency) if currency else None
    context = {
        **_common(event.booking_id, hotel, event.guest, event.check_in, event.check_out),
        "room_type": event.room_type,
        "total": format_money(event.total),
        "fee": format_money(event.fee or zero),
        "refund": format_money(event.refund or zero),
        "reason": humanize_reason(event.reason),
        "approval_deadline": format_local_datetime(event.approval_deadline, hotel["timezone"]),
        "room_number": event.room_number or "",
    }
    emails = []
    guest_template = GUEST_EMAIL_BY_STATUS.get(event.to_status)
    if guest_template and event.guest.email:
        guest_context = dict(context)
        if guest_template == "booking_received":
            # The guest's own portal link goes in this one email only. Its token is asked of booking
            # at send time (sender.py): the body waits in the delivery log with a placeholder.
            guest_context["portal_url"] = portal_link(event.portal_url)
        emails.append(PlannedEmail(guest_template, "GUEST", event.guest.email, guest_context))
    staff_template = STAFF_EMAIL_BY_STATUS.get(event.to_status)
    if staff_template and hotel["staff_email"]:
        emails.append(PlannedEmail(staff_template, "STAFF", hotel["staff_email"], context))
    return emails


def _deadline_near(event: ApprovalDeadlineNear) -> list[PlannedEmail]:
    hotel = _hotel(event.hotel_profile, event.hotel, event.hotel_profile.currency)
    if not hotel["staff_email"]:
        return []
    deadline = format_local_datetime(event.approval_deadline, hotel["timezone"])
    context = {
        "booking_id": event.booking_id, "hotel": hotel, "hotel_name": hotel["name"],
        "guest_name": f"{event.guest.first_name} {event.guest.last_name}".strip(),
        "approval_deadline": deadline,
        "deadline_short": deadline.split(", ", 1)[-1],
    }
    return [PlannedEmail(STAFF_DEADLINE_NEAR, "STAFF", hotel["staff_email"], context)]


def _room_assigned(event: BookingRoomAssigned) -> list[PlannedEmail]:
    if event.room_number is None or not event.guest.email:  # an unassignment tells no one
        return []
    hotel = _hotel(event.hotel_profile, event.hotel, "")
    context = {**_common(event.booking_id, hotel, event.guest, event.check_in, event.check_out),
               "room_number": event.room_number}
    return [PlannedEmail(ROOM_ASSIGNED, "GUEST", event.guest.email, context)]


def plan(message: Message) -> list[PlannedEmail]:
    """The emails ``message`` causes (none for statuses nobody is told about)."""
    if isinstance(message, BookingStatusChanged):
        return _status_changed(message)
    if isinstance(message, ApprovalDeadlineNear):
        return _deadline_near(message)
    if isinstance(message, BookingRoomAssigned):
        return _room_assigned(message)
    return []
