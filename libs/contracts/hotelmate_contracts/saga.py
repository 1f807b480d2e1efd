"""Every command and event of the booking saga (SPEC §3). One definition for sender and receiver.

Commands are named for what is asked (``PlaceHold``), events for what happened (``HoldPlaced``).
The ``TYPE`` is the routing key on the topic exchange: ``<owner>.<name>``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .envelope import Message, register
from .money import Money
from .pricing import HotelProfile, Quote

# --- inventory: holds ---------------------------------------------------------------------------


@register
class PlaceHold(Message):
    TYPE = "inventory.place_hold"
    booking_id: str
    hotel: str
    room_type: str
    check_in: date
    check_out: date
    adults: int
    children: int
    promo_code: str | None = None
    expires_at: datetime


@register
class HoldPlaced(Message):
    TYPE = "inventory.hold_placed"
    booking_id: str
    hotel: str
    expires_at: datetime
    quote: Quote
    hotel_profile: HotelProfile


@register
class HoldRefused(Message):
    TYPE = "inventory.hold_refused"
    booking_id: str
    hotel: str
    reason: Literal["SOLD_OUT", "CLOSED", "INVALID"]
    detail: str = ""


@register
class ExtendHold(Message):
    TYPE = "inventory.extend_hold"
    booking_id: str
    hotel: str
    expires_at: datetime


@register
class HoldExtended(Message):
    TYPE = "inventory.hold_extended"
    BROADCAST = True  # an outcome no saga step waits for today
    booking_id: str
    hotel: str
    expires_at: datetime


@register
class CommitHold(Message):
    TYPE = "inventory.commit_hold"
    booking_id: str
    hotel: str


@register
class HoldCommitted(Message):
    TYPE = "inventory.hold_committed"
    booking_id: str
    hotel: str


@register
class ReleaseHold(Message):
    TYPE = "inventory.release_hold"
    booking_id: str
    hotel: str
    reason: str


@register
class HoldReleased(Message):
    TYPE = "inventory.hold_released"
    BROADCAST = True  # an outcome no saga step waits for today
    booking_id: str
    hotel: str
    reason: str


@register
class HoldExpired(Message):
    TYPE = "inventory.hold_expired"
    booking_id: str
    hotel: str


# --- payments -----------------------------------------------------------------------------------


@register
class RequestCheckout(Message):
    TYPE = "payments.request_checkout"
    booking_id: str
    hotel: str
    hotel_name: str
    amount: Money
    description: str
    customer_email: str
    expires_at: datetime
    return_url: str


@register
class CheckoutCreated(Message):
    TYPE = "payments.checkout_created"
    booking_id: str
    checkout_url: str
    expires_at: datetime


@register
class PaymentAuthorized(Message):
    TYPE = "payments.payment_authorized"
    booking_id: str
    amount: Money
    authorized_at: datetime


@register
class PaymentFailed(Message):
    TYPE = "payments.payment_failed"
    booking_id: str
    stage: Literal["CHECKOUT", "AUTHORIZATION", "CAPTURE", "VOID", "REFUND"]
    reason: str


@register
class CapturePayment(Message):
    TYPE = "payments.capture_payment"
    booking_id: str


@register
class PaymentCaptured(Message):
    TYPE = "payments.payment_captured"
    booking_id: str
    amount: Money


@register
class VoidPayment(Message):
    TYPE = "payments.void_payment"
    booking_id: str
    reason: str


@register
class PaymentVoided(Message):
    TYPE = "payments.payment_voided"
    booking_id: str
    reason: str


@register
class RefundPayment(Message):
    TYPE = "payments.refund_payment"
    booking_id: str
    amount: Money
    reason: str


@register
class PaymentRefunded(Message):
    TYPE = "payments.payment_refunded"
    booking_id: str
    amount: Money
    fully_refunded: bool


# --- booking: what notifications (and anyone else) hear ----------------------------------------


class GuestContact(BaseModel):
    model_config = ConfigDict(frozen=True)
    first_name: str
    last_name: str
    email: str


@register
class BookingStatusChanged(Message):
    """Published on every booking transition; carries what a message to a person needs."""

    TYPE = "booking.status_changed"
    booking_id: str
    hotel: str
    hotel_profile: HotelProfile | None
    from_status: str | None
    to_status: str
    reason: str | None = None
    actor: str
    guest: GuestContact
    room_type: str
    check_in: date
    check_out: date
    total: Money | None = None
    fee: Money | None = None
    refund: Money | None = None
    portal_url: str | None = None
    approval_deadline: datetime | None = None
    room_number: str | None = None


@register
class ApprovalDeadlineNear(Message):
    TYPE = "booking.approval_deadline_near"
    booking_id: str
    hotel: str
    hotel_profile: HotelProfile
    guest: GuestContact
    approval_deadline: datetime


@register
class BookingRoomAssigned(Message):
    """A room was assigned, moved (``room_number`` is the new one) or unassigned (``None``)."""

    TYPE = "booking.room_assigned"
    booking_id: str
    hotel: str
    hotel_profile: HotelProfile | None
    guest: GuestContact
    room_number: str | None
    check_in: date
    check_out: date
