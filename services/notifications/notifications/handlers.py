"""Bus handlers: each booking event becomes PENDING rows in the delivery log, inside the consumer's
unit of work (no SMTP here). The sender loop sends them. The unique key (event, recipient, template)
makes a second delivery of the same event write nothing, even if the inbox were bypassed.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from hotelmate_contracts import ApprovalDeadlineNear, BookingRoomAssigned, BookingStatusChanged, Envelope, Message
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .domain.emails import plan
from .rendering import render

log = logging.getLogger(__name__)


class DeliveryNotRecorded(RuntimeError):
    """The delivery log could not be written; the consumer retries the event (then dead-letters it)."""


async def record_emails(uow: UnitOfWork, message: Message, envelope: Envelope) -> None:
    """Write one PENDING delivery per email ``message`` causes."""
    for email in plan(message):
        rendered = render(email)
        try:
            written = await repository.add_delivery(
                uow.session, event_id=envelope.message_id, event_type=envelope.type, hotel=message.hotel,
                booking_id=message.booking_id, email=email, rendered=rendered,
            )
        except SQLAlchemyError as exc:
            # The driver's error would quote the SQL parameters, a body with a portal link among them.
            raise DeliveryNotRecorded(f"{email.template}: {type(exc).__name__}") from None
        if written:
            uow.wake(repository.DELIVERIES_DUE)
            log.info("booking %s: %s email queued (%s)", message.booking_id, email.template, email.audience)


HANDLERS = {
    BookingStatusChanged: record_emails,
    ApprovalDeadlineNear: record_emails,
    BookingRoomAssigned: record_emails,
}
